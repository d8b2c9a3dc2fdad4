"""Scans of dead badges as alerts (第二十四条、第二十七条): a suspended, revoked or superseded badge shown to a
citizen may mean someone is passing themselves off as staff, and the agencies that answer for the person want
to know at once, and roughly where.

Who sees an alert is who sees the person (第五条, ``api.domain.access``): the employing agency, the street
that commands a seconded auxiliary (第二十二条), and the justice bureau.

"Roughly where": a citizen's phone may send its position with a check; only the 0.01° cell around it (about
1 km in Nanjing) is ever kept, and nothing at all when it sent none or sent something that is not a
position. The exact position never reaches the database.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.domain.access import not_your_agency, visible_agencies
from api.domain.errors import Forbidden
from api.domain.models import Auxiliary, DeadBadgeScan, User
from api.domain.pagination import paginate

COARSE_DECIMALS = 2
"""Degrees kept to two decimals: a cell of 0.01° (~1.1 km north–south, ~0.95 km east–west at 32° N)."""


def coarse_place(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    """The 0.01° cell of a position, or None when there is no position (or only half of one, or nonsense)."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, COARSE_DECIMALS), round(lon, COARSE_DECIMALS)


@dataclass(frozen=True)
class Alert:
    scan: DeadBadgeScan
    badge_no: str
    name: str

    @property
    def place(self) -> tuple[float, float] | None:
        if self.scan.place_lat is None or self.scan.place_lon is None:
            return None
        return self.scan.place_lat, self.scan.place_lon


def list_alerts(
    session: Session,
    *,
    user: User,
    agency_id: uuid.UUID | None,
    since: datetime | None,
    limit: int | None,
    cursor: str | None,
) -> tuple[list[Alert], str | None]:
    """Dead-badge scans of the staff the caller may see, newest first; ``agency_id`` narrows them to one
    agency's staff (employed there or seconded to it), ``since`` to scans at or after that instant."""
    scope = visible_agencies(user)
    if not scope.any:
        raise Forbidden("role_not_allowed", "当前角色无权查看告警", "only agency and justice admins see alerts")
    if agency_id is not None and not scope.covers(agency_id):
        raise not_your_agency("只能查看本机关辅助人员的告警", "an agency sees only its own staff's alerts")
    stmt = (
        select(DeadBadgeScan)
        .join(Auxiliary, Auxiliary.id == DeadBadgeScan.auxiliary_id)
        .where(scope.where(Auxiliary.agency_id, Auxiliary.command_agency_id))
    )
    if agency_id is not None:
        stmt = stmt.where((Auxiliary.agency_id == agency_id) | (Auxiliary.command_agency_id == agency_id))
    if since is not None:
        stmt = stmt.where(DeadBadgeScan.scanned_at >= since)
    page, next_cursor = paginate(
        session, cast("Select[tuple[DeadBadgeScan]]", stmt), created=DeadBadgeScan.scanned_at,
        key=DeadBadgeScan.id, limit=limit, cursor=cursor,
    )
    return _with_people(session, page), next_cursor


def _with_people(session: Session, scans: Sequence[DeadBadgeScan]) -> list[Alert]:
    ids = {s.auxiliary_id for s in scans}
    people: dict[uuid.UUID, tuple[str, str]] = {}
    if ids:
        people = {i: (b, n) for i, b, n in session.execute(
            select(Auxiliary.id, Auxiliary.badge_no, Auxiliary.name).where(Auxiliary.id.in_(ids)))}
    return [Alert(s, *people[s.auxiliary_id]) for s in scans]
