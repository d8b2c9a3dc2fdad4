"""Rectification orders (第二十九条): the justice bureau orders the agency behind an Article 19 case to put it
right by a date, the agency answers, the bureau closes or reopens; overdue orders are listed."""

import uuid
from collections.abc import Sequence
from typing import Annotated, cast

from fastapi import APIRouter, Body, Query, status
from sqlalchemy import Select, select

from api.deps import Admin, AgencyAdmin, JusticeAdmin, SessionDep
from api.domain.fieldwork.article19 import case_parties
from api.domain.models import Agency, RectificationOrder, RectificationStatus
from api.domain.oversight.rectification import (
    answer_order,
    beijing_today,
    close_order,
    get_order,
    issue_order,
    order_cases,
    order_events,
    orders_query,
    reopen_order,
)
from api.domain.pagination import paginate
from schemas.common import Page
from schemas.rectification import (
    CaseSummary,
    RectificationAnswer,
    RectificationClose,
    RectificationCreate,
    RectificationEventRead,
    RectificationRead,
    RectificationReopen,
    StatusName,
)
from schemas.tasks import AuxiliaryRef, Person, forbidden_flags

router = APIRouter(prefix="/api", tags=["oversight"])


def _reads(session: SessionDep, orders: Sequence[RectificationOrder]) -> list[RectificationRead]:
    """A page of orders with their cases, parties, agencies and histories, in five queries."""
    if not orders:
        return []
    today = beijing_today()
    cases = order_cases(session, orders)
    users, auxes = case_parties(session, list(cases.values()))
    history = order_events(session, [o.id for o in orders])
    agencies = {i: n for i, n in session.execute(
        select(Agency.id, Agency.name).where(Agency.id.in_({o.agency_id for o in orders})))}
    reads = []
    for order in orders:
        case = cases[order.case_id]
        asker = users[case.requested_by]
        aux = auxes.get(case.auxiliary_id) if case.auxiliary_id else None
        summary = CaseSummary(
            id=case.id, requested_by=Person(id=asker.id, name=asker.name, role=asker.role),
            auxiliary=AuxiliaryRef(id=aux.id, name=aux.name, badge_no=aux.badge_no) if aux else None,
            flags=forbidden_flags(case.flags),
            created_at=case.created_at,
        )
        reads.append(RectificationRead(
            id=order.id, case_id=order.case_id, agency_id=order.agency_id, agency_name=agencies[order.agency_id],
            status=cast(StatusName, order.status), instructions=order.instructions, due_on=order.due_on,
            overdue=order.overdue(today), measures=order.measures, answered_at=order.answered_at,
            closed_at=order.closed_at, issued_by=order.issued_by, created_at=order.created_at,
            rules_version=order.rules_version, case=summary,
            history=[RectificationEventRead.model_validate(e) for e in history[order.id]],
        ))
    return reads


def _read(session: SessionDep, order: RectificationOrder) -> RectificationRead:
    return _reads(session, [order])[0]


@router.post("/article19-cases/{case_id}/rectification", response_model=RectificationRead,
             status_code=status.HTTP_201_CREATED)
def issue_rectification_order(
    session: SessionDep, user: JusticeAdmin, case_id: uuid.UUID, body: RectificationCreate
) -> RectificationRead:
    """Order the agency whose staff asked for the forbidden work (the case's `agency_id`) to rectify by
    `due_on` (第二十九条), a Beijing calendar day not before today (422 `due_date_passed`). The justice bureau
    only. One order per case: 409 `rectification_order_exists` names the one there is (reopen it instead)."""
    return _read(session, issue_order(session, actor=user, case_id=case_id, instructions=body.instructions,
                                      due_on=body.due_on))


@router.get("/rectification-orders", response_model=Page[RectificationRead])
def list_rectification_orders(
    session: SessionDep,
    user: Admin,
    overdue: Annotated[bool | None, Query(
        description="true: only those past `due_on` still waiting for the agency's answer; false: all others")] = None,
    status_: Annotated[StatusName | None, Query(alias="status")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[RectificationRead]:
    """Rectification orders, newest first, each with its case and history: the justice bureau sees all, an
    agency admin those addressed to their agency. `overdue` is computed against today in Beijing time."""
    stmt = orders_query(user=user, status=RectificationStatus(status_) if status_ else None, overdue=overdue,
                        today=beijing_today())
    rows, next_cursor = paginate(session, cast("Select[tuple[RectificationOrder]]", stmt),
                                 created=RectificationOrder.created_at, key=RectificationOrder.id, limit=limit,
                                 cursor=cursor)
    return Page(items=_reads(session, rows), next_cursor=next_cursor)


@router.get("/rectification-orders/{order_id}", response_model=RectificationRead)
def read_rectification_order(session: SessionDep, user: Admin, order_id: uuid.UUID) -> RectificationRead:
    """One order with its case and history (the justice bureau: any; an agency admin: their agency's)."""
    return _read(session, get_order(session, user=user, order_id=order_id))


@router.post("/rectification-orders/{order_id}/answer", response_model=RectificationRead)
def answer_rectification_order(
    session: SessionDep, user: AgencyAdmin, order_id: uuid.UUID, body: RectificationAnswer
) -> RectificationRead:
    """The agency addressed answers with the measures it took: the order becomes `answered` (also after its
    date; the history shows when). Only an `issued` or `reopened` order: 409 `invalid_order_transition` (第二十九条)."""
    return _read(session, answer_order(session, actor=user, order_id=order_id, measures=body.measures))


@router.post("/rectification-orders/{order_id}/close", response_model=RectificationRead)
def close_rectification_order(
    session: SessionDep, user: JusticeAdmin, order_id: uuid.UUID,
    body: Annotated[RectificationClose | None, Body(examples=[{"note": "经核查，整改到位"}])] = None,
) -> RectificationRead:
    """The justice bureau accepts the answer, with an optional `note`: the order is `closed`, for good. Only an
    `answered` order: 409 `invalid_order_transition` (第二十九条)."""
    return _read(session, close_order(session, actor=user, order_id=order_id, note=body.note if body else None))


@router.post("/rectification-orders/{order_id}/reopen", response_model=RectificationRead)
def reopen_rectification_order(
    session: SessionDep, user: JusticeAdmin, order_id: uuid.UUID, body: RectificationReopen
) -> RectificationRead:
    """The justice bureau finds the answer wanting: with a `reason` and a new `due_on` (not before today, 422
    `due_date_passed`) the order is `reopened` and the agency owes another answer. Only an `answered` order:
    409 `invalid_order_transition` (第二十九条)."""
    return _read(session, reopen_order(session, actor=user, order_id=order_id, reason=body.reason,
                                       due_on=body.due_on))
