"""Shifts (上岗、下岗): check-in and check-out from the phone, each with whether its position lies in the
auxiliary's responsibility zone (recorded, never refused: GPS drifts).

An auxiliary's shift events alternate, in time order, one shift open at a time:

    check_in    409 already_checked_in while a shift is open
    check_out   409 not_checked_in without an open shift; it names the check-in it closes (``check_in_id``)
    either      409 shift_out_of_order when dated before the auxiliary's last event

The rule holds under concurrency. The state is read only after the auxiliary's row is locked (NO KEY UPDATE on
PostgreSQL; SQLite serialises writing transactions), so of two check-ins sent at once the second waits, then
finds the shift open; and a unique index allows one check-out per check-in. A retry of a stored event (same
phone-made id, same content) is answered with it before any rule runs.

Like a task, a shift event needs a credential valid when it happened (第二十三条) and believable times
(fieldwork/timing.py); one done before a suspension and received after it is kept and flagged.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session, aliased

from api.domain.access import visible_agencies
from api.domain.audit import log as audit
from api.domain.errors import Conflict
from api.domain.fieldwork.context import FieldContext, lock_auxiliary_of
from api.domain.fieldwork.phone_ids import content_hash, insert_once, same_or_conflict
from api.domain.fieldwork.records import ShiftDraft
from api.domain.fieldwork.timing import check_work_times, recorded_before_suspension
from api.domain.models import Auxiliary, Role, ShiftEvent, User


def last_shift_event(session: Session, auxiliary_id: uuid.UUID) -> ShiftEvent | None:
    """The auxiliary's latest event: a check-in means their shift is open."""
    return session.scalar(
        select(ShiftEvent).where(ShiftEvent.auxiliary_id == auxiliary_id)
        .order_by(ShiftEvent.at.desc(), ShiftEvent.created_at.desc()).limit(1))


def _next_in_order(draft: ShiftDraft, last: ShiftEvent | None) -> uuid.UUID | None:
    """Refuse an event that does not follow ``last``; a check-out's answer is the check-in it closes."""
    open_shift = last if last is not None and last.kind == "check_in" else None
    if draft.kind == "check_in" and open_shift is not None:
        raise Conflict("already_checked_in", "已上岗签到，请先签退", "already checked in: check out first",
                       check_in_id=str(open_shift.id))
    if draft.kind == "check_out" and open_shift is None:
        raise Conflict("not_checked_in", "尚未上岗签到，不能签退", "not checked in: there is no shift to check out of")
    if last is not None and draft.at < last.at:
        raise Conflict("shift_out_of_order", "签到签退时间早于上一次记录", "dated before the auxiliary's last check-in "
                       "or check-out", last_at=last.at.isoformat())
    return open_shift.id if open_shift is not None else None


def record_shift_event(session: Session, fc: FieldContext, draft: ShiftDraft) -> tuple[ShiftEvent, bool]:
    """Store a check-in or check-out with the phone's id; (event, created)."""
    if not fc.holds_lock:
        lock_auxiliary_of(session, fc.user)
        fc.holds_lock = True
    digest = content_hash(draft.content())
    existing = session.get(ShiftEvent, draft.id)
    if existing is not None:
        return same_or_conflict(existing, auxiliary_id=fc.aux.id, digest=digest), False
    at = draft.at.astimezone(UTC)
    check_work_times(fc, start=("at", at))
    flagged = recorded_before_suspension(session, fc, at)
    check_in_id = _next_in_order(draft, last_shift_event(session, fc.aux.id))
    event = ShiftEvent(
        id=draft.id,
        auxiliary_id=fc.aux.id,
        kind=draft.kind,
        at=at,
        lat=draft.lat,
        lon=draft.lon,
        accuracy_m=draft.accuracy_m,
        in_zone=fc.in_zone(lat=draft.lat, lon=draft.lon, accuracy_m=draft.accuracy_m),
        content_hash=digest,
        check_in_id=check_in_id,
        recorded_before_suspension=flagged,
    )
    stored, created = insert_once(session, event, model=ShiftEvent, auxiliary_id=fc.aux.id)
    if created:
        audit.record(session, stored, f"shift_event.{draft.kind}", actor_id=fc.user.id)
    return stored, created


# Reading shifts back: a check-in and the check-out that names it.


@dataclass(frozen=True)
class Shift:
    check_in: ShiftEvent
    check_out: ShiftEvent | None

    @property
    def duration_s(self) -> int | None:
        if self.check_out is None:
            return None
        return int((self.check_out.at - self.check_in.at).total_seconds())


def shifts_query(
    session: Session, user: User, *, auxiliary_id: uuid.UUID | None, since: datetime | None,
    until: datetime | None,
) -> Select[ShiftEvent]:
    """The check-ins ``user`` may see (第五条): an auxiliary their own; an agency admin those of the staff their
    agency employs or, seconded to it, commands (第二十二条); the justice bureau all. ``since``/``until``
    bound the check-in's time."""
    stmt = select(ShiftEvent).where(ShiftEvent.kind == "check_in")
    scope = visible_agencies(user)
    if scope.any:
        owner = aliased(Auxiliary)
        stmt = stmt.join(owner, owner.id == ShiftEvent.auxiliary_id).where(
            scope.where(owner.agency_id, owner.command_agency_id))
    elif user.role == Role.AUXILIARY:
        stmt = stmt.where(ShiftEvent.auxiliary_id.in_(select(Auxiliary.id).where(Auxiliary.user_id == user.id)))
    else:
        stmt = stmt.where(false())  # an officer keeps no one's shifts
    if auxiliary_id is not None:
        stmt = stmt.where(ShiftEvent.auxiliary_id == auxiliary_id)
    if since is not None:
        stmt = stmt.where(ShiftEvent.at >= since)
    if until is not None:
        stmt = stmt.where(ShiftEvent.at < until)
    return stmt


def pair_shifts(session: Session, check_ins: Sequence[ShiftEvent]) -> list[Shift]:
    """Each check-in with the check-out that closed it, in one query for the page."""
    ids = [c.id for c in check_ins]
    if not ids:
        return []
    stmt = select(ShiftEvent).where(ShiftEvent.kind == "check_out", ShiftEvent.check_in_id.in_(ids))
    closing = {c.check_in_id: c for c in session.scalars(stmt)}
    return [Shift(c, closing.get(c.id)) for c in check_ins]
