"""Who is recording field work: the auxiliary, whether their credential lets them record (第二十三条),
and the officers of their commanding agency who may direct and co-sign their work (第八条、第二十二条)."""

import uuid
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from api.domain.errors import Forbidden, RuleViolation
from api.domain.fieldwork.geo import Zones
from api.domain.models import (
    Auxiliary,
    AuxiliaryStatus,
    Credential,
    CredentialStatus,
    Officer,
    User,
)


@dataclass
class FieldContext:
    """The caller as a recorder of field work, loaded once per request or sync batch."""

    user: User
    aux: Auxiliary
    credential_valid: bool
    # Officers looked up so far: None for an id that is unknown, inactive or of another agency.
    officers: dict[uuid.UUID, Officer | None] = field(default_factory=dict)

    @cached_property
    def zones(self) -> Zones | None:
        """The auxiliary's responsibility zones, parsed once for every record of the request."""
        return Zones.from_geojson(self.aux.zones)

    def in_zone(self, *, lat: float, lon: float, accuracy_m: float | None = None) -> bool | None:
        return None if self.zones is None else self.zones.locate(lat=lat, lon=lon, accuracy_m=accuracy_m)

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
