"""Offline sync: a batch of records from one phone, each stored, recognised as a duplicate, or refused on
its own. New tasks within the rules are stored together; every other record runs in its own savepoint, so
a refused one never takes the others with it; a forbidden-work refusal keeps its Article 19 case, as it
does outside a batch.

The auxiliary, their credential, the officers named and the records already stored are loaded once per
batch, not once per record.
"""

import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar, cast

from sqlalchemy import Uuid, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.errors import DomainError
from api.domain.fieldwork.context import FieldContext, load_officers, lock_auxiliary_of
from api.domain.fieldwork.phone_ids import insert_new, same_or_conflict
from api.domain.fieldwork.records import Sent, ShiftDraft, TaskDraft
from api.domain.fieldwork.shifts import record_shift_event
from api.domain.fieldwork.tasks import admit_task, new_task_values, record_task, task_digest
from api.domain.models import ShiftEvent, Task

Outcome = Literal["created", "duplicate", "error"]
Row = TypeVar("Row", Task, ShiftEvent)
Draft = TypeVar("Draft", TaskDraft, ShiftDraft)


@dataclass(frozen=True)
class SyncItem(Generic[Row]):
    index: int
    id: str | None
    result: Outcome
    record: Row | None = None
    problem: DomainError | None = None
    row: Mapping[str, Any] | None = None
    """A record this batch stored as plain values, with no ORM object (``record`` is None then): its columns
    as stored."""


def _run(
    session: Session, index: int, sent: Sent[Draft], store: Callable[[Draft], tuple[Row, bool]]
) -> SyncItem[Row]:
    if isinstance(sent.record, DomainError):
        return SyncItem(index, sent.raw_id, "error", problem=sent.record)
    savepoint = session.begin_nested()
    try:
        row, created = store(sent.record)
    except DomainError as exc:
        # A refusal that is itself the record (an Article 19 case) keeps its writes, as outside a batch.
        if exc.keep_writes:
            savepoint.commit()
        else:
            savepoint.rollback()
        return SyncItem(index, sent.raw_id, "error", problem=exc)
    savepoint.commit()
    return SyncItem(index, str(row.id), "created" if created else "duplicate", record=row)


@dataclass(frozen=True)
class SyncBatch:
    tasks: list[SyncItem[Task]]
    shifts: list[SyncItem[ShiftEvent]]


def sync_records(
    session: Session,
    fc: FieldContext,
    *,
    tasks: Sequence[Sent[TaskDraft]],
    shifts: Sequence[Sent[ShiftDraft]],
) -> SyncBatch:
    """Store a phone's queued records: shifts first (a check-in usually precedes the work), in the order of
    their times, as the phone made them (the shift rules follow time: shifts.py), then tasks in the order
    sent. Answers keep the order sent."""
    good_tasks = [t.record for t in tasks if isinstance(t.record, TaskDraft)]
    good_shifts = [s.record for s in shifts if isinstance(s.record, ShiftDraft)]
    # One query per kind for the whole batch. It warms the identity map (which holds rows only while
    # referenced), so a record already stored is found without a query of its own, and it tells which ids
    # are new, which nothing in the identity map can say without asking the database.
    stored_tasks = _preload(session, Task, {t.id for t in good_tasks})
    stored = [*stored_tasks, *_preload(session, ShiftEvent, {s.id for s in good_shifts})]
    load_officers(session, fc, {t.officer_id for t in good_tasks if t.officer_id is not None})

    def store_shift(record: ShiftDraft) -> tuple[ShiftEvent, bool]:
        return record_shift_event(session, fc, record)

    def store_task(record: TaskDraft) -> tuple[Task, bool]:
        return record_task(session, fc, record)

    if good_shifts and not fc.holds_lock:
        # Before any savepoint: rolling one back would release the lock.
        lock_auxiliary_of(session, fc.user)
        fc.holds_lock = True
    known = {t.id: t for t in stored_tasks}
    fast = {**_answer_stored(fc, tasks, known), **_store_new_tasks_at_once(session, fc, tasks, stored=set(known))}
    in_time_order = sorted(range(len(shifts)), key=lambda i: _made_at(shifts[i]))
    shift_items = sorted((_run(session, i, shifts[i], store_shift) for i in in_time_order), key=lambda s: s.index)
    task_items = [fast[i] if i in fast else _run(session, i, sent, store_task) for i, sent in enumerate(tasks)]
    del stored
    return SyncBatch(tasks=task_items, shifts=shift_items)


