"""Recording a task (第七条、第八条) and correcting it with a new version (第十条(三)); its co-signature is in
cosign.py.

The checks run in a fixed order, each refusal naming its article:
    forbidden work (第十九条)  →  required citation (第七条(六) / 第八条(六))  →  category granted (第七条)
    →  officer named (第八条)  →  officer available (第八条)
A task is never deleted and only its ``status`` ever changes, by a guarded UPDATE, so two decisions racing
on one record give one winner.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, false, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from api.domain.access import visible_agencies
from api.domain.audit import log as audit
from api.domain.duties import DUTY_BY_CODE, Duty, TaskMode
from api.domain.errors import Conflict, DomainError, NotFound, RuleViolation
from api.domain.fieldwork.article19 import forbidden_work, open_article19_case
from api.domain.fieldwork.context import FieldContext, available_officer
from api.domain.fieldwork.phone_ids import content_hash, insert_logged_once, same_or_conflict
from api.domain.fieldwork.records import TaskDraft
from api.domain.fieldwork.timing import check_work_times, recorded_before_suspension
from api.domain.models import (
    Auxiliary,
    Cosignature,
    Evidence,
    Officer,
    Role,
    Task,
    TaskReassignment,
    TaskStatus,
    User,
)

# A duty whose record must cite a document (Duty.requires): the refusal when the citation is missing.
CITATION_REQUIRED: dict[str, tuple[str, str, str, str]] = {
    "assignment_ref": (
        "assignment_required", "第七条",
        "交办事项须注明行政执法机关的书面交办依据", "assigned work must cite the agency's written assignment",
    ),
    "legal_basis": (
        "legal_basis_required", "第八条",
        "其他辅助执法工作须注明法律、法规、规章依据",
        "other statutory assisting work must cite its legal basis",
    ),
}


@dataclass(frozen=True)
class Scope:
    duty: Duty
    officer: Officer | None
    recorded_before_suspension: bool = False


def check_task_scope(session: Session, fc: FieldContext, payload: TaskDraft) -> Scope:
    """Whether this auxiliary may record this task at all, and with whom. Forbidden work first: its
    refusal is kept as an Article 19 case (the caller commits it although the request fails)."""
    flags = payload.flags.raised()
    if flags:
        case = open_article19_case(
            session, fc, attempt_id=payload.id, flags=flags, request=payload.content(),
            officer_id=payload.officer_id,
        )
        raise forbidden_work(flags, case)
    duty = DUTY_BY_CODE[payload.category]
    if duty.requires is not None and not (getattr(payload, duty.requires) or "").strip():
        raise RuleViolation(*CITATION_REQUIRED[duty.requires])
    if not duty.assisted and duty.code not in fc.aux.categories:
        raise RuleViolation(
            "category_not_granted", "第七条",
            f"未获授权独立从事该类工作：{duty.name_zh}",
            f"this independent duty was not granted: {duty.name_en}",
        )
    if duty.assisted and payload.officer_id is None:
        raise RuleViolation(
            "officer_required", "第八条",
            "协助类工作须在执法人员指挥下开展，请注明执法人员",
            "assisted duties need the directing officer named",
        )
    officer = None
    if payload.officer_id is not None:
        officer = available_officer(session, fc, payload.officer_id)
        if officer is None:
            raise RuleViolation(
                "officer_not_available", "第八条",
                "所注明的执法人员不存在、已停用或不属于指挥本人的机关",
                "the officer named is unknown, inactive, or not of the agency that commands this auxiliary",
            )
    return Scope(duty, officer)


def admit_task(session: Session, fc: FieldContext, payload: TaskDraft, *, earliest: datetime | None = None) -> Scope:
    """Every check a new record passes, in order: believable times, a credential valid when the work was done
    (第二十三条, flagged when received after a suspension), then the task's scope."""
    end = ("ended_at", payload.ended_at) if payload.ended_at is not None else None
    check_work_times(fc, start=("started_at", payload.started_at), end=end, earliest=earliest)
    flagged = recorded_before_suspension(session, fc, payload.started_at)
    return replace(check_task_scope(session, fc, payload), recorded_before_suspension=flagged)


def task_digest(payload: TaskDraft, corrects_id: uuid.UUID | None) -> str:
    return content_hash({**payload.content(), "corrects_id": corrects_id})


def new_task(fc: FieldContext, payload: TaskDraft, scope: Scope, digest: str, *, version: int = 1,
             corrects_id: uuid.UUID | None = None) -> Task:
    return Task(**new_task_values(fc, payload, scope, digest, version=version, corrects_id=corrects_id))


