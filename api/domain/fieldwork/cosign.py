"""The named officer's co-signature of an assisted record (第八条), and where the officer was when deciding.

An officer directs the auxiliary's assisted work on the spot (第八条) and answers for it (第二十五条). The
officer's phone sends its position with the decision; the co-signature keeps how far that was from the task's
position and how long after the work. A decision from farther than the threshold (``far_m``, setting
``cosign_far_metres``, 500 m by default) is flagged ``far_from_task``, and one without a position
``position_missing``: flags for oversight, never refusals, for the officer's decision stands.

One decision per record: the status moves only from ``pending_cosign``, by a guarded UPDATE, and the
co-signature is unique per task.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.base import utcnow
from api.domain.errors import Conflict, Forbidden, NotFound
from api.domain.fieldwork.context import current_officer
from api.domain.fieldwork.geo import distance_m
from api.domain.models import Cosignature, Task, TaskStatus, User

FAR_M = 500.0


@dataclass(frozen=True)
class OfficerPosition:
    """Where the officer's phone was when the decision was made."""

    lat: float
    lon: float
    accuracy_m: float | None = None


def not_pending() -> Conflict:
    return Conflict(
        "not_pending_cosign", "该记录不在待会签状态", "this record is not awaiting a co-signature"
    )


def _cosignature(task: Task, officer_id: uuid.UUID, *, approve: bool, note: str | None,
                 position: OfficerPosition | None, far_m: float) -> Cosignature:
    now = utcnow()
    distance = None if position is None else round(distance_m(position.lat, position.lon, task.lat, task.lon), 1)
    return Cosignature(
        task_id=task.id, officer_id=officer_id, decision="approve" if approve else "reject", note=note,
        lat=position.lat if position else None, lon=position.lon if position else None,
        accuracy_m=position.accuracy_m if position else None,
        distance_m=distance,
        seconds_after_task=int((now - (task.ended_at or task.started_at)).total_seconds()),
        far_from_task=distance is not None and distance > far_m,
        position_missing=position is None,
        created_at=now,
    )


def cosign_task(
    session: Session,
    *,
    user: User,
    task_id: uuid.UUID,
    approve: bool,
    note: str | None,
    position: OfficerPosition | None,
    far_m: float = FAR_M,
) -> tuple[Task, Cosignature]:
    """The named officer approves or rejects an assisted record (第八条)."""
    officer = current_officer(session, user)
    task = session.get(Task, task_id)
    if task is None:
        raise NotFound("task", "任务记录")
    if task.officer_id != officer.id:
        raise Forbidden(
            "not_named_officer",
            "只有记录中注明的执法人员可以会签",
            "only the officer named on the record may co-sign",
            article="第八条",
        )
    if not (officer.active and user.active):
        raise Forbidden(
            "officer_not_available", "执法人员已停用，不能会签", "an inactive officer cannot co-sign",
            article="第八条",
        )
    if task.status != TaskStatus.PENDING_COSIGN:
        raise not_pending()
    decided = TaskStatus.COSIGNED if approve else TaskStatus.REJECTED
    cosignature = _cosignature(task, officer.id, approve=approve, note=note, position=position, far_m=far_m)
    try:
        with session.begin_nested():
            # Guarded on the officer too: a reassignment that lands first takes the record from this one.
            moved = session.execute(
                update(Task)
                .where(Task.id == task.id, Task.status == TaskStatus.PENDING_COSIGN, Task.officer_id == officer.id)
                .values(status=decided)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                raise not_pending()
            session.add(cosignature)
            session.flush()
    except IntegrityError:
        raise not_pending() from None
    session.refresh(task)
    audit.record(session, cosignature, "cosignature.created", actor_id=user.id)
    audit.record(session, task, f"task.{decided.value}", actor_id=user.id)
    return task, cosignature
