"""Offline sync: a batch of records from one phone, each stored, recognised as a duplicate, or refused on
its own. Every record runs in its own savepoint, so a refused one never takes the others with it; a
forbidden-work refusal keeps its Article 19 case, as it does outside a batch.

The auxiliary, their credential, the officers named and the records already stored are loaded once per
batch, not once per record.
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.errors import DomainError
from api.domain.fieldwork import FieldContext, load_officers, record_shift_event, serialize_writes
from api.domain.models import ShiftEvent, Task
from api.domain.tasks import record_task
from schemas.sync import ShiftRecord
from schemas.tasks import TaskCreate

Outcome = Literal["created", "duplicate", "error"]
Row = TypeVar("Row", Task, ShiftEvent)
Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class SyncItem(Generic[Row]):
    index: int
    id: str | None
    result: Outcome
    record: Row | None = None
    problem: DomainError | None = None


def _raw_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("id")
    # Echoed back as sent, so only text that can be written out again (a lone surrogate cannot).
    return value if isinstance(value, str) and len(value) <= 64 and value.isprintable() else None


def malformed(exc: ValidationError) -> DomainError:
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    fields = ", ".join(e["field"] or "(record)" for e in errors)
    return DomainError(
        "validation_error", f"记录字段有误：{fields}", f"invalid fields: {fields}", errors=errors
    )


def _parse(model: type[Model], raws: Sequence[Mapping[str, Any]]) -> list[Model | DomainError]:
    parsed: list[Model | DomainError] = []
    for raw in raws:
        try:
            parsed.append(model.model_validate(raw))
        except ValidationError as exc:
            parsed.append(malformed(exc))
    return parsed


def _run(
    session: Session,
    index: int,
    raw: Mapping[str, Any],
    item: Model | DomainError,
    store: Callable[[Model], tuple[Row, bool]],
) -> SyncItem[Row]:
    if isinstance(item, DomainError):
        return SyncItem(index, _raw_id(raw), "error", problem=item)
    savepoint = session.begin_nested()
    try:
        row, created = store(item)
    except DomainError as exc:
        # A refusal that is itself the record (an Article 19 case) keeps its writes, as outside a batch.
        if exc.keep_writes:
            savepoint.commit()
        else:
            savepoint.rollback()
        return SyncItem(index, _raw_id(raw), "error", problem=exc)
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
    tasks: Sequence[Mapping[str, Any]],
    shifts: Sequence[Mapping[str, Any]],
) -> SyncBatch:
    """Store a phone's queued records in the order sent: shifts first (a check-in usually precedes the
    work), then tasks."""
    parsed_tasks = _parse(TaskCreate, tasks)
    parsed_shifts = _parse(ShiftRecord, shifts)
    serialize_writes(session)
    good_tasks = [t for t in parsed_tasks if isinstance(t, TaskCreate)]
    good_shifts = [s for s in parsed_shifts if isinstance(s, ShiftRecord)]
    # Warm the identity map (which holds rows only while referenced): a record already stored is then
    # found without a query of its own.
    stored = [*_preload(session, Task, {t.id for t in good_tasks}),
              *_preload(session, ShiftEvent, {s.id for s in good_shifts})]
    load_officers(session, fc, {t.officer_id for t in good_tasks if t.officer_id is not None})

    def store_shift(record: ShiftRecord) -> tuple[ShiftEvent, bool]:
        return record_shift_event(session, fc, kind=record.kind, payload=record.model_dump(exclude={"kind"}))

    def store_task(record: TaskCreate) -> tuple[Task, bool]:
        return record_task(session, fc, record)

    shift_items = [
        _run(session, i, raw, p, store_shift)
        for i, (raw, p) in enumerate(zip(shifts, parsed_shifts, strict=True))
    ]
    task_items = [
        _run(session, i, raw, p, store_task)
        for i, (raw, p) in enumerate(zip(tasks, parsed_tasks, strict=True))
    ]
    del stored
    return SyncBatch(tasks=task_items, shifts=shift_items)


def _preload(session: Session, model: type[Task] | type[ShiftEvent], ids: set[uuid.UUID]) -> list[Any]:
    if not ids:
        return []
    return list(session.scalars(select(model).where(model.id.in_(ids))))