def new_task_values(fc: FieldContext, payload: TaskDraft, scope: Scope, digest: str, *, version: int = 1,
                    corrects_id: uuid.UUID | None = None) -> dict[str, Any]:
    """The columns a new record is given, by attribute (those left out take their defaults): a ``Task``'s, or a
    row inserted as plain values (a sync batch's new records)."""
    assisted = scope.duty.mode == TaskMode.ASSISTED
    return {
        "id": payload.id,
        "auxiliary_id": fc.aux.id,
        "agency_id": fc.aux.agency_id,
        "command_agency_id": fc.aux.commanding_agency_id,
        "category": scope.duty.code,
        "mode": scope.duty.mode,
        "status": TaskStatus.PENDING_COSIGN if assisted else TaskStatus.RECORDED,
        "description": payload.description,
        "started_at": payload.started_at.astimezone(UTC),
        "ended_at": payload.ended_at.astimezone(UTC) if payload.ended_at else None,
        "lat": payload.lat,
        "lon": payload.lon,
        # A patrol outside its zone is recorded and flagged, never refused: GPS drifts. The phone sends no
        # accuracy with a task, so a position within a few metres of an edge is left undecided.
        "in_zone": fc.in_zone(lat=payload.lat, lon=payload.lon),
        "officer_id": scope.officer.id if scope.officer else None,
        "assignment_ref": payload.assignment_ref,
        "legal_basis": payload.legal_basis,
        "corrects_id": corrects_id,
        "version": version,
        "recorded_by": fc.user.id,
        "content_hash": digest,
        "recorded_before_suspension": scope.recorded_before_suspension,
    }


def _stored(session: Session, fc: FieldContext, payload: TaskDraft, digest: str) -> Task | None:
    """The stored record if this is a retry, recognised before any rule runs."""
    existing = session.get(Task, payload.id)
    return None if existing is None else same_or_conflict(existing, auxiliary_id=fc.aux.id, digest=digest)


def record_task(session: Session, fc: FieldContext, payload: TaskDraft) -> tuple[Task, bool]:
    """``record_new_task`` with a new record made an object of the session, as a record stored earlier is
    (a sync batch's records taken one by one: an id sent twice in the batch is then found in the session)."""
    recorded, created = record_new_task(session, fc, payload)
    if isinstance(recorded, Task):
        return recorded, created
    task = Task(**recorded)
    make_transient_to_detached(task)  # stored as it stands: nothing for the session to write or read back
    session.add(task)
    return task, created


def record_new_task(session: Session, fc: FieldContext, payload: TaskDraft) -> tuple[Task | dict[str, Any], bool]:
    """Record a task made on the phone: (the new record's columns as stored, True), or (the stored record,
    False) for a retry. A retry of a stored record is answered with it whatever the rules say now, so a phone
    that lost the first answer always gets its record back.

    The usual record is new, so the database is not asked for the stored one first: a retry the rules still
    admit meets the primary key (``insert_logged_once`` finds nothing inserted), and one they refuse is looked
    up before the refusal is given. Forbidden work keeps a case as it is refused, so there the lookup comes
    first; so it does when the session holds the record already (an id sent twice in one sync batch). A new
    record is stored and logged as plain values, with no ORM object (``insert_logged_once``: the same row and
    leaf, in one statement on PostgreSQL): a write makes one record and answers with it, and an object costs
    more to make than to store."""
    digest = task_digest(payload, None)
    in_session = session.identity_map.get(identity_key(Task, payload.id)) is not None
    if (in_session or payload.flags.raised()) and (stored := _stored(session, fc, payload, digest)) is not None:
        return stored, False
    try:
        scope = admit_task(session, fc, payload)
    except DomainError:
        if (stored := _stored(session, fc, payload, digest)) is not None:
            return stored, False
        raise
    row = insert_logged_once(session, new_task_values(fc, payload, scope, digest), model=Task,
                             action="task.recorded", actor_id=fc.user.id)
    if row is None:  # a retry, or the same record stored by a request racing this one
        existing = session.get(Task, payload.id, populate_existing=True)
        if existing is None:
            raise RuntimeError(f"tasks {payload.id}: the insert did nothing and no row is stored")
        return same_or_conflict(existing, auxiliary_id=fc.aux.id, digest=digest), False
    return row, True


def admitted_task_values(session: Session, fc: FieldContext, payload: TaskDraft) -> dict[str, Any]:
    """A new record's columns as ``record_new_task`` stores them, once the rules admit it (a refusal raises),
    for a caller that stores many at once (``insert_logged_new``). Forbidden work, a retry and a record the
    session holds are ``record_new_task``'s."""
    scope = admit_task(session, fc, payload)
    return new_task_values(fc, payload, scope, task_digest(payload, None))


def _already_superseded() -> Conflict:
    return Conflict(
        "already_superseded",
        "该记录已被更正，请更正其最新版本",
        "this record was already corrected; correct its newest version",
    )


