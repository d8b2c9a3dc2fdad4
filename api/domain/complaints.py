"""Complaints from the public (第二十四条) and how the agency handles them (第二十八条).

Anyone may complain without an account. The complaint goes to the employing agency of the auxiliary it
names (by badge number or badge token), or to the justice bureau when nobody can be identified. The
citizen gets a tracking number and an access code; only a hash of the code is kept. The agency moves the
complaint received → investigating → resolved | dismissed; each move is also an append-only event, and a
resolved case may be published as an anonymised case notice (违法违纪案例通报).
"""

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import cast

from sqlalchemy import ColumnElement, Select, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit import record
from api.domain.base import utcnow
from api.domain.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation
from api.domain.models import (
    Agency,
    Auxiliary,
    CaseNotice,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Credential,
    Role,
    User,
)
from api.pagination import paginate
from verification.tokens import BadTokenError, KeyRing

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
# Product choice, not a rule of the Measures: the agency should decide within 15 days of receipt.
HANDLING_PERIOD = timedelta(days=15)
# Phones' clocks drift; an incident "a few minutes from now" is a clock, not a lie.
CLOCK_SLACK = timedelta(minutes=10)
MAX_DESCRIPTION = 4000

# No 0/O, 1/I/L: the code is read off a screen and typed back on a phone.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# 31**10 ≈ 2**49.5: a random secret that long needs no slow hash, so SHA-256 is enough to store it.
ACCESS_CODE_LENGTH = 10
TRACKING_SUFFIX_LENGTH = 6
TRACKING_PATTERN = re.compile(rf"^TS\d{{8}}[{CODE_ALPHABET}]{{{TRACKING_SUFFIX_LENGTH}}}$")
BADGE_PATTERN = re.compile(r"^[A-Z0-9]{1,32}$")
PHONE_PATTERN = re.compile(r"^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}[- ]?\d{7,8})$")


@dataclass(frozen=True)
class ComplaintCategory:
    code: str
    article: str
    item: str
    name_zh: str
    name_en: str


# What a citizen may complain of: the duties of 第九条 and the prohibitions of 第十条.
CATEGORIES: tuple[ComplaintCategory, ...] = (
    ComplaintCategory("no_identification", "第九条", "第二款", "未佩戴证件、标识或未主动出示",
                      "no credential or badge worn or shown"),
    ComplaintCategory("privacy_leak", "第十条", "（一）", "泄露秘密、个人隐私等应当保密的信息",
                      "leaking secrets or personal information"),
    ComplaintCategory("abuse_or_bribery", "第十条", "（二）", "滥用职权，索贿受贿，敲诈勒索",
                      "abuse of power, bribery, extortion"),
    ComplaintCategory("record_tampering", "第十条", "（三）", "删除、篡改、泄露执法文字、音像、电子数据材料",
                      "deleting, altering or leaking enforcement records"),
    ComplaintCategory("beyond_scope", "第十条", "（四）", "超出职责范围从事辅助活动或拒不履行职责",
                      "acting beyond their duties, or refusing them"),
    ComplaintCategory("rude_conduct", "第十条", "（五）", "行为粗暴，辱骂殴打行政相对人等不文明行为",
                      "rough, abusive or violent conduct"),
    ComplaintCategory("other", "第十条", "（六）", "其他违反法律、法规、规章的行为",
                      "other prohibited conduct"),
)
CATEGORY_BY_CODE: dict[str, ComplaintCategory] = {c.code: c for c in CATEGORIES}


@dataclass(frozen=True)
class Outcome:
    code: str
    article: str
    name_zh: str
    name_en: str


# 第二十八条: what the agency does about an auxiliary who broke 第十条.
ACTIONS: tuple[Outcome, ...] = (
    Outcome("correction", "第二十八条", "责令改正", "ordered to correct"),
    Outcome("criticism", "第二十八条", "通报批评", "criticised in a circular"),
    Outcome("discipline", "第二十八条", "给予相应处分", "disciplinary sanction"),
    Outcome("dismissal", "第二十八条", "解除劳动关系或退回劳务派遣机构",
            "contract ended or returned to the dispatcher"),
    Outcome("judicial_referral", "第二十八条", "移送司法机关处理", "referred to the judicial organs"),
)
ACTION_BY_CODE: dict[str, Outcome] = {a.code: a for a in ACTIONS}

