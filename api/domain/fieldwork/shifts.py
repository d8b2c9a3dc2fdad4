"""Check-in and check-out of a shift from the phone, with whether the position lies in the auxiliary's
responsibility zone (recorded, never refused: GPS drifts)."""

from datetime import UTC

from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.fieldwork.context import FieldContext
from api.domain.fieldwork.phone_ids import content_hash, insert_once, same_or_conflict
from api.domain.fieldwork.records import ShiftDraft
from api.domain.models import (
    ShiftEvent,
)


def record_shift_event(session: Session, fc: FieldContext, draft: ShiftDraft) -> tuple[ShiftEvent, bool]:
    """Store a check-in or check-out with the phone's id; (event, created). ``in_zone`` is a flag, never a
    refusal: GPS drifts."""
    digest = content_hash(draft.content())
    existing = session.get(ShiftEvent, draft.id)
    if existing is not None:
        return same_or_conflict(existing, auxiliary_id=fc.aux.id, digest=digest), False
    event = ShiftEvent(
        id=draft.id,
        auxiliary_id=fc.aux.id,
        kind=draft.kind,
        at=draft.at.astimezone(UTC),
        lat=draft.lat,
        lon=draft.lon,
        accuracy_m=draft.accuracy_m,
        in_zone=fc.in_zone(lat=draft.lat, lon=draft.lon, accuracy_m=draft.accuracy_m),
        content_hash=digest,
    )
    stored, created = insert_once(session, event, model=ShiftEvent, auxiliary_id=fc.aux.id)
    if created:
        audit.record(session, stored, f"shift_event.{draft.kind}", actor_id=fc.user.id)
    return stored, created


# 第十九条: a refused attempt is itself a record, one per phone-made attempt id.
