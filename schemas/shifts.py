"""Check-in and check-out on a shift, made on the phone with the phone's own id, and shifts read back."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.domain.fieldwork.records import ShiftDraft, ShiftKind
from schemas.common import RECORDED_BEFORE_SUSPENSION, Instant, StoredFlag
from schemas.tasks import Accuracy, Latitude, Longitude


class CheckIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"id": "7e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b", "at": "2026-11-26T08:58:00+08:00",
                        "lat": 32.0409, "lon": 118.7841, "accuracy_m": 12.5}
        },
    )
    id: uuid.UUID = Field(description="made on the phone; sending it again is safe")
    at: Instant
    lat: Latitude
    lon: Longitude
    accuracy_m: Accuracy | None = None

    def to_draft(self, kind: ShiftKind) -> ShiftDraft:
        return ShiftDraft(id=self.id, kind=kind, at=self.at, lat=self.lat, lon=self.lon, accuracy_m=self.accuracy_m)


class CheckOut(CheckIn):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {"id": "8f2a3b4c-5d6e-4f70-8b9c-0d1e2f3a4b5c", "at": "2026-11-26T17:02:00+08:00",
                        "lat": 32.0415, "lon": 118.7850}
        },
    )


IN_ZONE = (
    "true: the whole accuracy circle lies inside the auxiliary's zones; false: wholly outside; null: the circle "
    "crosses a zone's edge (or, without accuracy_m, the position is within a few metres of it), or the "
    "auxiliary has no zones"
)


CHECK_IN_READ: dict[str, Any] = {
    "id": "7e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b", "auxiliary_id": "6d1e0f2a-3b4c-4d5e-8f60-7a8b9c0d1e2f",
    "kind": "check_in", "at": "2026-11-26T00:58:00Z", "lat": 32.0409, "lon": 118.7841, "accuracy_m": 12.5,
    "in_zone": True, "check_in_id": None, "recorded_before_suspension": False, "created_at": "2026-11-26T00:58:03Z",
}
CHECK_OUT_READ: dict[str, Any] = {
    **CHECK_IN_READ, "id": "8f2a3b4c-5d6e-4f70-8b9c-0d1e2f3a4b5c", "kind": "check_out", "at": "2026-11-26T09:02:00Z",
    "lat": 32.0415, "lon": 118.7850, "accuracy_m": 8.0, "check_in_id": CHECK_IN_READ["id"],
    "created_at": "2026-11-26T09:02:05Z",
}


class ShiftEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"example": CHECK_IN_READ})
    id: uuid.UUID
    auxiliary_id: uuid.UUID
    kind: ShiftKind
    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None
    in_zone: bool | None = Field(description=IN_ZONE)
    check_in_id: uuid.UUID | None = Field(None, description="on a check-out: the check-in it closes")
    recorded_before_suspension: StoredFlag = Field(False, description=RECORDED_BEFORE_SUSPENSION)
    created_at: datetime


class ShiftRead(BaseModel):
    """A shift: a check-in and, once it is over, the check-out that closed it (each with its own `in_zone`)."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "id": CHECK_IN_READ["id"], "auxiliary_id": CHECK_IN_READ["auxiliary_id"], "duration_s": 29040,
        "check_in": CHECK_IN_READ, "check_out": CHECK_OUT_READ,
    }})
    id: uuid.UUID = Field(description="the check-in's id")
    auxiliary_id: uuid.UUID
    duration_s: int | None = Field(description="seconds from check-in to check-out; null while the shift is open")
    check_in: ShiftEventRead
    check_out: ShiftEventRead | None = Field(description="null while the shift is open")