TRANSITIONS: dict[ComplaintStatus, frozenset[ComplaintStatus]] = {
    ComplaintStatus.RECEIVED: frozenset({ComplaintStatus.INVESTIGATING, ComplaintStatus.DISMISSED}),
    ComplaintStatus.INVESTIGATING: frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED}),
}
OPEN_STATUSES = (ComplaintStatus.RECEIVED, ComplaintStatus.INVESTIGATING)
DECIDED_STATUSES = (ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED)


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
        number = badge_no.strip().upper()
        if not BADGE_PATTERN.fullmatch(number):
            raise _invalid("badge_no", "证件编号只含字母和数字", "letters and digits only")
        aux = session.scalar(select(Auxiliary).where(Auxiliary.badge_no == number))
        if aux is not None:
            return aux, number, "badge_no"
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
    for attempt in range(5):
        complaint = Complaint(
            tracking_no="TS" + now.astimezone(BEIJING).strftime("%Y%m%d") + _random(TRACKING_SUFFIX_LENGTH),
            access_code_hash=_digest(code), agency_id=aux.agency_id if aux else None,
            auxiliary_id=aux.id if aux else None, badge_no=number, identified_by=identified_by,
            category=category, description=description.strip(), occurred_at=occurred_at,
            location=(location.strip() or None) if location else None, lat=lat, lon=lon,
            contact_phone=contact_phone.strip() if contact_phone else None,
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


def _scope(user: User) -> ColumnElement[bool]:
    if user.role == Role.JUSTICE_ADMIN:
        return true()
    if user.role == Role.AGENCY_ADMIN and user.agency_id is not None:
        return Complaint.agency_id == user.agency_id
    raise Forbidden(
        "role_not_allowed", "当前角色无权处理投诉", "only agency and justice admins handle complaints"
    )


def list_complaints(
    session: Session, *, user: User, status: ComplaintStatus | None, limit: int | None, cursor: str | None
) -> tuple[Sequence[Complaint], str | None]:
    """The caller's agency's complaints (the justice bureau: all), newest first."""
    stmt = select(Complaint).where(_scope(user))
    if status is not None:
        stmt = stmt.where(Complaint.status == status)
    return paginate(
        session, cast("Select[tuple[Complaint]]", stmt), created=Complaint.received_at, key=Complaint.id,
        limit=limit, cursor=cursor,
    )


def get_complaint(session: Session, *, user: User, complaint_id: uuid.UUID) -> Complaint:
    complaint = session.scalar(select(Complaint).where(Complaint.id == complaint_id, _scope(user)))
    if complaint is None:
        raise NotFound("complaint", "投诉")
    return complaint


def complaint_events(session: Session, complaint_id: uuid.UUID) -> list[ComplaintEvent]:
    return list(session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.created_at, ComplaintEvent.id)
    ))


def complaint_notice(session: Session, complaint_id: uuid.UUID) -> CaseNotice | None:
    return session.scalar(select(CaseNotice).where(CaseNotice.complaint_id == complaint_id))


def _check_anonymised(text: str, complaint: Complaint, aux: Auxiliary | None) -> None:
    squeezed = re.sub(r"\s+", "", text).upper()
    found: list[str] = []
    name = re.sub(r"\s+", "", aux.name).upper() if aux else ""
    if len(name) >= 2 and name in squeezed:
        found.append("auxiliary_name")
    badges = {b.upper() for b in (complaint.badge_no, aux.badge_no if aux else None) if b}
    if any(b in squeezed for b in badges):
        found.append("badge_no")
    phone = phone_digits(complaint.contact_phone) if complaint.contact_phone else ""
    if len(phone) >= 7 and phone in re.sub(r"\D", "", text):
        found.append("contact_phone")
    if found:
        raise DomainError(
            "notice_not_anonymised",
            "通报须匿名：不得含辅助人员姓名、证件编号或投诉人电话",
            "a case notice must be anonymous: no auxiliary's name, badge number or complainant's phone",
            found=found,
        )


