"""How the agency handles a complaint (第二十八条).

The agency moves the complaint received → investigating → resolved | dismissed (the table in
``catalogue.py``); each move is also an append-only event, and a resolved case may be published as an
anonymised case notice (违法违纪案例通报). Resolving with an outcome also records it as a sanction of the
auxiliary complained of (``staff/sanctions.py``); a dismissal ends their employment at once.
"""

import re
import uuid
from collections.abc import Sequence
from typing import cast

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlalchemy.orm import Session

from api.domain.access import visible_agencies
from api.domain.audit.log import record
from api.domain.base import utcnow
from api.domain.complaints.catalogue import ACTION_BY_CODE, DECIDED_STATUSES, OPEN_STATUSES, TRANSITIONS
from api.domain.complaints.intake import phone_digits
from api.domain.errors import Conflict, DomainError, Forbidden, NotFound, RuleViolation
from api.domain.models import (
    Agency,
    Auxiliary,
    CaseNotice,
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Role,
    User,
)
from api.domain.pagination import paginate
from api.domain.staff.sanctions import sanction_for_complaint


def _scope(user: User) -> ColumnElement[bool]:
    """Complaints about the staff the caller's agency employs, and, to read, about the staff seconded to it:
    the street that commands them (第二十二条) hears what citizens say of them, but handling stays with the
    employer (第二十八条: 由所在行政执法机关). The justice bureau's scope is everything, complaints tied to no
    agency included."""
    scope = visible_agencies(user)
    if not scope.any:
        raise Forbidden(
            "role_not_allowed", "当前角色无权处理投诉", "only agency and justice admins handle complaints"
        )
    seconded_here = select(Auxiliary.id).where(scope.where(Auxiliary.command_agency_id))
    return or_(scope.where(Complaint.agency_id), Complaint.auxiliary_id.in_(seconded_here))


def handles(user: User, complaint: Complaint) -> bool:
    """Whether ``user``'s agency handles ``complaint``: the employing agency of the auxiliary it names
    (第二十八条), or the justice bureau for one tied to no agency."""
    if complaint.agency_id is None:
        return visible_agencies(user).everything
    return user.role == Role.AGENCY_ADMIN and user.agency_id == complaint.agency_id


def list_complaints(
    session: Session, *, user: User, status: ComplaintStatus | None, overdue: bool | None, limit: int | None,
    cursor: str | None, auxiliary_id: uuid.UUID | None = None,
) -> tuple[Sequence[Complaint], str | None]:
    """The complaints the caller may read (``_scope``), newest first; ``overdue`` keeps only those past
    (True) or within (False) their handling deadline and still open; ``auxiliary_id`` those about one person."""
    stmt = select(Complaint).where(_scope(user))
    if auxiliary_id is not None:
        stmt = stmt.where(Complaint.auxiliary_id == auxiliary_id)
    if status is not None:
        stmt = stmt.where(Complaint.status == status)
    if overdue is not None:
        stmt = stmt.where(Complaint.overdue if overdue else ~Complaint.overdue)
    return paginate(
        session, cast("Select[tuple[Complaint]]", stmt), created=Complaint.received_at, key=Complaint.id,
        limit=limit, cursor=cursor,
    )


def open_complaints_by_due(session: Session, *, user: User, limit: int = 200) -> list[Complaint]:
    """The open complaints the caller may read, the one due soonest first: the overdue ones lead the queue."""
    return list(session.scalars(
        select(Complaint).where(_scope(user), Complaint.status.in_(OPEN_STATUSES))
        .order_by(Complaint.due_at, Complaint.id).limit(limit)
    ))


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
    if not handles(user, complaint):
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
    if to == ComplaintStatus.RESOLVED:
        sanction_for_complaint(session, complaint, actor=user)
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
