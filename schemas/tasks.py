"""Task records made on the phone (第七条、第八条), their co-signature, evidence, and refused attempts
(第十九条).

A task has no field for an amount fined, and the schema forbids extra fields, so none can be smuggled in
(第十九条(一)).
"""

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.domain.duties import FORBIDDEN_WORK, DutyCode
from api.domain.fieldwork import records
from api.domain.fieldwork.cosign import OfficerPosition
from api.domain.fieldwork.geo import MAX_ACCURACY_M
from api.domain.fieldwork.tasks import TaskBundle
from api.domain.oversight_tables import RectificationStatusName
from schemas.common import RECORDED_BEFORE_SUSPENSION, Instant, StorableText, StoredFlag

Description = Annotated[str, Field(min_length=1, max_length=4000), StorableText]
Reference = Annotated[str, Field(max_length=1000), StorableText]
Note = Annotated[str, Field(max_length=2000), StorableText]

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, examples=[32.0409])]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, examples=[118.7841])]
Accuracy = Annotated[float, Field(
    gt=0, le=MAX_ACCURACY_M, allow_inf_nan=False, examples=[12.5],
    description="the phone's accuracy radius in metres (0 < accuracy_m ≤ 10000): the fix is a circle this wide",
)]


class TaskFlags(BaseModel):
    """What was asked of the auxiliary that 第十九条 forbids. Any flag true refuses the task and keeps the
    attempt as an Article 19 case against whoever asked."""

    model_config = ConfigDict(extra="forbid")
    in_officer_name: bool = Field(False, description="asked to act in an officer's name (第十九条(三))")
    fine_quota: bool = Field(False, description="given a fine or fee quota (第十九条(一))")
    state_secret: bool = Field(False, description="enforcement work involving state secrets (第十九条(五))")
    needs_professional_qualification: bool = Field(
        False, description="work that needs a professional qualification (第十九条(四))"
    )

    def raised(self) -> list[str]:
        return [name for name, value in self.model_dump().items() if value]

    def to_domain(self) -> records.TaskFlags:
        # Read from the validated values, not dumped: a sync batch makes hundreds of drafts, most raising no
        # flag, and those share one (frozen) draft of none.
        values = self.__dict__
        return records.TaskFlags(**values) if any(values.values()) else _NO_FLAGS


_NO_FLAGS = records.TaskFlags()


TASK_EXAMPLE: dict[str, Any] = {
    "id": "3f0c6a8e-5b1d-4c8e-9a57-2d1f0b6e7a10",
    "category": "patrol",
    "description": "新街口商圈巡查，劝阻占道经营2起",
    "started_at": "2026-11-26T09:00:00+08:00",
    "ended_at": "2026-11-26T11:30:00+08:00",
    "lat": 32.0409,
    "lon": 118.7841,
}
ASSISTED_EXAMPLE: dict[str, Any] = {
    "id": "9b2e4c1a-7d3f-4e8b-a1c5-6f0d2e8b9c34",
    "category": "inspection",
    "description": "协助王警官对中山路餐饮店开展现场检查",
    "started_at": "2026-11-26T14:00:00+08:00",
    "lat": 32.0412,
    "lon": 118.7830,
    "officer_id": "5a7c2e90-1b3d-4f6a-8c2e-0d9f1a3b5c71",
}


