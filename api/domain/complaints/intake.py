"""Complaints from the public (第二十四条): anyone, without an account.

The complaint goes to the employing agency of the auxiliary it names (by badge number or badge token), or to
the justice bureau when nobody can be identified. The citizen gets a tracking number and an access code;
only a hash of the code is kept, and a wrong code learns nothing, not even whether the number exists.
"""

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit.log import leaf_key, personal_digest, record
from api.domain.base import BEIJING, utcnow
from api.domain.complaints.catalogue import (
    ACCESS_CODE_LENGTH,
    BADGE_PATTERN,
    CATEGORY_BY_CODE,
    CLOCK_SLACK,
    CODE_ALPHABET,
    HANDLING_PERIOD,
    MAX_DESCRIPTION,
    PHONE_PATTERN,
    TRACKING_PATTERN,
    TRACKING_SUFFIX_LENGTH,
)
from api.domain.errors import DomainError
from api.domain.models import (
    Auxiliary,
    Complaint,
    ComplaintStatus,
    Credential,
)
from api.domain.staff.badge_numbers import typed_badge_no
from api.domain.staff.badge_status import find_badge_no
from verification.tokens import BadTokenError, KeyRing

PHONE_COLUMN = "complaints.contact_phone"
"""What the phone's keyed digest (``Complaint.contact_phone_digest``) names."""


def _invalid(field: str, zh: str, en: str) -> DomainError:
    return DomainError(
        "validation_error", f"请求字段有误：{field}（{zh}）", f"invalid fields: {field} ({en})",
        errors=[{"field": field, "message": en, "type": "value_error"}],
    )


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_access_code(code: str) -> str:
    """Codes are shown upper-case in groups; accept them typed lower-case, with spaces or dashes."""
    return re.sub(r"[\s-]", "", code).upper()


