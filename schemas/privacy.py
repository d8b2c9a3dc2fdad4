"""Reads of personal data, as the justice bureau lists them (第十条(一))."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from api.domain.privacy_tables import ReadKind


class PersonalDataReadItem(BaseModel):
    """Who was shown which record, when; never the record's content."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {"id": "8b8f5e0a-7d0e-4a4c-9a3e-2f1c0d9b7a61", "read_at": "2026-11-26T02:05:00Z",
                 "user_id": "3c2d1e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "role": "agency_admin", "kind": "auxiliary",
                 "record_id": "0b7d1f4e-8f55-4a0e-9d0c-0d6a3d0e2c77", "agency_id": None, "year": None,
                 "format": None, "row_count": None, "request_id": "4f1c2a9e0b7d4c3a8e6f5d2b1a0c9e8d"},
                {"id": "9c9f5e0a-7d0e-4a4c-9a3e-2f1c0d9b7a62", "read_at": "2026-12-20T01:00:00Z",
                 "user_id": "3c2d1e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "role": "agency_admin", "kind": "roster",
                 "record_id": None, "agency_id": "6a1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f", "year": 2026,
                 "format": "csv", "row_count": 42, "request_id": None},
            ]
        },
    )

    id: uuid.UUID
    read_at: datetime
    user_id: uuid.UUID
    role: str
    kind: ReadKind
    record_id: uuid.UUID | None = None
    """The auxiliary (``auxiliary``, ``standing``) or complaint (``complainant_phone``) read."""
    agency_id: uuid.UUID | None = None
    """For a roster: the agency exported (None: the whole city)."""
    year: int | None = None
    format: str | None = None
    row_count: int | None = None
    request_id: str | None = None
    """The request's ``X-Request-ID``, to find it in the service's logs."""