class TaskCreate(BaseModel):
    """A task record as the phone made it, with the id the phone gave it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [TASK_EXAMPLE, ASSISTED_EXAMPLE]}
    )

    id: uuid.UUID = Field(description="made on the phone; sending it again is safe (see Offline sync)")
    category: DutyCode = Field(description="a duty of 第七条 (independent) or 第八条 (assisted)")
    description: Description
    started_at: Instant
    ended_at: Instant | None = None
    lat: Latitude
    lon: Longitude
    officer_id: uuid.UUID | None = Field(
        None, description="the directing officer; required for assisted duties"
    )
    assignment_ref: Reference | None = Field(
        None, description="the agency's written assignment, required for `assigned` (第七条(六))"
    )
    legal_basis: Reference | None = Field(
        None, description="the legal provision, required for `statutory_other` (第八条(六))"
    )
    flags: TaskFlags = Field(default_factory=TaskFlags)

    def to_draft(self) -> records.TaskDraft:
        return records.TaskDraft(**{**self.__dict__, "flags": self.flags.to_domain()})

    @model_validator(mode="after")
    def _ends_after_start(self) -> "TaskCreate":
        if self.ended_at is not None and self.ended_at < self.started_at:
            raise ValueError("ended_at is before started_at")
        return self


class CosignatureRead(BaseModel):
    """The officer's decision and where the officer was: flags for oversight (第二十五条), never refusals."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    officer_id: uuid.UUID
    decision: Literal["approve", "reject"]
    note: str | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None = Field(None, description="the officer's phone's accuracy radius, metres")
    distance_m: float | None = Field(
        None, description="metres between the officer and the task's position; null when the phone sent none")
    seconds_after_task: int | None = Field(
        None, description="from the end of the work (its start when it has no end) to the decision")
    far_from_task: StoredFlag = Field(False, description="the officer was farther from the task than the threshold "
                                                         "(500 m unless the service sets another)")
    position_missing: StoredFlag = Field(False, description="the officer's phone sent no position")
    created_at: datetime

    @model_validator(mode="after")
    def _no_position_is_missing(self) -> "CosignatureRead":
        # Co-signatures older than the flag say it by their empty position.
        if self.lat is None:
            self.position_missing = True
        return self


class EvidenceRead(BaseModel):
    """A stored evidence file. Its bytes never change; ``sha256`` is their hash."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                "id": "c1d2e3f4-0000-4000-8000-00000000e001",
                "task_id": "3f0c6a8e-5b1d-4c8e-9a57-2d1f0b6e7a10",
                "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                "bytes": 482113,
                "content_type": "image/jpeg",
                "filename": "scene.jpg",
                "created_at": "2026-11-26T09:12:00Z",
            }
        },
    )
    id: uuid.UUID
    task_id: uuid.UUID
    sha256: str
    bytes: int
    content_type: str
    filename: str | None
    uploaded_by: uuid.UUID
    created_at: datetime


class ReassignmentRead(BaseModel):
    """The agency named another officer to co-sign the record while it waited (POST /api/tasks/{id}/reassign)."""

    model_config = ConfigDict(from_attributes=True)
    from_officer_id: uuid.UUID
    to_officer_id: uuid.UUID
    actor_id: uuid.UUID = Field(description="the agency admin who named the new officer")
    reason: str | None
    created_at: datetime


class TaskReassign(BaseModel):
    """Another active officer of the commanding agency, to co-sign a record waiting for a co-signature."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "officer_id": "5a7c2e90-1b3d-4f6a-8c2e-0d9f1a3b5c71", "reason": "原会签执法人员已调离，账号停用"}})
    officer_id: uuid.UUID
    reason: Note | None = None


class AuxiliaryRef(BaseModel):
    id: uuid.UUID
    name: str
    badge_no: str


