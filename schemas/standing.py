"""A person's standing (第二十一条、第二十二条、第二十六条、第二十八条): assessments, terms of employment,
commendations and sanctions, as sent by an agency's desk and read back."""

import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.domain.complaints.catalogue import ActionCode
from api.domain.staff.assessments import PERIOD_PATTERN, AssessmentGrade
from api.domain.staff.status import RecoverableItem
from schemas.auxiliaries import AuxiliaryStatusName
from schemas.common import StorableText

_AUX = "0b7d1f4e-8f55-4a0e-9d0c-0d6a3d0e2c77"
_AGENCY = "8c1d7f5e-0000-4000-8000-000000000002"
_ADMIN = "5a0c7c1e-2b1a-4a55-9a57-3f2f6b1d0a11"
_WHEN = "2026-12-20T02:00:00Z"
Score = Annotated[int, Field(ge=0, le=100)]
Reason = Annotated[str, Field(min_length=1, max_length=2000), StorableText]


class Scores(BaseModel):
    """第二十一条's four heads of assessment, 0 to 100 each."""

    model_config = ConfigDict(extra="forbid")
    discipline: Score = Field(description="遵章守纪")
    performance: Score = Field(description="工作绩效")
    conduct: Score = Field(description="行为规范")
    training: Score = Field(description="教育培训")


class AssessmentCreate(BaseModel):
    model_config = ConfigDict(
        str_strip_whitespace=True,
        json_schema_extra={"example": {"period": "2026-H1", "grade": "competent",
                                       "scores": {"discipline": 90, "performance": 84, "conduct": 88,
                                                  "training": 80},
                                       "note": "全年无投诉，巡查台账完整"}},
    )
    period: str = Field(pattern=PERIOD_PATTERN, description="a year `2026`, a half `2026-H1` or a quarter `2026-Q3`")
    grade: AssessmentGrade
    scores: Scores
    note: Annotated[str, Field(max_length=2000), StorableText] | None = None


class AssessmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": {
        "id": "3b241101-e2bb-4255-8caf-4136c566a962", "auxiliary_id": _AUX, "agency_id": _AGENCY,
        "period": "2026-H1", "period_starts_on": "2026-01-01", "period_ends_on": "2026-06-30",
        "grade": "competent", "scores": {"discipline": 90, "performance": 84, "conduct": 88, "training": 80},
        "note": "全年无投诉，巡查台账完整", "recorded_by": _ADMIN, "rules_version": "宁政发〔2021〕12号/2026.1",
        "created_at": _WHEN}})
    id: uuid.UUID
    auxiliary_id: uuid.UUID
    agency_id: uuid.UUID = Field(description="the agency that assessed: the employer, or the commanding street")
    period: str
    period_starts_on: date
    period_ends_on: date
    grade: AssessmentGrade
    scores: Scores
    note: str | None
    recorded_by: uuid.UUID
    rules_version: str
    created_at: datetime


class ContractCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra={"example": {"starts_on": "2027-03-01", "ends_on": "2029-02-28"}})
    starts_on: date
    ends_on: date = Field(description="the term's last day, included")

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> "ContractCreate":
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class ContractRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": {
        "id": "6f2d3c10-6a57-4c1e-9a0b-2f5c8d7e9a10", "auxiliary_id": _AUX, "agency_id": _AGENCY, "sequence": 2,
        "starts_on": "2027-03-01", "ends_on": "2029-02-28", "renewal_of_id": "1c2d3c10-6a57-4c1e-9a0b-2f5c8d7e9a10",
        "assessment_id": "3b241101-e2bb-4255-8caf-4136c566a962", "recorded_by": _ADMIN,
        "rules_version": "宁政发〔2021〕12号/2026.1", "created_at": _WHEN}})
    id: uuid.UUID
    auxiliary_id: uuid.UUID
    agency_id: uuid.UUID
    sequence: int = Field(description="the n-th term recorded for the person")
    starts_on: date
    ends_on: date
    renewal_of_id: uuid.UUID | None = Field(description="the term this one renews (第二十一条)")
    assessment_id: uuid.UUID | None = Field(description="the assessment of the ending term the renewal rests on")
    recorded_by: uuid.UUID
    rules_version: str
    created_at: datetime


class CommendationCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, json_schema_extra={"example": {
        "kind": "嘉奖", "reason": "暴雨夜协助疏散新街口地下通道群众", "awarded_on": "2026-07-20"}})
    kind: Annotated[str, Field(min_length=1, max_length=40), StorableText] = Field(
        description="the agency's name for it: 嘉奖、记功、优秀辅助人员 ...")
    reason: Reason
    awarded_on: date


class CommendationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": {
        "id": "7a2d3c10-6a57-4c1e-9a0b-2f5c8d7e9a10", "auxiliary_id": _AUX, "agency_id": _AGENCY, "kind": "嘉奖",
        "reason": "暴雨夜协助疏散新街口地下通道群众", "awarded_on": "2026-07-20", "recorded_by": _ADMIN,
        "rules_version": "宁政发〔2021〕12号/2026.1", "created_at": _WHEN}})
    id: uuid.UUID
    auxiliary_id: uuid.UUID
    agency_id: uuid.UUID
    kind: str
    reason: str
    awarded_on: date
    recorded_by: uuid.UUID
    rules_version: str
    created_at: datetime


class SanctionCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, json_schema_extra={"examples": [
        {"action": "criticism", "reason": "巡查中与摊主发生争执，言语不文明"},
        {"action": "dismissal", "reason": "索要财物，查证属实", "items_recovered": ["credential", "badge"]},
    ]})
    action: ActionCode
    reason: Reason
    complaint_id: uuid.UUID | None = Field(
        default=None, description="the complaint whose resolution this carries out (resolved with this action)")
    items_recovered: list[RecoverableItem] = Field(
        default_factory=list, max_length=4,
        description="for a dismissal: what was already taken back (第二十七条); the rest is still to recover")


class SanctionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": {
        "id": "9c2d3c10-6a57-4c1e-9a0b-2f5c8d7e9a10", "auxiliary_id": _AUX, "agency_id": _AGENCY,
        "action": "dismissal", "action_name": "解除劳动关系或退回劳务派遣机构", "reason": "索要财物，查证属实",
        "complaint_id": None, "recorded_by": _ADMIN, "rules_version": "宁政发〔2021〕12号/2026.1",
        "created_at": _WHEN, "auxiliary_status": "dismissed"}})
    id: uuid.UUID
    auxiliary_id: uuid.UUID
    agency_id: uuid.UUID
    action: ActionCode
    action_name: str = Field(description="第二十八条's words for it")
    reason: str
    complaint_id: uuid.UUID | None
    recorded_by: uuid.UUID
    rules_version: str
    created_at: datetime
    auxiliary_status: AuxiliaryStatusName | None = Field(
        default=None, description="the person's status after it (a dismissal leaves them `dismissed`)")


class TermRead(BaseModel):
    ends_on: date | None = Field(description="the last day of the latest term; null: no term recorded")
    expired: bool = Field(description="the latest term ended before today: the badge verifies as `expired`")
    current_contract_id: uuid.UUID | None = Field(description="the term that covers today, if any")


class StandingRead(BaseModel):
    """Everything recorded about a person's standing; each list newest first."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "auxiliary_id": _AUX, "status": "active",
        "term": {"ends_on": "2029-02-28", "expired": False, "current_contract_id": None},
        "assessments": [], "contracts": [], "commendations": [], "sanctions": []}})
    auxiliary_id: uuid.UUID
    status: AuxiliaryStatusName
    term: TermRead
    assessments: list[AssessmentRead]
    contracts: list[ContractRead]
    commendations: list[CommendationRead]
    sanctions: list[SanctionRead]
