"""What a phone sends, as the domain reads it: a task draft (第七条、第八条), a shift event, and a record of a
sync batch that could not even be read. The HTTP layer parses and validates the JSON (``schemas.tasks``,
``schemas.sync``) and hands these over; the rules never see Pydantic.

``content()`` is the record as the phone made it, the input of its content hash: a retry is recognised by
it (``phone_ids.same_or_conflict``), so its shape must not change for records already stored.
"""

import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from api.domain.duties import DutyCode
from api.domain.errors import DomainError

ShiftKind = Literal["check_in", "check_out"]
Draft = TypeVar("Draft", "TaskDraft", "ShiftDraft")


@dataclass(frozen=True)
class TaskFlags:
    """What was asked of the auxiliary that 第十九条 forbids; any one true refuses the task."""

    in_officer_name: bool = False
    fine_quota: bool = False
    state_secret: bool = False
    needs_professional_qualification: bool = False

    def raised(self) -> list[str]:
        return [name for name, value in _plain(self).items() if value]


@dataclass(frozen=True)
class TaskDraft:
    """A task record as the phone made it, with the id the phone gave it."""

    id: uuid.UUID
    category: DutyCode
    description: str
    started_at: datetime
    ended_at: datetime | None
    lat: float
    lon: float
    officer_id: uuid.UUID | None = None
    assignment_ref: str | None = None
    legal_basis: str | None = None
    flags: TaskFlags = field(default_factory=TaskFlags)

    def content(self) -> dict[str, Any]:
        return {**_plain(self), "flags": _plain(self.flags)}


@dataclass(frozen=True)
class ShiftDraft:
    """A check-in or check-out as the phone made it."""

    id: uuid.UUID
    kind: ShiftKind
    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None

    def content(self) -> dict[str, Any]:
        return _plain(self)


def _plain(draft: object) -> dict[str, Any]:
    """``dataclasses.asdict`` one level deep, without its deep copies (a sync batch hashes hundreds of records):
    every value here is immutable."""
    names = _FIELD_NAMES.get(type(draft))
    if names is None:
        names = _FIELD_NAMES[type(draft)] = tuple(f.name for f in fields(draft))  # type: ignore[arg-type]
    return {name: getattr(draft, name) for name in names}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


@dataclass(frozen=True)
class Sent(Generic[Draft]):
    """One record of a sync batch: what the phone called it (echoed back as sent) and either the draft or
    why it could not be read (``validation_error`` with the bad fields)."""

    raw_id: str | None
    record: Draft | DomainError