def _check_decision(
    complaint: Complaint, to: ComplaintStatus, finding: str | None, action: str | None, notice: str | None
) -> None:
    if any(text and "\x00" in text for text in (finding, notice)):
        raise DomainError("validation_error", "含有非法字符", "finding or notice contains a NUL character")
    current = ComplaintStatus(complaint.status)
    if to not in TRANSITIONS.get(current, frozenset()):
        raise Conflict(
            "invalid_transition",
            f"投诉当前状态为 {current}，不能改为 {to}",
            f"a complaint that is {current} cannot become {to}",
            from_status=current.value, to=to.value,
        )
    if to == ComplaintStatus.RESOLVED:
        if not finding or not finding.strip():
            raise DomainError("finding_required", "办结须写明调查结论", "resolving needs a finding")
        if action not in ACTION_BY_CODE:
            raise RuleViolation(
                "action_required", "第二十八条", "办结须按第二十八条给出处理方式",
                "resolving needs one of the outcomes of Article 28",
            )
    elif action is not None:
        raise DomainError(
            "action_only_when_resolved", "只有办结时才给出处理方式", "an action goes with resolved"
        )
    if notice is not None and to != ComplaintStatus.RESOLVED:
        raise DomainError(
            "notice_only_when_resolved", "只有办结的案件才能通报", "only resolved cases are published"
        )


def transition_complaint(
    session: Session, *, user: User, complaint_id: uuid.UUID, to: ComplaintStatus, finding: str | None,
    action: str | None, notice: str | None,
) -> Complaint:
    """Move a complaint one step, keep the step as an event, and publish the case notice if one is given."""
    complaint = get_complaint(session, user=user, complaint_id=complaint_id)
    if complaint.agency_id is not None and user.agency_id != complaint.agency_id:
        raise Forbidden(
            "not_handling_agency", "投诉由被投诉人所在的行政执法机关处理",
            "the auxiliary's employing agency handles this complaint", article="第二十四条",
        )
    _check_decision(complaint, to, finding, action, notice)
    aux = session.get(Auxiliary, complaint.auxiliary_id) if complaint.auxiliary_id else None
    if notice is not None:
        _check_anonymised(notice, complaint, aux)
    previous = complaint.status
    now = utcnow()
    values: dict[str, object] = {"status": to}
    if to in DECIDED_STATUSES:
        values |= {"finding": finding.strip() if finding else None, "action": action, "decided_at": now}
    # Guarded on the status read above: of two admins acting at once, the second gets 409, not a fork.
    moved = session.execute(
        update(Complaint).where(Complaint.id == complaint.id, Complaint.status == previous).values(**values)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            "invalid_transition", "投诉状态已被他人更改，请刷新", "the complaint moved meanwhile; reload"
        )
    session.refresh(complaint)
    event = ComplaintEvent(
        complaint_id=complaint.id, actor_id=user.id, from_status=previous, to_status=to,
        finding=finding.strip() if finding else None, action=action, created_at=now,
    )
    session.add(event)
    verb = {ComplaintStatus.INVESTIGATING: "investigate", ComplaintStatus.RESOLVED: "resolve",
            ComplaintStatus.DISMISSED: "dismiss"}[to]
    record(session, complaint, f"complaint.{verb}", actor_id=user.id)
    record(session, event, f"complaint.{verb}", actor_id=user.id)
    if notice is not None and action is not None:
        published = CaseNotice(
            complaint_id=complaint.id, agency_id=complaint.agency_id, category=complaint.category,
            action=action, text=notice.strip(), published_by=user.id, published_at=now,
        )
        session.add(published)
        record(session, published, "complaint.publish_notice", actor_id=user.id)
    return complaint


def list_notices(
    session: Session, *, limit: int | None, cursor: str | None
) -> tuple[list[tuple[CaseNotice, str | None]], str | None]:
    """Published case notices, newest first, each with the name of the agency that decided it."""
    page, next_cursor = paginate(
        session, cast("Select[tuple[CaseNotice]]", select(CaseNotice)), created=CaseNotice.published_at,
        key=CaseNotice.id, limit=limit, cursor=cursor,
    )
    ids = {n.agency_id for n in page if n.agency_id}
    names: dict[uuid.UUID, str] = {}
    if ids:
        names = {i: n for i, n in session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(ids)))}
    return [(n, names.get(n.agency_id) if n.agency_id else None) for n in page], next_cursor