def phone_digits(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return digits[2:] if digits.startswith("86") and len(digits) > 11 else digits


def _random(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def _check_intake(
    description: str, occurred_at: datetime, location: str | None, lat: float | None, lon: float | None,
    contact_phone: str | None, category: str,
) -> None:
    if category not in CATEGORY_BY_CODE:
        raise _invalid("category", "未知的投诉类型", "unknown category")
    for name, value in (("description", description), ("location", location), ("contact_phone", contact_phone)):
        if value and "\x00" in value:  # PostgreSQL refuses NUL in text: a 422 now, not a 500 at flush
            raise _invalid(name, "含有非法字符", "contains a NUL character")
    if not description.strip() or len(description) > MAX_DESCRIPTION:
        raise _invalid("description", "须为1至4000字", "must be 1 to 4000 characters")
    if occurred_at.tzinfo is None:
        raise _invalid("occurred_at", "须带时区", "must carry a UTC offset")
    try:
        occurred_at.astimezone(UTC)  # stored in UTC: year 1 at +14:00 has no UTC year to go to
    except OverflowError:
        raise _invalid("occurred_at", "时间超出范围", "lies outside the years 1 to 9999 in UTC") from None
    if occurred_at > utcnow() + CLOCK_SLACK:
        raise _invalid("occurred_at", "不能晚于当前时间", "lies in the future")
    if location is not None and len(location) > 200:
        raise _invalid("location", "不超过200字", "at most 200 characters")
    if (lat is None) != (lon is None):
        raise _invalid("lat", "经纬度须同时提供", "lat and lon go together")
    if lat is not None and not -90 <= lat <= 90:
        raise _invalid("lat", "纬度超出范围", "out of range")
    if lon is not None and not -180 <= lon <= 180:
        raise _invalid("lon", "经度超出范围", "out of range")
    if contact_phone is not None and not PHONE_PATTERN.fullmatch(contact_phone.strip()):
        raise _invalid("contact_phone", "电话号码格式不正确", "not a phone number")


def _identify(
    session: Session, keyring: KeyRing, badge_no: str | None, token: str | None
) -> tuple[Auxiliary | None, str | None, str | None]:
    """The auxiliary named, the badge number to keep, and how they were identified."""
    unverified = False
    if token:
        try:
            claims = keyring.verify_badge(token)
        except BadTokenError:
            unverified = True
        else:
            credential = session.get(Credential, claims.credential_id)
            aux = session.get(Auxiliary, credential.auxiliary_id) if credential else None
            if aux is not None:
                return aux, aux.badge_no, "token"
            unverified = True
    if badge_no:
        number = typed_badge_no(badge_no)
        if not BADGE_PATTERN.fullmatch(number):
            raise _invalid("badge_no", "证件编号只含字母和数字", "letters and digits only")
        found = find_badge_no(session, number)  # look-alike letters forgiven, as when verifying by number
        aux = session.scalar(select(Auxiliary).where(Auxiliary.badge_no == found)) if found else None
        if aux is not None:
            return aux, aux.badge_no, "badge_no"
        return None, number, "unverified_token" if unverified else None
    return None, None, "unverified_token" if unverified else None


def file_complaint(
    session: Session,
    *,
    keyring: KeyRing,
    badge_no: str | None,
    token: str | None,
    category: str,
    description: str,
    occurred_at: datetime,
    location: str | None,
    lat: float | None,
    lon: float | None,
    contact_phone: str | None,
) -> tuple[Complaint, str]:
    """Receive a complaint from anyone; return it and the plain access code (shown once, kept as a hash)."""
    _check_intake(description, occurred_at, location, lat, lon, contact_phone, category)
    aux, number, identified_by = _identify(session, keyring, badge_no, token)
    code = _random(ACCESS_CODE_LENGTH)
    now = utcnow()
    phone = contact_phone.strip() if contact_phone else None
    for attempt in range(5):
        complaint = Complaint(
            tracking_no="TS" + now.astimezone(BEIJING).strftime("%Y%m%d") + _random(TRACKING_SUFFIX_LENGTH),
            access_code_hash=_digest(code), agency_id=aux.agency_id if aux else None,
            auxiliary_id=aux.id if aux else None, badge_no=number, identified_by=identified_by,
            category=category, description=description.strip(), occurred_at=occurred_at,
            location=(location.strip() or None) if location else None, lat=lat, lon=lon,
            contact_phone=phone,
            contact_phone_digest=personal_digest(leaf_key(session), PHONE_COLUMN, phone) if phone else None,
            status=ComplaintStatus.RECEIVED, received_at=now, due_at=now + HANDLING_PERIOD,
        )
        try:
            with session.begin_nested():
                session.add(complaint)
                session.flush()
        except IntegrityError:
            if attempt == 4:
                raise
            continue  # a tracking-number collision (1 in ~10^9 per day); draw again
        break
    record(session, complaint, "complaint.filed", actor_id=None)
    return complaint, code


class ComplaintNotFound(DomainError):
    status = 404

    def __init__(self) -> None:
        super().__init__(
            "complaint_not_found", "未找到该投诉，或查询码不正确",
            "no such complaint, or the access code is wrong",
        )


_NO_SUCH_CODE = _digest("no complaint has this code")


def track_complaint(session: Session, *, tracking_no: str, access_code: str | None) -> Complaint:
    """The complaint behind a tracking number and its access code. Any miss answers the same."""
    number = tracking_no.strip().upper()
    complaint = (
        session.scalar(select(Complaint).where(Complaint.tracking_no == number))
        if TRACKING_PATTERN.fullmatch(number) else None
    )
    given = _digest(normalise_access_code(access_code or "")[:64])
    stored = complaint.access_code_hash if complaint else _NO_SUCH_CODE
    # Compared whether or not the number exists, in constant time, so neither answer nor timing tells.
    matches = hmac.compare_digest(given, stored)
    if complaint is None or not access_code or not matches:
        raise ComplaintNotFound()
    return complaint
