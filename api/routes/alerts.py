"""Alerts: scans of dead badges, for the agencies that answer for the person and for the justice bureau."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Admin, SessionDep
from api.domain.staff.alerts import Alert, list_alerts
from schemas.alerts import AlertRead, CoarsePlace
from schemas.common import Instant, Page

router = APIRouter(prefix="/api", tags=["alerts"])


def _read(alert: Alert) -> AlertRead:
    place, scan = alert.place, alert.scan
    return AlertRead.model_validate({
        "id": scan.id, "scanned_at": scan.scanned_at, "channel": scan.channel, "status": scan.status,
        "auxiliary_id": scan.auxiliary_id, "badge_no": alert.badge_no, "name": alert.name,
        "place": CoarsePlace(lat=place[0], lon=place[1]) if place else None,
    })


@router.get("/alerts", response_model=Page[AlertRead])
def list_alerts_route(
    session: SessionDep,
    user: Admin,
    agency_id: Annotated[uuid.UUID | None, Query(description="one agency's staff (employed or seconded there)")]
    = None,
    since: Annotated[Instant | None, Query(description="only scans at or after this instant (RFC 3339)")] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size; values above 200 are clamped")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[AlertRead]:
    """Scans of suspended, revoked or superseded badges, newest first: someone may be showing a dead badge to
    pass as staff (第二十四条、第二十七条). An agency admin sees those of the staff their agency employs and of
    the staff seconded to it (第二十二条); the justice bureau sees all, or one agency's with `agency_id`.
    Another agency's `agency_id` answers 403. `place` is the 0.01° cell (about 1 km) of the position the
    citizen's phone sent with the check, or null; nothing about who scanned is kept."""
    alerts, next_cursor = list_alerts(session, user=user, agency_id=agency_id, since=since, limit=limit,
                                      cursor=cursor)
    return Page(items=[_read(a) for a in alerts], next_cursor=next_cursor)