def correct_task(
    session: Session, fc: FieldContext, *, task_id: uuid.UUID, payload: TaskDraft
) -> tuple[Task, bool]:
    """A new version of a record; the old one stays as it was, marked superseded (第十条(三)).

    Only the auxiliary who recorded it may correct it, and only with a credential valid now; the new version
    passes every check again (it may keep the time of the version it corrects, however old), and an assisted
    one goes back to its officer for co-signing.
    """
    old = session.get(Task, task_id)
    if old is None or old.auxiliary_id != fc.aux.id:
        raise NotFound("task", "任务记录")
    digest = task_digest(payload, old.id)
    stored = _stored(session, fc, payload, digest)
    if stored is not None:
        return stored, False
    fc.require_active_credential()
    scope = admit_task(session, fc, payload, earliest=old.started_at)
    new = new_task(fc, payload, scope, digest, version=old.version + 1, corrects_id=old.id)
    try:
        with session.begin_nested():
            superseded = session.execute(
                update(Task)
                .where(Task.id == old.id, Task.status != TaskStatus.SUPERSEDED)
                .values(status=TaskStatus.SUPERSEDED)
                .execution_options(synchronize_session=False)
            )
            if superseded.rowcount != 1:  # type: ignore[attr-defined]
                raise _already_superseded()
            session.add(new)
            session.flush()
    except (IntegrityError, Conflict) as exc:
        # Lost a race: either this very correction was stored meanwhile, or another one was.
        stored = session.get(Task, payload.id, populate_existing=True)
        if stored is not None:
            return same_or_conflict(stored, auxiliary_id=fc.aux.id, digest=digest), False
        if isinstance(exc, Conflict):
            raise
        raise _already_superseded() from None
    session.refresh(old)
    audit.record(session, old, "task.superseded", actor_id=fc.user.id)
    audit.record(session, new, "task.corrected", actor_id=fc.user.id)
    return new, True


# Who sees which records: the recorder, the named officer, the agencies that employ or command the
# auxiliary (第五条), and the justice bureau.


def task_visibility(session: Session, user: User) -> ColumnElement[bool]:
    scope = visible_agencies(user)
    if scope.any:
        return scope.where(Task.agency_id, Task.command_agency_id)
    if user.role == Role.AUXILIARY:
        aux_id = session.scalar(select(Auxiliary.id).where(Auxiliary.user_id == user.id))
        return Task.auxiliary_id == aux_id if aux_id else false()
    if user.role == Role.OFFICER:
        officer_id = session.scalar(select(Officer.id).where(Officer.user_id == user.id))
        return Task.officer_id == officer_id if officer_id else false()
    return false()


def visible_task(session: Session, user: User, task_id: uuid.UUID) -> Task:
    """The task if the caller may see it; 404 otherwise, so its existence stays unsaid."""
    task = session.scalar(select(Task).where(Task.id == task_id, task_visibility(session, user)))
    if task is None:
        raise NotFound("task", "任务记录")
    return task


def tasks_query(
    session: Session, user: User, *, status: str | None, category: str | None, since: datetime | None
) -> Select[Task]:
    stmt = select(Task).where(task_visibility(session, user))
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if category is not None:
        stmt = stmt.where(Task.category == category)
    if since is not None:
        stmt = stmt.where(Task.created_at >= since)
    return stmt


@dataclass(frozen=True)
class Recorder:
    """Whose record it is: a list may mix several auxiliaries' records (an officer's queue)."""

    id: uuid.UUID
    name: str
    badge_no: str

    @classmethod
    def of(cls, aux: Auxiliary) -> "Recorder":
        return cls(aux.id, aux.name, aux.badge_no)


@dataclass(frozen=True)
class TaskBundle:
    """A task with what hangs off it: its co-signature, its evidence, the version that corrects it, the
    officers it was handed from and to while it waited for a co-signature, and the auxiliary whose it is."""

    task: Task
    cosignature: Cosignature | None
    evidence: list[Evidence]
    superseded_by: uuid.UUID | None
    reassignments: list[TaskReassignment] = field(default_factory=list)
    auxiliary: Recorder | None = None


def bundle_tasks(session: Session, tasks: Sequence[Task]) -> list[TaskBundle]:
    """Five queries for a whole page, however long."""
    ids = [t.id for t in tasks]
    if not ids:
        return []
    recorders = {row[0]: Recorder(*row) for row in session.execute(
        select(Auxiliary.id, Auxiliary.name, Auxiliary.badge_no)
        .where(Auxiliary.id.in_({t.auxiliary_id for t in tasks})))}
    cosigs = {c.task_id: c for c in session.scalars(select(Cosignature).where(Cosignature.task_id.in_(ids)))}
    evidence: dict[uuid.UUID, list[Evidence]] = {}
    stmt = select(Evidence).where(Evidence.task_id.in_(ids)).order_by(Evidence.created_at)
    for ev in session.scalars(stmt):
        evidence.setdefault(ev.task_id, []).append(ev)
    successors: dict[uuid.UUID | None, uuid.UUID] = {
        corrects_id: task_id
        for corrects_id, task_id in session.execute(
            select(Task.corrects_id, Task.id).where(Task.corrects_id.in_(ids))
        )
    }
    reassignments: dict[uuid.UUID, list[TaskReassignment]] = {}
    stmt_r = select(TaskReassignment).where(TaskReassignment.task_id.in_(ids)).order_by(
        TaskReassignment.created_at, TaskReassignment.id)
    for step in session.scalars(stmt_r):
        reassignments.setdefault(step.task_id, []).append(step)
    return [TaskBundle(t, cosigs.get(t.id), evidence.get(t.id, []), successors.get(t.id),
                       reassignments.get(t.id, []), recorders.get(t.auxiliary_id)) for t in tasks]
