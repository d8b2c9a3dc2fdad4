"""Handing a pending co-signature to another officer (第八条): when the officer an assisted record names can no
longer co-sign it (their account deactivated, say), the agency that commands the auxiliary names another
active officer of its own. The record keeps its content; only the officer it waits for moves, the step is kept
as a ``TaskReassignment`` and logged, and the first officer can no longer co-sign it.
"""

import uuid

from sqlalchemy import Select, false, func, select, update
from sqlalchemy.orm import Session

from api.domain.access import managed_agencies, not_your_agency
from api.domain.audit import log as audit
from api.domain.errors import Conflict, RuleViolation
from api.domain.fieldwork.cosign import not_pending
from api.domain.fieldwork.tasks import task_visibility, visible_task
from api.domain.models import Officer, Task, TaskReassignment, TaskStatus, User
from api.domain.organisation.deactivation import managed_account


def _pending_of(officer_id: uuid.UUID) -> Select[Task]:
    return select(Task).where(Task.officer_id == officer_id, Task.status == TaskStatus.PENDING_COSIGN)


def pending_cosign_query(session: Session, *, actor: User, user_id: uuid.UUID) -> Select[Task]:
    """The records waiting for the co-signature of the officer whose account is ``user_id`` (none for an
    account that is not an officer's), for the admins who manage that account."""
    managed_account(session, actor=actor, user_id=user_id)
    officer_id = session.scalar(select(Officer.id).where(Officer.user_id == user_id))
    if officer_id is None:
        return select(Task).where(false())
    return _pending_of(officer_id).where(task_visibility(session, actor))


def count_pending_cosign(session: Session, user_id: uuid.UUID) -> int | None:
    """How many records wait for this account's co-signature; None when it is not an officer's."""
    officer_id = session.scalar(select(Officer.id).where(Officer.user_id == user_id))
    if officer_id is None:
        return None
    return int(session.scalar(select(func.count()).select_from(_pending_of(officer_id).subquery())) or 0)


def _available(session: Session, officer_id: uuid.UUID, agency_id: uuid.UUID) -> Officer:
    """An officer who may direct and co-sign work commanded by ``agency_id``: active, with an active
    account, of that agency (第八条、第二十二条)."""
    row = session.execute(
        select(Officer, User.active).join(User, User.id == Officer.user_id).where(Officer.id == officer_id)
    ).first()
    if row is None or not (row[0].active and row[1] and row[0].agency_id == agency_id):
        raise RuleViolation(
            "officer_not_available", "第八条",
            "所注明的执法人员不存在、已停用或不属于指挥该辅助人员的机关",
            "the officer named is unknown, inactive, or not of the agency that commands this auxiliary",
        )
    return row[0]


def reassign_task(
    session: Session, *, actor: User, task_id: uuid.UUID, officer_id: uuid.UUID, reason: str | None
) -> tuple[Task, TaskReassignment]:
    """Name ``officer_id`` to co-sign the pending record ``task_id`` in place of the officer it names."""
    task = visible_task(session, actor, task_id)
    if not managed_agencies(actor).covers(task.command_agency_id):
        raise not_your_agency("只有指挥该辅助人员的机关可以改派会签的执法人员",
                              "only the agency that commands the auxiliary names the officer who co-signs")
    if task.status != TaskStatus.PENDING_COSIGN or task.officer_id is None:
        raise not_pending()
    if task.officer_id == officer_id:
        raise Conflict("officer_already_named", "该记录已注明此执法人员", "the record already names this officer")
    officer = _available(session, officer_id, task.command_agency_id)
    previous = task.officer_id
    # Guarded on what was read: a co-signature or another reassignment that lands first wins.
    moved = session.execute(
        update(Task).where(Task.id == task.id, Task.status == TaskStatus.PENDING_COSIGN,
                           Task.officer_id == previous)
        .values(officer_id=officer.id).execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise not_pending()
    session.refresh(task)
    step = TaskReassignment(task_id=task.id, from_officer_id=previous, to_officer_id=officer.id,
                            actor_id=actor.id, reason=reason)
    session.add(step)
    audit.record(session, task, "task.reassigned", actor_id=actor.id)
    audit.record(session, step, "task.reassigned", actor_id=actor.id)
    return task, step
