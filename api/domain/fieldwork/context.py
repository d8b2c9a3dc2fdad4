"""Who is recording field work: the auxiliary, whether their credential lets them record (第二十三条) within a
term of employment that has not run out (第二十一条), and the officers of their commanding agency who may
direct and co-sign their work (第八条、第二十二条)."""

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from api.domain.base import beijing_date, utcnow
from api.domain.errors import Forbidden, RuleViolation
from api.domain.fieldwork.geo import Zones, parsed_zones
from api.domain.models import (
    Auxiliary,
    AuxiliaryStatus,
    Credential,
    CredentialStatus,
    Officer,
    RefreshToken,
    Role,
    User,
)
from api.domain.organisation.accounts import LOGIN_REVOKED
from api.domain.staff.contracts import latest_term_end, term_over
from api.domain.staff.credential_history import CredentialHistory, credential_history


@dataclass(frozen=True)
class TimeLimits:
    """How far the service believes the times a phone puts on its records (fieldwork/timing.py; settings
    ``field_max_future_minutes`` and ``field_max_age_days``)."""

    max_future: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=30)


@dataclass
class FieldContext:
    """The caller as a recorder of field work, loaded once per request or sync batch."""

    user: User
    aux: Auxiliary
    # When the auxiliary's valid credential last became valid (issued or reinstated); None: none is valid.
    valid_since: datetime | None
    limits: TimeLimits = field(default_factory=TimeLimits)
    # Officers looked up so far: None for an id that is unknown, inactive or of another agency.
    officers: dict[uuid.UUID, Officer | None] = field(default_factory=dict)
    # The auxiliary's row is locked for this transaction (shift events: one state machine per auxiliary).
    holds_lock: bool = False
    _history: CredentialHistory | None = None
    # in_zone answered ahead for a sync batch (locate_all), by (lat, lon).
    _located: dict[tuple[float, float], bool | None] = field(default_factory=dict)

    @property
    def credential_valid(self) -> bool:
        return self.valid_since is not None

    def credential_history(self, session: Session) -> CredentialHistory:
        """The lapses of the auxiliary's credentials, read once per request or sync batch."""
        if self._history is None:
            self._history = credential_history(session, self.aux.id)
        return self._history

    @cached_property
    def zones(self) -> Zones | None:
        """The auxiliary's responsibility zones, parsed once per content for every request (geo.parsed_zones)."""
        return parsed_zones(self.aux.zones)

    def in_zone(self, *, lat: float, lon: float, accuracy_m: float | None = None) -> bool | None:
        if accuracy_m is None and (lat, lon) in self._located:
            return self._located[(lat, lon)]
        return None if self.zones is None else self.zones.locate(lat=lat, lon=lon, accuracy_m=accuracy_m)

    def locate_all(self, positions: Iterable[tuple[float, float]]) -> None:
        """Answer ``in_zone`` (without an accuracy) for these (lat, lon) fixes at once, ahead of the records of a
        sync batch that ask it one by one."""
        if self.zones is None:
            return
        wanted = list(dict.fromkeys(p for p in positions if p not in self._located))
        self._located.update(zip(wanted, self.zones.locate_all(wanted), strict=True))
    # Their latest term of employment ended before today: the badge has expired (第二十一条).
    term_ended: bool = False

    @property
    def may_record(self) -> bool:
        return self.aux.status == AuxiliaryStatus.ACTIVE and self.credential_valid and not self.term_ended

    def not_active(self) -> RuleViolation:
        return RuleViolation(
            "credential_not_active",
            "第二十三条",
            "未持有效工作证件，不得开展辅助执法工作",
            "no valid work credential: no field work may be recorded",
            status=403,
        )

    def require_active_credential(self) -> None:
        """第二十三条: without an active auxiliary and a valid credential, nothing is recorded now."""
        if not self.may_record:
            raise self.not_active()


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


def lock_auxiliary_of(session: Session, user: User) -> None:
    """Lock the caller's auxiliary row until the transaction ends: NO KEY UPDATE on PostgreSQL (it serialises
    with another shift event and with a suspension, and blocks no insert that references the row); SQLite
    already took the write lock when the transaction began (api/db.py). Not inside a savepoint: rolling one
    back would release the lock."""
    session.execute(_LOCK_AUXILIARY, {"user_id": user.id})


_LOCK_AUXILIARY = select(Auxiliary.id).where(Auxiliary.user_id == bindparam("user_id")).with_for_update(
    key_share=True)


