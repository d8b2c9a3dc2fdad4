"""Complaints at the desk (第二十四条、第二十八条): the queue of open ones, due soonest first (the overdue ones
lead), the decided ones by status, and one complaint with its history and the form that moves it one step
(``transition_complaint``, as ``POST /api/complaints/{id}/transitions``) to its resolution."""

import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.domain.base import utcnow
from api.domain.complaints.handling import (
    complaint_events,
    complaint_notice,
    get_complaint,
    handles,
    list_complaints,
    open_complaints_by_due,
    transition_complaint,
)
from api.domain.models import Auxiliary, Complaint, ComplaintStatus, User
from api.domain.privacy_tables import ReadKind
from api.pages.desk.staff import agency_names, parse_id
from api.pages.desk.web import (
    Caller,
    CallerDep,
    DeskRoute,
    PostedDep,
    attempt,
    field_errors,
    refusal,
    render,
    see_other,
)
from api.pages.desk.words import next_steps
from api.read_log import log_personal_reads
from schemas.complaints import ComplaintTransition

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)
DECIDED = ("resolved", "dismissed", "investigating", "received")
FIELD_OF = {"finding_required": "finding", "action_required": "action", "action_only_when_resolved": "action",
            "notice_not_anonymised": "notice", "notice_only_when_resolved": "notice", "invalid_transition": "to",
            "auxiliary_departed": "action"}


@router.get("/complaints")
def complaints_queue(session: SessionDep, caller: CallerDep, status: str = "", cursor: str = "") -> Response:
    user = caller.user
    chosen = status if status in DECIDED else ""
    if chosen:
        rows, next_cursor = list_complaints(session, user=user, status=ComplaintStatus(chosen), overdue=None,
                                            limit=50, cursor=cursor[:200] or None)
    else:
        rows, next_cursor = open_complaints_by_due(session, user=user), None
    next_url = f"/desk/complaints?{urlencode({'status': chosen, 'cursor': next_cursor})}" if next_cursor else ""
    people = _people(session, rows)
    return render("complaints.html", caller=caller, title="投诉办理", section="complaints", rows=rows,
                  status_filter=chosen, next_url=next_url, now=utcnow(), people=people, names=agency_names(session),
                  handles={c.id: handles(user, c) for c in rows})


def _people(session: Session, rows: Any) -> dict[uuid.UUID, Auxiliary]:
    """The auxiliaries a page of complaints names, in one query."""
    ids = {c.auxiliary_id for c in rows if c.auxiliary_id}
    return {a.id: a for a in session.scalars(select(Auxiliary).where(Auxiliary.id.in_(ids)))} if ids else {}


def _page(session: Session, caller: Caller, complaint: Complaint, *, status: int = 200, done: bool = False,
          errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> Response:
    user = caller.user
    can_handle = handles(user, complaint)
    events = complaint_events(session, complaint.id)
    actors = {e.actor_id: session.get(User, e.actor_id) for e in events}
    aux = session.get(Auxiliary, complaint.auxiliary_id) if complaint.auxiliary_id else None
    if can_handle and complaint.contact_phone:
        # The complainant's phone, shown to whoever calls them back, is a read of personal data (第十条(一)).
        log_personal_reads(session, user, ReadKind.COMPLAINANT_PHONE, [complaint.id])
    return render("complaint.html", caller=caller, status=status, title=f"投诉 {complaint.tracking_no}",
                  section="complaints", c=complaint, aux=aux, events=events, actors=actors,
                  can_handle=can_handle, steps=next_steps(complaint.status) if can_handle else [],
                  notice=complaint_notice(session, complaint.id), names=agency_names(session), now=utcnow(),
                  done=done, errors=errors or {}, values=values or {})


@router.get("/complaints/{complaint_id}")
def complaint(session: SessionDep, caller: CallerDep, complaint_id: str, done: str = "") -> Response:
    found = get_complaint(session, user=caller.user, complaint_id=parse_id(complaint_id, "complaint", "投诉"))
    return _page(session, caller, found, done=bool(done))


@router.post("/complaints/{complaint_id}/transition")
def move_complaint(session: SessionDep, posted: PostedDep, complaint_id: str) -> Response:
    user = posted.caller.user
    found = get_complaint(session, user=user, complaint_id=parse_id(complaint_id, "complaint", "投诉"))
    values = {k: posted.text(k) for k in ("to", "finding", "action", "notice")}
    try:
        body = ComplaintTransition.model_validate({k: v or None for k, v in values.items()})
    except ValidationError as exc:
        return _page(session, posted.caller, found, status=422, errors=field_errors(exc), values=values)
    _, error = attempt(session, lambda: transition_complaint(
        session, user=user, complaint_id=found.id, to=ComplaintStatus(body.to), finding=body.finding,
        action=body.action, notice=body.notice))
    if error is not None:
        session.refresh(found)
        return _page(session, posted.caller, found, status=error.status,
                     errors={FIELD_OF.get(error.code, "_"): refusal(error)}, values=values)
    return see_other(f"/desk/complaints/{found.id}?done=1")
