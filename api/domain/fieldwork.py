"""What every write from the phone shares: who is recording, the phone-made id and its content hash,
and the shift check-in / check-out.

Offline sync: the phone makes each record's id and may send it many times. The same id with the same
content is the same record (answered as a duplicate, never stored twice); the same id with other content,
or an id that belongs to someone else, is refused as ``id_conflict``. A read first answers the usual retry
cheaply, but the primary key decides: two identical retries that arrive together both insert, one wins, and
the loser re-reads the winner's row.
"""

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Select, exists, false, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain import audit
from api.domain.duties import FORBIDDEN_WORK
from api.domain.errors import Conflict, Forbidden, ForbiddenWork, RuleViolation
from api.domain.geo import point_in_zones
from api.domain.models import (
    Article19Case,
    Auxiliary,
    AuxiliaryStatus,
    Credential,
    CredentialStatus,
    Officer,
    Role,
    ShiftEvent,
    Task,
    User,
)

FLAG_BY_NAME = {f.flag: f for f in FORBIDDEN_WORK}
PhoneRow = TypeVar("PhoneRow", Task, ShiftEvent)
ShiftKind = Literal["check_in", "check_out"]


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the client's payload as canonical JSON, instants in UTC: the same record sent from a
    phone in +08:00 and replayed through a proxy in Z hashes the same."""
    blob = json.dumps(_canonical(payload), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def id_conflict() -> Conflict:
    return Conflict(
        "id_conflict",
        "该记录编号已被另一条内容不同的记录使用",
        "this record id is already used by a record with other content",
    )


def same_or_conflict(existing: PhoneRow, *, auxiliary_id: uuid.UUID, digest: str) -> PhoneRow:
    """The stored row if it is this very record again; otherwise ``id_conflict`` (also when the id is
    another auxiliary's: whose it is stays unsaid)."""
    if existing.auxiliary_id != auxiliary_id or existing.content_hash != digest:
        raise id_conflict()
    return existing


def insert_once(
    session: Session, row: PhoneRow, *, model: type[PhoneRow], auxiliary_id: uuid.UUID
) -> tuple[PhoneRow, bool]:
    """Insert ``row`` keyed by its phone-made id; (row, True) when new, (stored row, False) when a
    concurrent request stored the same record first. On PostgreSQL the losing insert waits for the
    winner's commit, then fails on the primary key, and the re-read sees the committed row."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        stored = session.get(model, row.id, populate_existing=True)
        if stored is None:
            raise
        return same_or_conflict(stored, auxiliary_id=auxiliary_id, digest=row.content_hash), False
    return row, True


def serialize_writes(session: Session) -> None:
    """Take the audit chain's lock first, before any row lock.

    A transaction that inserted a phone-made id and then waited for the chain lock, while the holder waited
    for that id, would deadlock; taking the lock up front orders every fieldwork writer the same way.
    """
    audit.hold_chain_lock(session)


@dataclass
class FieldContext:
    """The caller as a recorder of field work, loaded once per request or sync batch."""

    user: User
    aux: Auxiliary
    credential_valid: bool
    # Officers looked up so far: None for an id that is unknown, inactive or of another agency.
    officers: dict[uuid.UUID, Officer | None] = field(default_factory=dict)

    @property
    def may_record(self) -> bool:
        return self.aux.status == AuxiliaryStatus.ACTIVE and self.credential_valid

    def require_active_credential(self) -> None:
        """第二十三条: without an active auxiliary and a valid credential, no task is recorded."""
        if not self.may_record:
            raise RuleViolation(
                "credential_not_active",
                "第二十三条",
                "未持有效工作证件，不得开展辅助执法工作",
                "no valid work credential: no field work may be recorded",
                status=403,
            )


def current_auxiliary(session: Session, user: User) -> Auxiliary:
    aux = session.scalar(select(Auxiliary).where(Auxiliary.user_id == user.id))
    if aux is None:
        raise Forbidden("not_an_auxiliary", "当前账号不是辅助人员", "this account is not an auxiliary's")
    return aux


def current_officer(session: Session, user: User) -> Officer:
    officer = session.scalar(select(Officer).where(Officer.user_id == user.id))
    if officer is None:
        raise Forbidden("not_an_officer", "当前账号不是执法人员", "this account is not an officer's")
    return officer


def load_field_context(session: Session, user: User) -> FieldContext:
    """The caller's auxiliary record and whether they hold a valid credential, in one query."""
    valid = exists().where(Credential.auxiliary_id == Auxiliary.id, Credential.status == CredentialStatus.VALID)
    row = session.execute(select(Auxiliary, valid).where(Auxiliary.user_id == user.id)).first()
    if row is None:
        raise Forbidden("not_an_auxiliary", "当前账号不是辅助人员", "this account is not an auxiliary's")
    return FieldContext(user=user, aux=row[0], credential_valid=bool(row[1]))


def load_officers(session: Session, fc: FieldContext, officer_ids: set[uuid.UUID]) -> None:
    """Look up officers in one query: an officer is available to direct this auxiliary when active, with an
    active account, in the agency that commands the auxiliary (第八条、第二十二条)."""
    missing = officer_ids - fc.officers.keys()
    if not missing:
        return
    rows = session.execute(
        select(Officer, User.active).join(User, User.id == Officer.user_id).where(Officer.id.in_(missing))
    ).all()
    for officer, user_active in rows:
        ok = officer.active and user_active and officer.agency_id == fc.aux.commanding_agency_id
        fc.officers[officer.id] = officer if ok else None
    for officer_id in missing - {o.id for o, _ in rows}:
        fc.officers[officer_id] = None


def available_officer(session: Session, fc: FieldContext, officer_id: uuid.UUID) -> Officer | None:
    load_officers(session, fc, {officer_id})
    return fc.officers[officer_id]


def record_shift_event(
    session: Session, fc: FieldContext, *, kind: ShiftKind, payload: Mapping[str, Any]
) -> tuple[ShiftEvent, bool]:
    """Store a check-in or check-out with the phone's id; (event, created). ``in_zone`` is a flag, never a
    refusal: GPS drifts."""
    event_id = uuid.UUID(str(payload["id"]))
    digest = content_hash({**payload, "kind": kind})
    existing = session.get(ShiftEvent, event_id)
    if existing is not None:
        return same_or_conflict(existing, auxiliary_id=fc.aux.id, digest=digest), False
    serialize_writes(session)
    lat, lon = float(payload["lat"]), float(payload["lon"])
    event = ShiftEvent(
        id=event_id,
        auxiliary_id=fc.aux.id,
        kind=kind,
        at=payload["at"].astimezone(UTC),
        lat=lat,
        lon=lon,
        accuracy_m=payload.get("accuracy_m"),
        in_zone=point_in_zones(fc.aux.zones, lat=lat, lon=lon),
        content_hash=digest,
    )
    stored, created = insert_once(session, event, model=ShiftEvent, auxiliary_id=fc.aux.id)
    if created:
        audit.record(session, stored, f"shift_event.{kind}", actor_id=fc.user.id)
    return stored, created


# 第十九条: a refused attempt is itself a record, one per phone-made attempt id.


def open_article19_case(
    session: Session,
    fc: FieldContext,
    *,
    attempt_id: uuid.UUID,
    flags: list[str],
    request: dict[str, Any],
    officer_id: uuid.UUID | None,
) -> Article19Case:
    """Keep the attempt against whoever asked: the named officer when one is available to direct this
    auxiliary, else the auxiliary themself. A retried attempt finds the case already open."""
    serialize_writes(session)
    existing = session.scalar(select(Article19Case).where(Article19Case.attempt_id == attempt_id))
    if existing is not None:
        return existing
    officer = available_officer(session, fc, officer_id) if officer_id else None
    case = Article19Case(
        attempt_id=attempt_id,
        agency_id=fc.aux.commanding_agency_id,
        auxiliary_id=fc.aux.id,
        requested_by=officer.user_id if officer else fc.user.id,
        reported_by=fc.user.id,
        flags=flags,
        request=_canonical(request),
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        stored = session.scalar(select(Article19Case).where(Article19Case.attempt_id == attempt_id))
        if stored is None:
            raise
        return stored
    audit.record(session, case, "article19_case.opened", actor_id=fc.user.id)
    return case


def forbidden_work(flags: list[str], case: Article19Case) -> ForbiddenWork:
    items = "、".join(f"第十九条{FLAG_BY_NAME[f].item}{FLAG_BY_NAME[f].name_zh}" for f in flags)
    names = "; ".join(FLAG_BY_NAME[f].name_en for f in flags)
    return ForbiddenWork(
        "forbidden_work",
        "第十九条",
        f"辅助人员不得从事下列工作：{items}。本次要求已记录备查",
        f"auxiliaries may not be made to do this ({names}); the attempt has been kept as a case",
        flags=flags,
        case_id=str(case.id),
    )


def article19_cases_visible_to(user: User) -> Select[Article19Case]:
    """The justice bureau sees every case (第二十九条); an agency admin those of the agency that commanded
    the work or that employs the auxiliary."""
    stmt = select(Article19Case)
    if user.role == Role.JUSTICE_ADMIN:
        return stmt
    if user.role != Role.AGENCY_ADMIN or user.agency_id is None:
        return stmt.where(false())
    employed = select(Auxiliary.id).where(Auxiliary.agency_id == user.agency_id)
    return stmt.where(
        or_(Article19Case.agency_id == user.agency_id, Article19Case.auxiliary_id.in_(employed))
    )


def case_parties(
    session: Session, cases: Sequence[Article19Case]
) -> tuple[dict[uuid.UUID, User], dict[uuid.UUID, Auxiliary]]:
    """The users and auxiliaries a page of cases names, in two queries."""
    user_ids = {c.requested_by for c in cases} | {c.reported_by for c in cases}
    aux_ids = {c.auxiliary_id for c in cases if c.auxiliary_id}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    auxes = {a.id: a for a in session.scalars(select(Auxiliary).where(Auxiliary.id.in_(aux_ids)))}
    return users, auxes
