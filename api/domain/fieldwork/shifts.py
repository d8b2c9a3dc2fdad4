"""Check-in and check-out of a shift from the phone, with whether the position lies in the auxiliary's
responsibility zone (recorded, never refused: GPS drifts)."""

import uuid
from collections.abc import Mapping
from datetime import UTC
from typing import Any, Literal

from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.fieldwork.context import FieldContext
from api.domain.fieldwork.geo import point_in_zones
from api.domain.fieldwork.phone_ids import content_hash, insert_once, same_or_conflict, serialize_writes
from api.domain.models import (
    ShiftEvent,
)

ShiftKind = Literal["check_in", "check_out"]


def record_shift_event(
    session: Session, fc: FieldContext, *, kind: ShiftKind, payload: Mapping[str, Any]
) -> tuple[ShiftEvent, bool]:
    """Store a check-in or check-out with the phone's id; (event, created). ``in_zone`` is a flag, never a
    refusal: GPS drifts."""
    event_id = uuid.UUID(str(payload["id"]))
    digest = content_hash({**payload, "kind": kind})
    existing = session.get(ShiftEvent, event_id)
    if existing is not None:
        return same_or_conflict(existing, auxiliary_id=fc.aux.id, digest=digest), False
    serialize_writes(session)
    lat, lon = float(payload["lat"]), float(payload["lon"])
    event = ShiftEvent(
        id=event_id,
        auxiliary_id=fc.aux.id,
        kind=kind,
        at=payload["at"].astimezone(UTC),
        lat=lat,
        lon=lon,
        accuracy_m=payload.get("accuracy_m"),
        in_zone=point_in_zones(fc.aux.zones, lat=lat, lon=lon),
        content_hash=digest,
    )
    stored, created = insert_once(session, event, model=ShiftEvent, auxiliary_id=fc.aux.id)
    if created:
        audit.record(session, stored, f"shift_event.{kind}", actor_id=fc.user.id)
    return stored, created


# 第十九条: a refused attempt is itself a record, one per phone-made attempt id.
