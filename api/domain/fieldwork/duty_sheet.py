"""What an auxiliary's phone needs to record field work offline: who they are and whether they may record now
(第二十三条), which agency employs them and which commands them (第二十二条), what they may do alone (第七条, only
the duties granted to them) and only beside an officer (第八条), what nobody may make them do (第十九条), their
responsibility zones, their open shift, and the officers who may direct and co-sign their work (第八条).
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.duties import DUTIES, Duty
from api.domain.fieldwork.context import load_field_context
from api.domain.fieldwork.shifts import last_shift_event
from api.domain.models import Agency, Auxiliary, CredentialStatus, Officer, ShiftEvent, User
from api.domain.staff.credentials import current_credential

EXPIRED = "expired"
"""A valid credential whose holder's latest term of employment has ended: the badge verifies as expired
(第二十一条), and no work is recorded."""


@dataclass(frozen=True)
class DutySheet:
    aux: Auxiliary
    # The newest credential's status, ``expired`` as the badge says it, None when none was ever issued.
    credential_status: str | None
    may_record: bool
    agency: Agency
    command_agency: Agency
    independent: list[Duty]
    assisted: list[Duty]
    open_shift: ShiftEvent | None


def duty_sheet(session: Session, user: User) -> DutySheet:
    """The caller's sheet; 403 ``not_an_auxiliary`` for an account with no auxiliary's record."""
    fc = load_field_context(session, user)
    aux = fc.aux
    credential = current_credential(session, aux)
    status: str | None = None
    if credential is not None:
        status = EXPIRED if credential.status == CredentialStatus.VALID and fc.term_ended else credential.status
    agencies = {a.id: a for a in session.scalars(
        select(Agency).where(Agency.id.in_({aux.agency_id, aux.commanding_agency_id})))}
    last = last_shift_event(session, aux.id)
    return DutySheet(
        aux=aux,
        credential_status=status,
        may_record=fc.may_record,
        agency=agencies[aux.agency_id],
        command_agency=agencies[aux.commanding_agency_id],
        independent=[d for d in DUTIES if not d.assisted and d.code in aux.categories],
        assisted=[d for d in DUTIES if d.assisted],
        open_shift=last if last is not None and last.kind == "check_in" else None,
    )


def commanding_officers(session: Session, user: User) -> list[tuple[Officer, User]]:
    """The officers an assisted record of the caller may name, by name: active, with an active account, of the
    agency that commands the caller (the ones ``officer_not_available`` accepts; fieldwork/context.py)."""
    aux = load_field_context(session, user).aux
    rows = session.execute(
        select(Officer, User).join(User, User.id == Officer.user_id)
        .where(Officer.agency_id == aux.commanding_agency_id, Officer.active.is_(True), User.active.is_(True))
        .order_by(User.name, Officer.id)
    ).all()
    return [(officer, account) for officer, account in rows]
