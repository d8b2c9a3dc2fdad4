"""Rectification orders (第二十九条): the justice bureau orders the agency whose staff asked an auxiliary for
forbidden work (an Article 19 case) to put it right by a date; the agency answers with the measures it took;
the bureau closes the order, or reopens it with a reason and a new date.

    issued ──answer──▶ answered ──close──▶ closed
      ▲                  │
      └──── reopened ◀───┘ reopen        (a reopened order is answered again)

Each step moves the order by a guarded UPDATE (of two admins acting at once, the second gets 409) and is kept
as an append-only event; both are logged (第十条(三)). An order waiting for the agency's answer past its date
(a Beijing calendar day) is overdue.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, not_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.access import visible_agencies
from api.domain.audit import log as audit
from api.domain.base import beijing_date, utcnow
from api.domain.errors import Conflict, Forbidden, NotFound, RuleViolation
from api.domain.models import (
    Article19Case,
    RectificationEvent,
    RectificationOrder,
    RectificationStatus,
    Role,
    User,
)
from api.domain.oversight_tables import AWAITING_ANSWER

ARTICLE = "第二十九条"
_S = RectificationStatus


@dataclass(frozen=True)
class Step:
    """One move of an order: from which statuses, to which, by whom."""

    action: str
    from_: frozenset[RectificationStatus]
    to: RectificationStatus
    by: Role
    verb_zh: str


STEPS: dict[str, Step] = {
    "answer": Step("answer", AWAITING_ANSWER, _S.ANSWERED, Role.AGENCY_ADMIN, "答复"),
    "close": Step("close", frozenset({_S.ANSWERED}), _S.CLOSED, Role.JUSTICE_ADMIN, "办结"),
    "reopen": Step("reopen", frozenset({_S.ANSWERED}), _S.REOPENED, Role.JUSTICE_ADMIN, "重新责令整改"),
}
"""Every legal move; any other is 409 ``invalid_order_transition`` (第二十九条). Closed is final."""
STATUS_ZH = {_S.ISSUED: "已下达", _S.ANSWERED: "已答复", _S.REOPENED: "已重新下达", _S.CLOSED: "已办结"}


def beijing_today(now: datetime | None = None) -> date:
    return beijing_date(now or utcnow())


def _check_due(due_on: date, today: date) -> None:
    if due_on < today:
        raise RuleViolation("due_date_passed", ARTICLE, "整改期限不能早于今天", "the deadline cannot be before today",
                            today=today.isoformat())


def _event(session: Session, order: RectificationOrder, *, actor: User, action: str, from_status: str | None,
           text: str | None, due_on: date | None, now: datetime) -> RectificationEvent:
    event = RectificationEvent(order_id=order.id, actor_id=actor.id, action=action, from_status=from_status,
                               to_status=order.status, text=text, due_on=due_on, created_at=now)
    session.add(event)
    audit.record(session, order, f"rectification.{action}", actor_id=actor.id)
    audit.record(session, event, f"rectification.{action}", actor_id=actor.id)
    return event


def issue_order(session: Session, *, actor: User, case_id: uuid.UUID, instructions: str, due_on: date,
                now: datetime | None = None) -> RectificationOrder:
    """Order the agency of Article 19 case ``case_id`` (the one whose staff asked) to rectify by ``due_on``.
    One order per case: a second answers 409 ``rectification_order_exists`` naming the first."""
    if actor.role != Role.JUSTICE_ADMIN:
        raise Forbidden("role_not_allowed", "只有司法行政部门可以责令整改",
                        "only the justice bureau orders rectification")
    now = now or utcnow()
    case = session.get(Article19Case, case_id)
    if case is None:
        raise NotFound("article 19 case", "第十九条案件")
    _check_due(due_on, beijing_today(now))
    order = RectificationOrder(case_id=case.id, agency_id=case.agency_id, issued_by=actor.id,
                               instructions=instructions.strip(), due_on=due_on, status=_S.ISSUED, created_at=now)
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        existing = session.scalar(select(RectificationOrder.id).where(RectificationOrder.case_id == case.id))
        raise Conflict("rectification_order_exists", "该案件已责令整改，请在原整改单上办理（重新下达用 reopen）",
                       "this case already has a rectification order; reopen that one instead",
                       article=ARTICLE, order_id=str(existing)) from None
    _event(session, order, actor=actor, action="issue", from_status=None, text=order.instructions, due_on=due_on,
           now=now)
    return order


def _scope(user: User) -> ColumnElement[bool]:
    return visible_agencies(user).where(RectificationOrder.agency_id)


def get_order(session: Session, *, user: User, order_id: uuid.UUID) -> RectificationOrder:
    """The order if the caller may see it (the justice bureau: all; an agency: its own); 404 otherwise."""
    order = session.scalar(select(RectificationOrder).where(RectificationOrder.id == order_id, _scope(user)))
    if order is None:
        raise NotFound("rectification order", "整改单")
    return order


def _move(session: Session, *, actor: User, order_id: uuid.UUID, step: Step, values: dict[str, Any],
          text: str | None, due_on: date | None, now: datetime | None) -> RectificationOrder:
    order = get_order(session, user=actor, order_id=order_id)
    if actor.role != step.by:
        who = "被责令整改的机关" if step.by == Role.AGENCY_ADMIN else "司法行政部门"
        raise Forbidden("role_not_allowed", f"只有{who}可以{step.verb_zh}", f"only the {step.by} may {step.action}")
    current = RectificationStatus(order.status)
    if current not in step.from_:
        raise Conflict("invalid_order_transition", f"整改单当前状态为{STATUS_ZH[current]}，不能{step.verb_zh}",
                       f"an order that is {current} cannot be {step.to.value}", article=ARTICLE,
                       from_status=current.value, action=step.action)
    now = now or utcnow()
    moved = session.execute(
        update(RectificationOrder).where(RectificationOrder.id == order.id, RectificationOrder.status == current)
        .values(status=step.to, **values).execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("invalid_order_transition", "整改单已被他人办理，请刷新", "the order moved meanwhile; reload",
                       article=ARTICLE, from_status=current.value, action=step.action)
    session.refresh(order)
    _event(session, order, actor=actor, action=step.action, from_status=current.value, text=text, due_on=due_on,
           now=now)
    return order


def answer_order(session: Session, *, actor: User, order_id: uuid.UUID, measures: str,
                 now: datetime | None = None) -> RectificationOrder:
    """The agency's answer: the measures it took. Late answers are taken (the history shows when)."""
    now = now or utcnow()
    return _move(session, actor=actor, order_id=order_id, step=STEPS["answer"],
                 values={"measures": measures.strip(), "answered_at": now}, text=measures.strip(), due_on=None,
                 now=now)


