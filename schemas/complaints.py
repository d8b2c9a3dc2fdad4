"""Complaints (第二十四条): what a citizen sends and sees, what the agency handling them reads and decides.

The complainant's phone is for the agency only: no public shape here carries it.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.domain.complaints.catalogue import ActionCode, ComplaintCategoryCode
from schemas.common import Instant, StorableText

ComplaintStatusCode = Literal["received", "investigating", "resolved", "dismissed"]
PHONE = r"^(\+?86[- ]?)?(1[3-9]\d{9}|0\d{2,3}[- ]?\d{7,8})$"


class ComplaintCreate(BaseModel):
    """A complaint about an auxiliary, named by the number on their badge or the token in its QR code.
    Neither is required: a complaint about someone who cannot be identified goes to the justice bureau."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "badge_no": "NJ20260000123",
                    "category": "rude_conduct",
                    "description": "在新街口地铁站出口劝离摊贩时推搡并辱骂摊主。",
                    "occurred_at": "2026-11-26T09:40:00+08:00",
                    "location": "新街口地铁站2号口",
                    "lat": 32.0416,
                    "lon": 118.7784,
                    "contact_phone": "13800138000",
                }
            ]
        }
    )

    badge_no: str | None = Field(default=None, max_length=32, pattern=r"^\s*[A-Za-z0-9]+\s*$")
    token: str | None = Field(default=None, max_length=2048, description="the badge token from its QR code")
    category: ComplaintCategoryCode
    description: Annotated[str, Field(min_length=1, max_length=4000), StorableText]
    occurred_at: Instant
    location: Annotated[str, Field(max_length=200), StorableText] | None = Field(
        default=None, description="free text, e.g. a crossing"
    )
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    contact_phone: str | None = Field(
        default=None, max_length=20, pattern=PHONE,
        description="for the agency's call-back only; never public",
    )

    @field_validator("description")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _not_future(cls, value: datetime) -> datetime:
        if value > datetime.now(UTC) + timedelta(minutes=10):
            raise ValueError("must not lie in the future")
        return value

    @model_validator(mode="after")
    def _position_pairs(self) -> "ComplaintCreate":
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        return self


class ComplaintInclusion(BaseModel):
    index: int
    size: int
    hashes: list[str] = Field(description="RFC 9162 §2.1.3 audit path, hex")
    checkpoint: str = Field(description="the signed checkpoint (C2SP signed note) the proof leads to")


class ComplaintReceipt(BaseModel):
    """Shown once: the access code is kept only as a hash and cannot be recovered."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"tracking_no": "TS20261126K7M2QX", "access_code": "H4XK9P2MRT",
                                         "leaf_hash": "7d1a0c…", "log_index": None}]}
    )
    tracking_no: str
    access_code: str
    leaf_hash: str = Field(description="hex SHA-256 of the complaint's leaf in the transparency log (第十条(三))")
    log_index: int | None = Field(description="its place in the log; null until the log has given it one")


class ComplaintOutcome(BaseModel):
    finding: str | None
    action: ActionCode | None = Field(description="第二十八条 outcome; null when dismissed")
    action_name: str | None
    decided_at: datetime


class ComplaintStatusRead(BaseModel):
    """What the complainant learns with the tracking number and access code."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "resolved",
                    "category": "rude_conduct",
                    "received_at": "2026-11-26T02:05:00Z",
                    "outcome": {"finding": "经调取执法记录仪视频核实，情况属实。", "action": "criticism",
                                "action_name": "通报批评", "decided_at": "2026-12-03T08:00:00Z"},
                }
            ]
        }
    )
    status: ComplaintStatusCode
    category: ComplaintCategoryCode
    received_at: datetime
    outcome: ComplaintOutcome | None = None
    rules_version: str = Field(description="the rule set the complaint is handled by")
    leaf_hash: str | None = Field(None, description="hex hash of the complaint's leaf in the transparency log")
    log_index: int | None = None
    inclusion: ComplaintInclusion | None = Field(
        None, description="once a checkpoint covers the leaf: the proof that it is in the signed log")


class ComplaintItem(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {"id": "5f0c7c1e-2b1a-4a55-9a57-3f2f6b1d0a11", "tracking_no": "TS20261126K7M2QX",
                 "category": "rude_conduct", "status": "received", "received_at": "2026-11-26T02:05:00Z",
                 "auxiliary_id": "0b7d1f4e-8f55-4a0e-9d0c-0d6a3d0e2c77", "badge_no": "NJ20260000123",
                 "due_at": "2026-12-11T02:05:00Z", "overdue": False, "can_handle": True}
            ]
        },
    )
    id: uuid.UUID
    tracking_no: str
    category: ComplaintCategoryCode
    status: ComplaintStatusCode
    received_at: datetime
    auxiliary_id: uuid.UUID | None
    badge_no: str | None
    due_at: datetime = Field(description="received + 15 days: the handling deadline this service sets")
    overdue: bool = Field(description="due_at has passed and it is neither resolved nor dismissed")
    can_handle: bool = Field(
        description="the caller's agency handles it (the employer, 第二十八条; the justice bureau when tied to "
                    "no agency); false for the street that commands a seconded auxiliary (第二十二条), which "
                    "reads it only"
    )


class ComplaintEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    actor_id: uuid.UUID
    from_status: ComplaintStatusCode
    to_status: ComplaintStatusCode
    finding: str | None
    action: ActionCode | None
    created_at: datetime


class NoticeRead(BaseModel):
    """An anonymised case notice (违法违纪案例通报): no names, no badge numbers."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "9a0b8c7d-1e2f-4a3b-8c4d-5e6f7a8b9c0d", "published_at": "2026-12-03T08:00:00Z",
                 "agency": "南京市玄武区城市管理局", "category": "rude_conduct", "category_name": "行为粗暴",
                 "action": "criticism", "action_name": "通报批评",
                 "text": "2026年11月，某街道一名辅助人员在劝离摊贩时推搡当事人，经核实，给予通报批评。"}
            ]
        }
    )
    id: uuid.UUID
    published_at: datetime
    agency: str | None = Field(description="the deciding agency; null for the justice bureau")
    category: ComplaintCategoryCode
    category_name: str
    action: ActionCode
    action_name: str
    text: str


class ComplaintPhotoRead(BaseModel):
    """A photo attached by the complainant, as stored: re-encoded, without EXIF or any other metadata."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {"id": "3c2b1a09-0000-4000-8000-000000000001",
                 "sha256": "9f2c0d6e5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0",
                 "bytes": 412337, "content_type": "image/jpeg", "width": 3024, "height": 4032,
                 "created_at": "2026-11-26T02:07:00Z"}
            ]
        },
    )
    id: uuid.UUID
    sha256: str = Field(description="of the stored bytes (hex)")
    bytes: int
    content_type: Literal["image/jpeg", "image/png"]
    width: int
    height: int
    created_at: datetime


class ComplaintRead(ComplaintItem):
    """The whole complaint, for the agency handling it, with every step of its handling."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {"id": "5f0c7c1e-2b1a-4a55-9a57-3f2f6b1d0a11", "tracking_no": "TS20261126K7M2QX",
                 "category": "rude_conduct", "status": "investigating", "received_at": "2026-11-26T02:05:00Z",
                 "auxiliary_id": "0b7d1f4e-8f55-4a0e-9d0c-0d6a3d0e2c77", "badge_no": "NJ20260000123",
                 "due_at": "2026-12-11T02:05:00Z", "agency_id": "8c1d7f5e-0000-4000-8000-000000000002",
                 "identified_by": "token", "description": "劝离摊贩时推搡并辱骂摊主。",
                 "occurred_at": "2026-11-26T01:40:00Z", "location": "新街口地铁站2号口", "lat": 32.0416,
                 "lon": 118.7784, "contact_phone": "13800138000", "finding": None, "action": None,
                 "decided_at": None, "overdue": False, "can_handle": True,
                 "events": [{"id": "1d2c3b4a-0000-4000-8000-000000000009",
                             "actor_id": "8c1d7f5e-0000-4000-8000-0000000000aa", "from_status": "received",
                             "to_status": "investigating", "finding": None, "action": None,
                             "created_at": "2026-11-27T01:00:00Z"}],
                 "notice": None,
                 "photos": [{"id": "3c2b1a09-0000-4000-8000-000000000001",
                             "sha256": "9f2c0d6e5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0",
                             "bytes": 412337, "content_type": "image/jpeg", "width": 3024, "height": 4032,
                             "created_at": "2026-11-26T02:07:00Z"}]}
            ]
        },
    )

    agency_id: uuid.UUID | None = Field(description="null: handled by the justice bureau")
    identified_by: str | None = Field(
        description="token | badge_no | unverified_token (a token that did not verify)"
    )
    description: str
    occurred_at: datetime
    location: str | None
    lat: float | None
    lon: float | None
    contact_phone: str | None = Field(
        description="for calling the complainant back; only for the handling agency, never shown publicly")
    finding: str | None
    action: ActionCode | None
    decided_at: datetime | None
    events: list[ComplaintEventRead]
    notice: NoticeRead | None
    photos: list[ComplaintPhotoRead] | None = Field(
        description="the complainant's photos, for the handling agency only; null for anyone else")


class ComplaintTransition(BaseModel):
    """One step: received → investigating → resolved | dismissed (received → dismissed too)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"to": "investigating"},
                {
                    "to": "resolved",
                    "finding": "经调取执法记录仪视频核实，该辅助人员推搡当事人，情况属实。",
                    "action": "criticism",
                    "notice": "2026年11月，某街道一名辅助人员在劝离摊贩时推搡当事人，经核实，给予通报批评。",
                },
            ]
        }
    )
    to: Literal["investigating", "resolved", "dismissed"]
    finding: Annotated[str, Field(max_length=4000), StorableText] | None = Field(
        default=None, description="required to resolve"
    )
    action: ActionCode | None = Field(default=None, description="第二十八条 outcome; required to resolve")
    notice: Annotated[str, Field(min_length=1, max_length=4000), StorableText] | None = Field(
        default=None, description="only with resolved: the anonymised case notice to publish"
    )
