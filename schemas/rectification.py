"""Rectification orders of the justice bureau (第二十九条): the order, its steps, and the case behind it."""

import uuid
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.domain.oversight_tables import RectificationAction, RectificationStatusName
from schemas.common import StorableText
from schemas.tasks import AuxiliaryRef, ForbiddenFlagRead, Person

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), StorableText]
StatusName = RectificationStatusName


class RectificationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "instructions": "对下达罚款指标的做法立即纠正，对相关执法人员进行批评教育，并书面报告整改情况",
        "due_on": "2026-12-31"}})
    instructions: Text
    due_on: date = Field(description="the deadline, a Beijing calendar day; not before today")


class RectificationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "measures": "已撤销罚款指标，对王建国同志进行诫勉谈话，组织全体执法人员学习《办法》第十九条"}})
    measures: Text


class RectificationClose(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"note": "经核查，整改到位"}})
    note: Text | None = None


class RectificationReopen(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "reason": "答复未说明对相关执法人员的处理结果", "due_on": "2027-01-15"}})
    reason: Text
    due_on: date = Field(description="the new deadline, a Beijing calendar day; not before today")


class RectificationEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    action: RectificationAction
    from_status: StatusName | None
    to_status: StatusName
    text: str | None = Field(description="the instructions, measures, note or reason of the step")
    due_on: date | None
    actor_id: uuid.UUID
    created_at: datetime


class CaseSummary(BaseModel):
    """The Article 19 case the order is about."""

    id: uuid.UUID
    requested_by: Person
    auxiliary: AuxiliaryRef | None
    flags: list[ForbiddenFlagRead]
    created_at: datetime


_ORDER_EXAMPLE: dict[str, Any] = {
    "id": "5e6f7a8b-0000-4000-8000-00000000c029", "case_id": "0e9d8c7b-0000-4000-8000-0000000a1901",
    "agency_id": "8c1d7f5e-0000-4000-8000-000000000003", "agency_name": "玄武区新街口街道办事处",
    "status": "issued", "instructions": "对下达罚款指标的做法立即纠正，并书面报告整改情况", "due_on": "2026-12-31",
    "overdue": False, "measures": None, "answered_at": None, "closed_at": None,
    "issued_by": "1a2b3c4d-0000-4000-8000-0000000000c1", "created_at": "2026-12-01T02:00:00Z",
    "rules_version": "宁政发〔2021〕12号/2026.1",
    "case": {"id": "0e9d8c7b-0000-4000-8000-0000000a1901",
             "requested_by": {"id": "1a2b3c4d-0000-4000-8000-0000000000b2", "name": "王警官", "role": "officer"},
             "auxiliary": {"id": "6d1e0f2a-3b4c-4d5e-8f60-7a8b9c0d1e2f", "name": "李协管", "badge_no": "NJ8F3A"},
             "flags": [{"flag": "fine_quota", "article": "第十九条", "item": "（一）",
                        "name": "下达罚款、收费指标或将报酬与罚没款挂钩"}],
             "created_at": "2026-11-26T06:00:00Z"},
    "history": [{"action": "issue", "from_status": None, "to_status": "issued",
                 "text": "对下达罚款指标的做法立即纠正，并书面报告整改情况", "due_on": "2026-12-31",
                 "actor_id": "1a2b3c4d-0000-4000-8000-0000000000c1", "created_at": "2026-12-01T02:00:00Z"}],
}


class RectificationRead(BaseModel):
    """A rectification order (责令整改, 第二十九条) with its case and every step so far."""

    model_config = ConfigDict(json_schema_extra={"example": _ORDER_EXAMPLE})
    id: uuid.UUID
    case_id: uuid.UUID
    agency_id: uuid.UUID = Field(description="the agency ordered to rectify: whose staff asked for the work")
    agency_name: str
    status: StatusName
    instructions: str
    due_on: date
    overdue: bool = Field(description="still waiting for the agency's answer after `due_on` (Beijing time)")
    measures: str | None = Field(description="the agency's latest answer")
    answered_at: datetime | None
    closed_at: datetime | None
    issued_by: uuid.UUID
    created_at: datetime
    rules_version: str
    case: CaseSummary
    history: list[RectificationEventRead] = Field(description="every step, oldest first")