def _made_at(sent: Sent[ShiftDraft]) -> datetime:
    # A record that could not be read is answered where it stands; its time does not matter.
    return sent.record.at.astimezone(UTC) if isinstance(sent.record, ShiftDraft) else _BEFORE_ALL


_BEFORE_ALL = datetime.min.replace(tzinfo=UTC)


def _preload(session: Session, model: type[Task] | type[ShiftEvent], ids: set[uuid.UUID]) -> list[Any]:
    if not ids:
        return []
    # On PostgreSQL the ids go as one array parameter, not hundreds of placeholders to parse on both sides.
    wanted = (model.id == any_(bindparam("ids", list(ids), type_=ARRAY(Uuid)))
              if session.get_bind().dialect.name == "postgresql" else model.id.in_(ids))
    return list(session.scalars(select(model).where(wanted)))


def _answer_stored(fc: FieldContext, sent: Sequence[Sent[TaskDraft]], stored: dict[uuid.UUID, Task]
                   ) -> dict[int, SyncItem[Task]]:
    """Records stored before this batch, answered as ``record_task`` answers a retry (before any rule runs) from
    the batch's one query, without a savepoint each: nothing is written."""
    items: dict[int, SyncItem[Task]] = {}
    for i, s in enumerate(sent):
        if not isinstance(s.record, TaskDraft) or (task := stored.get(s.record.id)) is None:
            continue
        try:
            row = same_or_conflict(task, auxiliary_id=fc.aux.id, digest=task_digest(s.record, None))
        except DomainError as exc:
            items[i] = SyncItem(i, s.raw_id, "error", problem=exc)
        else:
            items[i] = SyncItem(i, str(row.id), "duplicate", record=row)
    return items


def _store_new_tasks_at_once(
    session: Session, fc: FieldContext, sent: Sequence[Sent[TaskDraft]], *, stored: set[uuid.UUID]
) -> dict[int, SyncItem[Task]]:
    """The common case of a sync: records never seen before, within the rules. They are checked one by one
    but stored with one INSERT and one audit append. Everything else (a retry, an id sent twice, forbidden
    work, a record another request is storing right now) is left to the record-by-record path."""
    drafts = [(i, s.record) for i, s in enumerate(sent) if isinstance(s.record, TaskDraft)]
    counts = Counter(p.id for _, p in drafts)
    candidates = [
        (i, p) for i, p in drafts
        if counts[p.id] == 1 and not p.flags.raised()
        and p.id not in stored  # ids the batch's one query found stored
    ]
    if not candidates or not fc.may_record:
        return {}
    items: dict[int, SyncItem[Task]] = {}
    rows: list[tuple[int, dict[str, Any]]] = []
    fc.locate_all((p.lat, p.lon) for _, p in candidates)
    for i, payload in candidates:
        try:
            scope = admit_task(session, fc, payload)
        except DomainError as exc:
            items[i] = SyncItem(i, sent[i].raw_id, "error", problem=exc)
            continue
        rows.append((i, new_task_values(fc, payload, scope, task_digest(payload, None))))
    if not rows:
        return items
    # Inserted in the order of their ids, whatever the order sent: two batches that share records then take
    # their row locks in one order, so the second waits for the first (and then finds its records stored)
    # instead of the two deadlocking.
    rows.sort(key=lambda row: cast(uuid.UUID, row[1]["id"]))
    # As plain values, not ORM objects: nothing later in the request needs them in the session, and an object
    # costs more to make than to store (its leaves are the same: audit.record_stored).
    savepoint = session.begin_nested()
    try:
        made = insert_new(session, [values for _, values in rows], model=Task)
    except IntegrityError:
        savepoint.rollback()  # another request stored one of these first: one by one, then
        return items
    audit.record_stored(session, Task, made, "task.recorded", actor_id=fc.user.id)
    savepoint.commit()
    for (i, _), values in zip(rows, made, strict=True):
        items[i] = SyncItem(i, str(values["id"]), "created", row=values)
    return items
