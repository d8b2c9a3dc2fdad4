"""Alerts for the agencies: scans of dead badges (第二十四条、第二十七条)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CoarsePlace(BaseModel):
    lat: float = Field(description="latitude rounded to 0.01° (a cell of about 1 km)")
    lon: float = Field(description="longitude rounded to 0.01°")


class AlertRead(BaseModel):
    """A scan of a suspended, revoked or superseded badge: someone may be showing it to pass as staff."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "5b0f7c3e-0000-4000-8000-00000000000a", "scanned_at": "2026-12-05T06:41:12Z",
                 "channel": "image", "status": "revoked", "auxiliary_id": "0d1c2b3a-0000-4000-8000-000000000003",
                 "badge_no": "NJ20260000123", "name": "李协管", "place": {"lat": 32.04, "lon": 118.78}},
                {"id": "5b0f7c3e-0000-4000-8000-00000000000b", "scanned_at": "2026-12-05T02:10:03Z",
                 "channel": "page", "status": "suspended", "auxiliary_id": "0d1c2b3a-0000-4000-8000-000000000004",
                 "badge_no": "NJ20260000456", "name": "王协管", "place": None},
            ]
        }
    )

    id: uuid.UUID
    scanned_at: datetime
    channel: Literal["page", "api", "image", "number"] = Field(
        description="how the badge was checked: the QR page, the API, a photo of the badge, its number"
    )
    status: Literal["suspended", "revoked", "superseded"]
    auxiliary_id: uuid.UUID
    badge_no: str
    name: str
    place: CoarsePlace | None = Field(
        description="where the scan came from, to 0.01°; null when the citizen's phone sent no position"
    )