def load_field_context(
    session: Session, user: User, *, limits: TimeLimits | None = None, lock: bool = False
) -> FieldContext:
    """The caller's auxiliary record, since when their credential is valid and whether their latest term has
    ended, in one query; with ``lock``, read after the auxiliary's row is locked, so a suspension committed
    meanwhile is seen."""
    if lock:
        lock_auxiliary_of(session, user)
    row = session.execute(_FIELD_CONTEXT, {"user_id": user.id}).first()
    if row is None:
        raise Forbidden("not_an_auxiliary", "当前账号不是辅助人员", "this account is not an auxiliary's")
    return _context(user, row[0], row[1], row[2], limits, holds_lock=lock)


def _context(user: User, aux: Auxiliary, valid_since: datetime | None, term_end: date | None,
             limits: TimeLimits | None, *, holds_lock: bool = False) -> FieldContext:
    return FieldContext(user=user, aux=aux, valid_since=valid_since, limits=limits or TimeLimits(),
                        holds_lock=holds_lock, term_ended=term_over(term_end, beijing_date(utcnow())))


def field_context_of_login(session: Session, user_id: uuid.UUID, family_id: uuid.UUID, *,
                           limits: TimeLimits | None = None) -> FieldContext | None:
    """``load_field_context`` of the account an access token names (``account_of_login``), read with it in one
    round trip: None unless the account is an active auxiliary's whose login ``family_id`` was not revoked (the
    caller then answers as the dependencies that read who asks do)."""
    row = session.execute(_LOGIN_FIELD_CONTEXT, {"user_id": user_id, "family_id": family_id}).first()
    if row is None:
        return None
    user, revoked, aux, valid_since, term_end = row
    if revoked or not user.active or user.role != Role.AUXILIARY:
        return None
    return _context(user, aux, valid_since, term_end, limits)


def field_contexts_of_logins(session: Session, logins: Collection[tuple[uuid.UUID, uuid.UUID]], *,
                             limits: TimeLimits | None = None) -> dict[tuple[uuid.UUID, uuid.UUID], FieldContext]:
    """``field_context_of_login`` of many logins, each (account, login family), in one round trip: the field
    context of each login it would answer, keyed by login; a login left out is one it answers None."""
    users = list({user_id for user_id, _ in logins})
    families = list({family_id for _, family_id in logins})
    found: dict[uuid.UUID, tuple[User, Auxiliary, datetime | None, date | None]] = {}
    revoked: set[uuid.UUID] = set()
    for user, aux, valid_since, term_end, revoked_family in session.execute(
            _LOGINS_FIELD_CONTEXT, {"user_ids": users, "family_ids": families}):
        found[user.id] = user, aux, valid_since, term_end
        if revoked_family is not None:
            revoked.add(revoked_family)
    contexts = {}
    for login in logins:
        if (got := found.get(login[0])) is None or login[1] in revoked:
            continue
        if got[0].active and got[0].role == Role.AUXILIARY:
            contexts[login] = _context(*got, limits)
    return contexts


# Made once: a statement made per request has its cache key worked out anew every time, and every record of
# field work asks this first.
_VALID_SINCE = (
    select(Credential.status_changed_at)
    .where(Credential.auxiliary_id == Auxiliary.id, Credential.status == CredentialStatus.VALID)
    .order_by(Credential.version.desc()).limit(1).scalar_subquery()
)
_FIELD_CONTEXT = select(Auxiliary, _VALID_SINCE, latest_term_end(Auxiliary.id)).where(
    Auxiliary.user_id == bindparam("user_id"))
_LOGIN_FIELD_CONTEXT = (
    select(User, LOGIN_REVOKED, Auxiliary, _VALID_SINCE, latest_term_end(Auxiliary.id))
    .join(Auxiliary, Auxiliary.user_id == User.id).where(User.id == bindparam("user_id"))
)
# The revoked logins among those asked for come as a column of their own, beside every account asked for (a
# revoked login is rare): the login is revoked when any of its refresh tokens is, as ``LOGIN_REVOKED`` says.
_LOGINS_FIELD_CONTEXT = (
    select(User, Auxiliary, _VALID_SINCE, latest_term_end(Auxiliary.id), RefreshToken.family_id)
    .join(Auxiliary, Auxiliary.user_id == User.id)
    .outerjoin(RefreshToken, and_(RefreshToken.family_id.in_(bindparam("family_ids", expanding=True)),
                                  RefreshToken.revoked_at.is_not(None)))
    .where(User.id.in_(bindparam("user_ids", expanding=True)))
)


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