class TaskRead(BaseModel):
    """A task record as stored, with its co-signature, evidence and place in the version chain."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "example": {
                **TASK_EXAMPLE,
                "started_at": "2026-11-26T01:00:00Z",
                "ended_at": "2026-11-26T03:30:00Z",
                "auxiliary_id": "6d1e0f2a-3b4c-4d5e-8f60-7a8b9c0d1e2f",
                "agency_id": "8c1d7f5e-0000-4000-8000-000000000002",
                "command_agency_id": "8c1d7f5e-0000-4000-8000-000000000003",
                "mode": "independent",
                "status": "recorded",
                "in_zone": True,
                "officer_id": None,
                "assignment_ref": None,
                "legal_basis": None,
                "version": 1,
                "corrects_id": None,
                "superseded_by": None,
                "recorded_by": "1a2b3c4d-0000-4000-8000-0000000000a1",
                "created_at": "2026-11-26T03:31:02Z",
                "rules_version": "宁政发〔2021〕12号/2026.1",
                "recorded_before_suspension": False,
                "cosigned_at": None,
                "cosignature": None,
                "evidence": [],
                "reassignments": [],
                "auxiliary": {"id": "6d1e0f2a-3b4c-4d5e-8f60-7a8b9c0d1e2f", "name": "李协管", "badge_no": "NJ8F3A"},
            }
        },
    )
    id: uuid.UUID
    auxiliary_id: uuid.UUID
    agency_id: uuid.UUID
    command_agency_id: uuid.UUID
    category: str
    mode: Literal["independent", "assisted"]
    status: Literal["recorded", "pending_cosign", "cosigned", "rejected", "superseded"]
    description: str
    started_at: datetime
    ended_at: datetime | None
    lat: float
    lon: float
    in_zone: bool | None = Field(description=(
        "true: the position lies inside the auxiliary's zones; false: outside; null: within a few metres of an "
        "edge (a task carries no accuracy), or the auxiliary has no zones"))
    officer_id: uuid.UUID | None
    assignment_ref: str | None
    legal_basis: str | None
    version: int
    corrects_id: uuid.UUID | None = Field(description="the version this one corrects")
    superseded_by: uuid.UUID | None = Field(None, description="the version that corrects this one")
    recorded_by: uuid.UUID
    created_at: datetime
    rules_version: str = Field(description="the rule set the record was judged by")
    recorded_before_suspension: StoredFlag = Field(False, description=RECORDED_BEFORE_SUSPENSION)
    cosigned_at: datetime | None = None
    cosignature: CosignatureRead | None = None
    evidence: list[EvidenceRead] = Field(default_factory=list)
    reassignments: list[ReassignmentRead] = Field(
        default_factory=list, description="the officers the record was handed from and to, oldest first")
    auxiliary: AuxiliaryRef = Field(description="whose record it is (`auxiliary_id`), with their name and badge "
                                                "number: an officer's queue mixes several auxiliaries' records")


# What task_read takes from the bundle rather than from the task's own columns.
_FROM_BUNDLE = frozenset({"superseded_by", "cosignature", "cosigned_at", "evidence", "reassignments", "auxiliary"})
_FROM_TASK = tuple(name for name in TaskRead.model_fields if name not in _FROM_BUNDLE)


def task_read(bundle: TaskBundle) -> TaskRead:
    """A task and what hangs off it, as the API shows it."""
    task, aux = bundle.task, bundle.auxiliary
    if aux is None:
        raise ValueError(f"task {task.id}: bundled without its auxiliary")
    cosignature = CosignatureRead.model_validate(bundle.cosignature) if bundle.cosignature else None
    return TaskRead.model_validate({
        **{name: getattr(task, name) for name in _FROM_TASK},
        "superseded_by": bundle.superseded_by,
        "cosignature": cosignature,
        "cosigned_at": cosignature.created_at if cosignature else None,
        "evidence": [EvidenceRead.model_validate(e) for e in bundle.evidence],
        "reassignments": [ReassignmentRead.model_validate(r) for r in bundle.reassignments],
        "auxiliary": AuxiliaryRef(id=aux.id, name=aux.name, badge_no=aux.badge_no),
    })


_NOTHING_YET: dict[str, Any] = {"superseded_by": None, "cosignature": None, "cosigned_at": None, "evidence": [],
                                "reassignments": []}
_IN_ORDER = dict.fromkeys(TaskRead.model_fields)


def new_task_read(row: Mapping[str, Any], auxiliary: AuxiliaryRef) -> TaskRead:
    """A task stored this instant, from its columns as stored (no ORM object): ``task_read`` of it bundled with
    nothing, since nothing hangs off it yet."""
    return TaskRead.model_validate(new_task_answer(row, auxiliary))


def new_task_answer(row: Mapping[str, Any], auxiliary: AuxiliaryRef) -> dict[str, Any]:
    """``new_task_read`` as plain values in the order of its fields, for a JSON dump with no model made (a sync
    batch answers hundreds of records): dumped, the same JSON as the model."""
    return {**_IN_ORDER, **{name: row[name] for name in _FROM_TASK}, **_NOTHING_YET, "auxiliary": auxiliary}


class CosignCreate(BaseModel):
    """The named officer's decision on an assisted record (第八条), with the officer's phone's position."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"decision": "approve", "note": "现场检查属实", "lat": 32.0411, "lon": 118.7832,
                        "accuracy_m": 8.0}
        },
    )
    decision: Literal["approve", "reject"]
    note: Note | None = None
    lat: Latitude | None = Field(None, description="the officer's position: with `lon`, or neither")
    lon: Longitude | None = None
    accuracy_m: Accuracy | None = None

    @model_validator(mode="after")
    def _whole_position(self) -> "CosignCreate":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together, or neither")
        if self.accuracy_m is not None and self.lat is None:
            raise ValueError("accuracy_m without a position")
        return self

    def position(self) -> OfficerPosition | None:
        if self.lat is None or self.lon is None:
            return None
        return OfficerPosition(lat=self.lat, lon=self.lon, accuracy_m=self.accuracy_m)