def close_order(session: Session, *, actor: User, order_id: uuid.UUID, note: str | None,
                now: datetime | None = None) -> RectificationOrder:
    """The bureau accepts the answer: the order is closed for good."""
    now = now or utcnow()
    return _move(session, actor=actor, order_id=order_id, step=STEPS["close"], values={"closed_at": now},
                 text=note.strip() if note else None, due_on=None, now=now)


def reopen_order(session: Session, *, actor: User, order_id: uuid.UUID, reason: str, due_on: date,
                 now: datetime | None = None) -> RectificationOrder:
    """The bureau finds the answer wanting: the agency owes another one by ``due_on``."""
    now = now or utcnow()
    _check_due(due_on, beijing_today(now))
    return _move(session, actor=actor, order_id=order_id, step=STEPS["reopen"], values={"due_on": due_on},
                 text=reason.strip(), due_on=due_on, now=now)


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(RectificationOrder.status.in_(AWAITING_ANSWER), RectificationOrder.due_on < today)


def orders_query(*, user: User, status: RectificationStatus | None, overdue: bool | None,
                 today: date) -> Select[RectificationOrder]:
    """The orders the caller may see (the justice bureau: all; an agency admin: their agency's)."""
    scope = visible_agencies(user)
    if not scope.any:
        raise Forbidden("role_not_allowed", "当前角色无权查看整改单", "only agency and justice admins see orders")
    stmt = select(RectificationOrder).where(_scope(user))
    if status is not None:
        stmt = stmt.where(RectificationOrder.status == status)
    if overdue is not None:
        stmt = stmt.where(_overdue(today) if overdue else not_(_overdue(today)))
    return stmt


def order_events(session: Session, order_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[RectificationEvent]]:
    """The history of each order, oldest first, in one query."""
    history: dict[uuid.UUID, list[RectificationEvent]] = {i: [] for i in order_ids}
    stmt = select(RectificationEvent).where(RectificationEvent.order_id.in_(order_ids)).order_by(
        RectificationEvent.created_at, RectificationEvent.id)
    for event in session.scalars(stmt):
        history[event.order_id].append(event)
    return history


def order_cases(session: Session, orders: Sequence[RectificationOrder]) -> dict[uuid.UUID, Article19Case]:
    ids = {o.case_id for o in orders}
    return {c.id: c for c in session.scalars(select(Article19Case).where(Article19Case.id.in_(ids)))}


def orders_of_cases(session: Session, case_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, RectificationOrder]:
    """The order of each case that has one (for the list of Article 19 cases)."""
    stmt = select(RectificationOrder).where(RectificationOrder.case_id.in_(case_ids))
    return {o.case_id: o for o in session.scalars(stmt)}
