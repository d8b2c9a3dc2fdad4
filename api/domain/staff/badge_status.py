"""What a badge says to a citizen who checks it (第九条、第二十一条、第二十三条、第二十四条、第二十七条).

The status changes the instant the agency acts: it is read from the credential, the auxiliary and their latest
term of employment at each check, never from the token. A badge whose holder's latest term has ended is
``expired`` from the next day on, with nothing written: each answer says how long it holds (``good_for``), so
that whoever remembers it forgets it in time. Scans of badges that are no longer valid are recorded for their
agency.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, Select, bindparam, func, insert, select
from sqlalchemy.orm import Session, aliased

from api.domain.base import beijing_date, utcnow
from api.domain.duties import DUTIES, DUTY_BY_CODE, Duty
from api.domain.models import (
    LEFT_STATUSES,
    Agency,
    Auxiliary,
    AuxiliaryStatus,
    Credential,
    CredentialStatus,
    DeadBadgeScan,
)
from api.domain.staff.alerts import coarse_place
from api.domain.staff.badge_numbers import badge_no_readings
from api.domain.staff.contracts import latest_term_end, term_good_until, term_over
from verification.tokens import BadgeClaims, BadTokenError, KeyRing


class BadgeStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    EXPIRED = "expired"
    INVALID = "invalid"


NOTICES: dict[BadgeStatus, str] = {
    BadgeStatus.VALID: (
        "行政执法辅助人员不具有独立的执法资格，只能在行政执法机关及其执法人员的指挥和监督下开展辅助性工作"
        "（第六条）。协助执法时应当佩戴证件并主动出示（第九条）。"
    ),
    BadgeStatus.SUSPENDED: (
        "该证件已暂停使用，持证人目前不得从事行政执法辅助工作。请勿配合其执法要求，"
        "可拨打12345政务服务热线或在本页投诉；遇紧急情况请拨打110。"
    ),
    BadgeStatus.REVOKED: (
        "该证件已注销：持证人已离职或证件已被收回（第二十七条），不再是行政执法辅助人员。"
        "请勿配合其执法要求，可拨打12345或在本页举报；遇紧急情况请拨打110。"
    ),
    BadgeStatus.SUPERSEDED: (
        "该证件已作废：已补发新证件，旧证件不得再使用。请勿配合其执法要求，"
        "可拨打12345或在本页举报；遇紧急情况请拨打110。"
    ),
    BadgeStatus.EXPIRED: (
        "该证件已过期：持证人的聘用期限已满且未续聘（第二十一条），目前不得从事行政执法辅助工作。"
        "请勿配合其执法要求，可拨打12345或在本页举报；遇紧急情况请拨打110。"
    ),
    BadgeStatus.INVALID: (
        "无法核验此证件：它不是本市签发的有效证件，可能是伪造或被篡改的。请勿配合其执法要求，"
        "可拨打12345或在本页举报；遇紧急情况请拨打110。"
    ),
}

_DEAD = {BadgeStatus.SUSPENDED, BadgeStatus.REVOKED, BadgeStatus.SUPERSEDED, BadgeStatus.EXPIRED}


@dataclass(frozen=True)
class BadgeCheck:
    status: BadgeStatus
    credential_id: uuid.UUID | None = None
    auxiliary_id: uuid.UUID | None = None
    badge_no: str | None = None
    name: str | None = None
    agency: str | None = None
    command_agency: str | None = None
    independent: list[Duty] = field(default_factory=list)
    assisted: list[Duty] = field(default_factory=list)
    # Seconds this answer stays true if nothing is written: until the latest term runs out (None: no end).
    good_for: float | None = None
    # Whether an ID photo was uploaded: without one, nothing may point a citizen at a photo that is not there.
    has_photo: bool = False

    @property
    def notice(self) -> str:
        return NOTICES[self.status]


def _status(aux_status: str, cred_status: str, version: int, newest_version: int, term_ended: bool) -> BadgeStatus:
    if cred_status == CredentialStatus.SUPERSEDED or version < newest_version:
        return BadgeStatus.SUPERSEDED
    if cred_status == CredentialStatus.REVOKED or aux_status in LEFT_STATUSES:
        return BadgeStatus.REVOKED
    if term_ended:
        return BadgeStatus.EXPIRED
    if cred_status == CredentialStatus.SUSPENDED or aux_status != AuxiliaryStatus.ACTIVE:
        return BadgeStatus.SUSPENDED
    return BadgeStatus.VALID


_Newest = aliased(Credential)
_Command = aliased(Agency)
# One round trip: this answers every scan of every badge, so it is the hottest query in the service.
_BADGE_STATE = (
    select(
        Credential.id, Credential.status, Credential.version,
        select(func.max(_Newest.version)).where(_Newest.auxiliary_id == Credential.auxiliary_id)
        .scalar_subquery(),
        Auxiliary.id, Auxiliary.status, Auxiliary.badge_no, Auxiliary.name, Auxiliary.categories,
        Agency.name, _Command.name, latest_term_end(Credential.auxiliary_id), Auxiliary.photo_type.is_not(None),
    )
    .join(Auxiliary, Auxiliary.id == Credential.auxiliary_id)
    .join(Agency, Agency.id == Auxiliary.agency_id)
    .outerjoin(_Command, _Command.id == Auxiliary.command_agency_id)
)


# A token's check, built once: its compiled form and cache key are worked out on the first scan, not on every one.
_BY_TOKEN = _BADGE_STATE.where(Credential.id == bindparam("credential_id"),
                               Credential.version == bindparam("version"))


def _check(db: Session | Connection, query: Select[Any], params: dict[str, object] | None = None) -> BadgeCheck | None:
    row = db.execute(query, params).first()
    return None if row is None else _check_of(row)


def _check_of(row: Row[Any]) -> BadgeCheck:
    (cred_id, cred_status, version, newest, aux_id, aux_status, badge_no, name, categories, agency, command,
     term_ends_on, has_photo) = tuple(row)
    now = utcnow()
    status = _status(aux_status, cred_status, version, newest or version, term_over(term_ends_on, beijing_date(now)))
    person = {"credential_id": cred_id, "auxiliary_id": aux_id, "badge_no": badge_no, "name": name,
              "agency": agency, "command_agency": command or agency,
              "good_for": _good_for(status, term_ends_on, now), "has_photo": bool(has_photo)}
    if status != BadgeStatus.VALID:
        return BadgeCheck(status, **person)
    independent = [DUTY_BY_CODE[c] for c in categories if c in DUTY_BY_CODE and not DUTY_BY_CODE[c].assisted]
    independent.sort(key=DUTIES.index)
    return BadgeCheck(status, **person, independent=independent, assisted=[d for d in DUTIES if d.assisted])


def _good_for(status: BadgeStatus, term_ends_on: date | None, now: datetime) -> float | None:
    """How long an answer holds with nothing written: a valid or suspended badge turns ``expired`` when the
    latest term runs out; every other status is final, or ends only by a write."""
    until = term_good_until(term_ends_on)
    if until is None or status not in (BadgeStatus.VALID, BadgeStatus.SUSPENDED):
        return None
    return max(0.0, (until - now).total_seconds())


def check_token(db: Session | Connection, keyring: KeyRing, token: str) -> BadgeCheck:
    """Check a badge token: the signature first, then the credential as it stands now. ``db`` may be a bare
    connection (``api.db.read_connection``): a scan reads one row and needs no session."""
    try:
        claims = keyring.verify_badge(token)
    except BadTokenError:
        return BadgeCheck(BadgeStatus.INVALID)
    check = _check(db, _BY_TOKEN, {"credential_id": claims.credential_id, "version": claims.version})
    return check or BadgeCheck(BadgeStatus.INVALID)


_BY_CREDENTIALS = _BADGE_STATE.where(Credential.id.in_(bindparam("credential_ids", expanding=True)))


def check_tokens(db: Session | Connection, keyring: KeyRing, tokens: Sequence[str]) -> dict[str, BadgeCheck]:
    """``check_token`` for many tokens, their credentials read in one statement (remembered answers read
    again before they run out: api/badge_cache.py)."""
    claims: dict[str, BadgeClaims | None] = {}
    for token in tokens:
        try:
            claims[token] = keyring.verify_badge(token)
        except BadTokenError:
            claims[token] = None
    wanted = list({c.credential_id for c in claims.values() if c is not None})
    rows = {row[0]: row for row in db.execute(_BY_CREDENTIALS, {"credential_ids": wanted})} if wanted else {}
    checks: dict[str, BadgeCheck] = {}
    for token, claim in claims.items():
        row = rows.get(claim.credential_id) if claim is not None else None
        # The same rule as check_token's statement: the token's credential, at the token's version.
        checks[token] = (_check_of(row) if row is not None and claim is not None and row[2] == claim.version
                         else BadgeCheck(BadgeStatus.INVALID))
    return checks


def find_badge_no(session: Session, typed: str) -> str | None:
    """The badge number a citizen meant by ``typed`` (case, spaces, dashes and look-alike letters forgiven:
    badge_numbers.py), if a badge has it; None otherwise."""
    readings = badge_no_readings(typed)
    if not readings:
        return None
    known = set(session.scalars(_KNOWN_NUMBERS, {"readings": readings}))
    return next((number for number in readings if number in known), None)


# The lookups of a check by number, built once (as the token's: their cache keys are worked out once).
_KNOWN_NUMBERS = select(Auxiliary.badge_no).where(Auxiliary.badge_no.in_(bindparam("readings", expanding=True)))
_BY_NUMBER = _BADGE_STATE.where(
    Auxiliary.badge_no == bindparam("badge_no"),
    Credential.version == select(func.max(_Newest.version)).where(_Newest.auxiliary_id == Auxiliary.id)
    .scalar_subquery(),
)


def check_badge_no(session: Session, badge_no: str) -> BadgeCheck | None:
    """Check by the number printed on the badge, as a citizen types it (``find_badge_no``): the newest
    credential of that number. None if no badge has it."""
    number = find_badge_no(session, badge_no)
    if number is None:
        return None
    check = _check(session, _BY_NUMBER, {"badge_no": number})
    return check or BadgeCheck(BadgeStatus.INVALID)


@dataclass(frozen=True)
class DeadScan:
    """One scan of a badge that is no longer valid, waiting to be kept (``record_dead_scans``)."""

    check: BadgeCheck
    channel: str
    lat: float | None = None
    lon: float | None = None
    at: datetime = field(default_factory=utcnow)


def record_dead_scans(session: Session, scans: Sequence[DeadScan]) -> int:
    """Keep scans of suspended, revoked, superseded or expired badges as alerts for the agencies that answer for
    the person (``alerts``), in one statement: when, how, and where only as the 0.01° cell of the position the
    citizen's phone sent, if it sent one; nothing about who scanned. Scans of other badges are passed over.
    Callers run it in a transaction of its own, so a citizen's check never waits for a write lock. Returns how
    many were kept."""
    rows = []
    for scan in scans:
        check = scan.check
        if check.status not in _DEAD or check.auxiliary_id is None or check.credential_id is None:
            continue
        place = coarse_place(scan.lat, scan.lon)
        rows.append({"id": uuid.uuid4(), "credential_id": check.credential_id, "auxiliary_id": check.auxiliary_id,
                     "status": str(check.status), "channel": scan.channel, "scanned_at": scan.at,
                     "place_lat": place[0] if place else None, "place_lon": place[1] if place else None})
    if rows:
        session.execute(insert(DeadBadgeScan), rows)
    return len(rows)


def record_dead_scan(
    session: Session, check: BadgeCheck, *, channel: str, lat: float | None = None, lon: float | None = None
) -> bool:
    """Keep one scan of a dead badge (``record_dead_scans``); False when the badge is not dead."""
    return record_dead_scans(session, [DeadScan(check, channel, lat, lon)]) == 1


def valid_photo(session: Session, badge_no: str) -> tuple[bytes, str] | None:
    """The ID photo, only while the badge is valid: a dead badge shows no face to vouch for."""
    row = session.execute(select(Auxiliary, latest_term_end(Auxiliary.id))
                          .where(Auxiliary.badge_no == badge_no.strip().upper())).first()
    if row is None:
        return None
    aux, term_ends_on = row
    if aux.status != AuxiliaryStatus.ACTIVE or aux.photo is None or term_over(term_ends_on, beijing_date(utcnow())):
        return None
    return aux.photo, aux.photo_type or "image/jpeg"


def dead_scan_counts(session: Session, agency_id: uuid.UUID) -> list[tuple[uuid.UUID, str, int]]:
    """Per auxiliary of the agency: how often a no-longer-valid badge of theirs was scanned."""
    rows = session.execute(
        select(DeadBadgeScan.auxiliary_id, Auxiliary.badge_no, func.count())
        .join(Auxiliary, Auxiliary.id == DeadBadgeScan.auxiliary_id)
        .where(Auxiliary.agency_id == agency_id)
        .group_by(DeadBadgeScan.auxiliary_id, Auxiliary.badge_no)
        .order_by(func.count().desc())
    )
    return [(r[0], r[1], r[2]) for r in rows]
