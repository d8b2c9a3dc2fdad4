"""Offline sync: a phone sends what it recorded while off the network, and learns the fate of each record.

Records are validated one by one, so one malformed record is answered as an error of its own and never
sinks the batch.
"""

import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from api.domain.errors import DomainError
from api.domain.fieldwork.records import Sent, ShiftDraft, ShiftKind, TaskDraft
from schemas.shifts import CheckIn, ShiftEventRead
from schemas.tasks import TASK_EXAMPLE, TaskCreate, TaskRead

MAX_RECORDS = 500
Draft = TypeVar("Draft", TaskDraft, ShiftDraft)


class ShiftRecord(CheckIn):
    """A check-in or check-out as queued on the phone."""

    model_config = ConfigDict(extra="forbid")
    kind: ShiftKind

    def to_shift_draft(self) -> ShiftDraft:
        return self.to_draft(self.kind)


class SyncRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "tasks": [TASK_EXAMPLE],
                "shifts": [{"kind": "check_in", "id": "7e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b",
                            "at": "2026-11-26T08:58:00+08:00", "lat": 32.0409, "lon": 118.7841,
                            "accuracy_m": 12.5}],
            }
        },
    )
    tasks: list[dict[str, Any]] = Field(
        default_factory=list, max_length=MAX_RECORDS,
        description=f"up to {MAX_RECORDS} records, each shaped like the body of POST /api/tasks (TaskCreate)",
    )
    shifts: list[dict[str, Any]] = Field(
        default_factory=list, max_length=MAX_RECORDS,
        description=f"up to {MAX_RECORDS} check-ins and check-outs: a shift endpoint's body plus `kind`",
    )


class SyncProblem(BaseModel):
    code: str = Field(examples=["category_not_granted"])
    article: str | None = Field(None, examples=["第七条"])
    detail: str
    status: int = Field(examples=[422])
    errors: list[dict[str, str]] | None = Field(None, description="the bad fields of a malformed record")


SyncOutcome = Literal["created", "duplicate", "error"]


class TaskSyncResult(BaseModel):
    index: int = Field(description="position of the record in the request")
    id: uuid.UUID | str | None
    result: SyncOutcome
    record: TaskRead | None = None
    problem: SyncProblem | None = None


class ShiftSyncResult(BaseModel):
    index: int
    id: uuid.UUID | str | None
    result: SyncOutcome
    record: ShiftEventRead | None = None
    problem: SyncProblem | None = None


class SyncResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "tasks": [
                    {"index": 0, "id": "3f0c6a8e-5b1d-4c8e-9a57-2d1f0b6e7a10", "result": "created"},
                    {"index": 1, "id": "9b2e4c1a-7d3f-4e8b-a1c5-6f0d2e8b9c34", "result": "error",
                     "problem": {"code": "officer_required", "article": "第八条", "status": 422,
                                 "detail": "协助类工作须在执法人员指挥下开展，请注明执法人员"}},
                ],
                "shifts": [{"index": 0, "id": "7e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b", "result": "duplicate"}],
            }
        }
    )
    tasks: list[TaskSyncResult]
    shifts: list[ShiftSyncResult]


_ANSWER = TypeAdapter(dict[str, list[Any]])


def task_answer(index: int, id_: str | None, result: SyncOutcome, record: TaskRead | Mapping[str, Any] | None,
                problem: SyncProblem | None) -> dict[str, Any]:
    """A ``TaskSyncResult`` as plain values, in the order of its fields; ``record`` a model, or a new record's
    plain values (``schemas.tasks.new_task_answer``)."""
    return {"index": index, "id": id_, "result": result, "record": record, "problem": problem}


def sync_answer_json(tasks: list[dict[str, Any]], shifts: list[ShiftSyncResult]) -> bytes:
    """The JSON of ``SyncResponse(tasks=..., shifts=...)`` with the tasks given as ``task_answer`` values: one
    dump, with no model validated per record (a batch answers 500; the models cost more than the dump)."""
    return _ANSWER.dump_json({"tasks": tasks, "shifts": shifts})


def _raw_id(raw: Mapping[str, Any]) -> str | None:
    value = raw.get("id")
    # Echoed back as sent, so only text that can be written out again (a lone surrogate cannot).
    return value if isinstance(value, str) and len(value) <= 64 and value.isprintable() else None


def malformed(exc: ValidationError) -> DomainError:
    """A record that could not be read, answered as it would be on its own endpoint (422, each bad field)."""
    errors = [
        {"field": ".".join(str(p) for p in err["loc"]), "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]
    fields = ", ".join(e["field"] or "(record)" for e in errors)
    return DomainError(
        "validation_error", f"记录字段有误：{fields}", f"invalid fields: {fields}", errors=errors
    )


def _read(raws: Sequence[Mapping[str, Any]], read: Callable[[Mapping[str, Any]], Draft]) -> list[Sent[Draft]]:
    """Each record of a batch read on its own, so one malformed record never sinks the others."""
    sent: list[Sent[Draft]] = []
    for raw in raws:
        try:
            sent.append(Sent(_raw_id(raw), read(raw)))
        except ValidationError as exc:
            sent.append(Sent(_raw_id(raw), malformed(exc)))
    return sent


def read_tasks(raws: Sequence[Mapping[str, Any]]) -> list[Sent[TaskDraft]]:
    return _read(raws, lambda raw: TaskCreate.model_validate(raw).to_draft())


def read_shifts(raws: Sequence[Mapping[str, Any]]) -> list[Sent[ShiftDraft]]:
    return _read(raws, lambda raw: ShiftRecord.model_validate(raw).to_shift_draft())
