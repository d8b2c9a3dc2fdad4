"""A person's standing (第二十一条、第二十二条、第二十六条、第二十八条): assessments, terms of employment,
commendations and sanctions.

Written by the employing agency's admins (第五条); assessments also by the street that commands a seconded
auxiliary (第二十二条). Read by those agencies and the justice bureau. Anyone who may not know of the auxiliary
is told they do not exist.
"""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import CurrentUser, SessionDep
from api.domain.access import require_visible
from api.domain.complaints.catalogue import ACTION_BY_CODE
from api.domain.models import Sanction
from api.domain.privacy_tables import ReadKind
from api.domain.staff.assessments import Scores, record_assessment
from api.domain.staff.commendations import record_commendation
from api.domain.staff.contracts import record_contract
from api.domain.staff.lookup import managed_auxiliary, visible_auxiliary
from api.domain.staff.sanctions import record_sanction
from api.domain.staff.standing import standing_of
from api.read_log import log_personal_reads
from schemas.standing import (
    AssessmentCreate,
    AssessmentRead,
    CommendationCreate,
    CommendationRead,
    ContractCreate,
    ContractRead,
    SanctionCreate,
    SanctionRead,
    StandingRead,
    TermRead,
)

router = APIRouter(prefix="/api", tags=["standing"])

AuxId = Annotated[uuid.UUID, Path(description="the auxiliary's id")]


def _sanction_read(sanction: Sanction, auxiliary_status: str | None = None) -> SanctionRead:
    return SanctionRead.model_validate({
        **{name: getattr(sanction, name) for name in SanctionRead.model_fields
           if name not in ("action_name", "auxiliary_status")},
        "action_name": ACTION_BY_CODE[sanction.action].name_zh, "auxiliary_status": auxiliary_status,
    })


@router.post("/auxiliaries/{aux_id}/assessments", response_model=AssessmentRead,
             status_code=status.HTTP_201_CREATED)
def record_assessment_route(
    session: SessionDep, user: CurrentUser, aux_id: AuxId, body: AssessmentCreate
) -> AssessmentRead:
    """Record an assessment of a period (第二十一条: discipline, performance, conduct, training, and a
    grade), by the employing agency or, for a seconded auxiliary, the street that commands them (第二十二条).
    An assessment within a term is what its renewal rests on.

    403 `not_your_agency` for anyone else who may see the auxiliary; 409 `assessment_exists` when the caller's
    agency already assessed that period; 422 `period_not_started` / `period_before_hire`.
    """
    aux = managed_auxiliary(session, aux_id, user=user, or_commanding=True)
    assessment = record_assessment(
        session, aux, actor=user, period=body.period, grade=body.grade, note=body.note,
        scores=Scores(**body.scores.model_dump()),
    )
    return AssessmentRead.model_validate(assessment, from_attributes=True)


@router.post("/auxiliaries/{aux_id}/contracts", response_model=ContractRead, status_code=status.HTTP_201_CREATED)
def record_contract_route(session: SessionDep, user: CurrentUser, aux_id: AuxId, body: ContractCreate) -> ContractRead:
    """Record a term of employment, `starts_on` to `ends_on` (both included), by the employing agency.

    A term starting after an earlier one renews it (第二十一条): it needs an assessment of a period within the
    ending term (422 `assessment_required`), and none of those may be `incompetent` (422
    `assessment_incompetent`). Terms may not overlap (422 `contract_overlaps`) nor start before the hire
    (422 `contract_before_hire`); 409 `auxiliary_departed` once the person has left. When the latest term has
    ended, the badge verifies as `expired` and no field work is recorded until a renewal.
    """
    aux = managed_auxiliary(session, aux_id, user=user)
    contract = record_contract(session, aux, actor=user, starts_on=body.starts_on, ends_on=body.ends_on)
    return ContractRead.model_validate(contract, from_attributes=True)


@router.post("/auxiliaries/{aux_id}/commendations", response_model=CommendationRead,
             status_code=status.HTTP_201_CREATED)
def record_commendation_route(
    session: SessionDep, user: CurrentUser, aux_id: AuxId, body: CommendationCreate
) -> CommendationRead:
    """Record a commendation or reward for outstanding work or deeds (第二十六条), by the employing agency.
    422 `awarded_in_future`."""
    aux = managed_auxiliary(session, aux_id, user=user)
    commendation = record_commendation(session, aux, actor=user, kind=body.kind, reason=body.reason,
                                       awarded_on=body.awarded_on)
    return CommendationRead.model_validate(commendation, from_attributes=True)


@router.post("/auxiliaries/{aux_id}/sanctions", response_model=SanctionRead, status_code=status.HTTP_201_CREATED)
def record_sanction_route(session: SessionDep, user: CurrentUser, aux_id: AuxId, body: SanctionCreate) -> SanctionRead:
    """Record a sanction for breaking 第十条 (第二十八条: correction, criticism, discipline, dismissal, judicial
    referral), by the employing agency.

    A `dismissal` ends the employment at once, as a departure does (第二十七条): the credential is revoked (the
    badge verifies as `revoked`), the login closed, the headcount place freed, `items_recovered` recorded, and
    the person left `dismissed`; 409 `auxiliary_departed` if they have already left. A `complaint_id` names the
    complaint this carries out: it must be about this auxiliary (422 `complaint_not_about_auxiliary`) and
    resolved with this action (422 `complaint_action_differs`), once (409 `sanction_exists`); resolving a
    complaint with an action records its sanction by itself.
    """
    aux = managed_auxiliary(session, aux_id, user=user)
    sanction = record_sanction(session, aux, actor=user, action=body.action, reason=body.reason,
                               complaint_id=body.complaint_id, items_recovered=body.items_recovered)
    return _sanction_read(sanction, aux.status)


@router.get("/auxiliaries/{aux_id}/standing", response_model=StandingRead)
def read_standing_route(session: SessionDep, user: CurrentUser, aux_id: AuxId) -> StandingRead:
    """The auxiliary's assessments, terms of employment, commendations and sanctions, each newest first, and
    whether their latest term has ended. For the employing agency, the street commanding them and the
    justice bureau; 403 `not_your_agency` for the auxiliary themself."""
    aux = visible_auxiliary(session, aux_id, user=user)
    require_visible(user, aux.agency_id, aux.command_agency_id)
    standing = standing_of(session, aux)
    current = standing.current_contract
    read = StandingRead(
        auxiliary_id=aux.id,
        status=aux.status,
        term=TermRead(ends_on=standing.term_ends_on, expired=standing.term_expired,
                      current_contract_id=current.id if current else None),
        assessments=[AssessmentRead.model_validate(a, from_attributes=True) for a in standing.assessments],
        contracts=[ContractRead.model_validate(c, from_attributes=True) for c in standing.contracts],
        commendations=[CommendationRead.model_validate(c, from_attributes=True) for c in standing.commendations],
        sanctions=[_sanction_read(s) for s in standing.sanctions],
    )
    log_personal_reads(session, user, ReadKind.STANDING, [aux.id])
    return read