class Person(BaseModel):
    id: uuid.UUID
    name: str
    role: str


class ForbiddenFlagRead(BaseModel):
    flag: str
    article: str = Field(examples=["第十九条"])
    item: str = Field(examples=["（三）"])
    name: str = Field(examples=["以行政执法人员名义从事执法活动"])


def forbidden_flags(flags: list[str]) -> list[ForbiddenFlagRead]:
    """A case's flags, each with its item of 第十九条 and its Chinese name."""
    by_name = {f.flag: f for f in FORBIDDEN_WORK}
    return [ForbiddenFlagRead(flag=f, article="第十九条", item=by_name[f].item, name=by_name[f].name_zh)
            for f in flags if f in by_name]


class RectificationRef(BaseModel):
    """Where the rectification order of a case stands (第二十九条; POST /api/article19-cases/{id}/rectification)."""

    id: uuid.UUID
    status: RectificationStatusName
    due_on: date
    overdue: bool = Field(description="past `due_on` (Beijing time) with the agency's answer still owed")


class Article19CaseRead(BaseModel):
    """A refused attempt to make an auxiliary do forbidden work (第十九条), kept for the justice bureau
    (第二十九条)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "id": "0e9d8c7b-0000-4000-8000-0000000a1901",
                "attempt_id": "3f0c6a8e-5b1d-4c8e-9a57-2d1f0b6e7a10",
                "agency_id": "8c1d7f5e-0000-4000-8000-000000000003",
                "requested_by": {"id": "1a2b3c4d-0000-4000-8000-0000000000b2", "name": "王警官",
                                 "role": "officer"},
                "reported_by": {"id": "1a2b3c4d-0000-4000-8000-0000000000a1", "name": "李协管",
                                "role": "auxiliary"},
                "auxiliary": {"id": "6d1e0f2a-3b4c-4d5e-8f60-7a8b9c0d1e2f", "name": "李协管",
                              "badge_no": "NJ8F3A"},
                "flags": [{"flag": "in_officer_name", "article": "第十九条", "item": "（三）",
                           "name": "以行政执法人员名义从事执法活动"}],
                "request": {**ASSISTED_EXAMPLE, "flags": {"in_officer_name": True}},
                "created_at": "2026-11-26T06:00:00Z",
                "rules_version": "宁政发〔2021〕12号/2026.1",
                "rectification": {"id": "5e6f7a8b-0000-4000-8000-00000000c029", "status": "issued",
                                  "due_on": "2026-12-31", "overdue": False},
            }
        }
    )
    id: uuid.UUID
    attempt_id: uuid.UUID | None
    agency_id: uuid.UUID
    requested_by: Person
    reported_by: Person
    auxiliary: AuxiliaryRef | None
    flags: list[ForbiddenFlagRead]
    request: dict[str, object]
    created_at: datetime
    rules_version: str = Field(description="the rule set the refusal was judged by")
    rectification: RectificationRef | None = Field(None, description="the order the case led to, if any")
