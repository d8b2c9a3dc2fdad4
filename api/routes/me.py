"""The caller's own field kit: what an auxiliary's phone keeps to record work with no network."""

from fastapi import APIRouter

from api.deps import AuxiliaryUser, SessionDep
from api.domain.fieldwork.duty_sheet import commanding_officers, duty_sheet
from schemas.me import DutySheetRead, OfficerItem, OfficerPage

router = APIRouter(prefix="/api/me", tags=["fieldwork"])


@router.get("/duties", response_model=DutySheetRead)
def read_my_duties(session: SessionDep, user: AuxiliaryUser) -> DutySheetRead:
    """The auxiliary's duty sheet, for recording offline: their badge and status, whether they may record now
    (第二十三条), the agency that employs them and the one that commands them (第二十二条: the street or town
    they are seconded to), the independent duties of 第七条 granted to them, every assisted duty of 第八条 (each
    needs a named officer), the forbidden work of 第十九条 with its flags (a task reporting one is refused and
    kept as an Article 19 case), their responsibility zones and the shift they have open. `requires` names the
    field a duty's record must carry. Auxiliaries only; 403 `not_an_auxiliary` for an auxiliary's account
    without a record."""
    return DutySheetRead.of(duty_sheet(session, user))


@router.get("/officers", response_model=OfficerPage)
def list_my_officers(session: SessionDep, user: AuxiliaryUser) -> OfficerPage:
    """The officers who may direct the auxiliary and co-sign their assisted records (第八条): the active officers,
    with active accounts, of the agency that commands them (第二十二条), by name; exactly those that
    `POST /api/tasks` accepts as `officer_id`. The whole list at once (`next_cursor` is always null).
    Auxiliaries only; 403 `not_an_auxiliary` for an auxiliary's account without a record."""
    return OfficerPage(items=[
        OfficerItem(officer_id=officer.id, name=account.name, cert_no=officer.cert_no, agency_id=officer.agency_id)
        for officer, account in commanding_officers(session, user)
    ])
