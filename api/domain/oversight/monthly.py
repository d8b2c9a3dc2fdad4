"""The usage figures of 第三十条 over time: one row per calendar month (Beijing time) for a set of agencies, so
the justice bureau sees whether an agency's use of its auxiliaries grows, shrinks or goes astray.

Counted as in ``reports.metrics``: tasks once per record (superseded versions left out) by the month the work
started, complaints by the month received and, substantiated ones, by the month resolved, Article 19 cases by
the month they were opened, scans of dead badges by the month scanned, hires and departures by their dates.
Each figure is one query with a filtered count per month, the same on SQLite and PostgreSQL. Read-only.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from api.domain.base import BEIJING, beijing_midnight, utcnow
from api.domain.duties import TaskMode
from api.domain.models import (
    Article19Case,
    Auxiliary,
    Complaint,
    ComplaintStatus,
    DeadBadgeScan,
    Task,
    TaskStatus,
)

MAX_MONTHS = 36


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def next(self) -> "Month":
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}-{self.month:02d}"

    @property
    def starts_at(self) -> datetime:
        return beijing_midnight(self.first_day)


def last_months(count: int, *, now: datetime | None = None) -> list[Month]:
    """The ``count`` calendar months up to and including this one in Beijing, oldest first."""
    count = max(1, min(count, MAX_MONTHS))
    today = (now or utcnow()).astimezone(BEIJING).date()
    index = today.year * 12 + today.month - 1 - (count - 1)
    return [Month((index + i) // 12, (index + i) % 12 + 1) for i in range(count)]


FIGURES: tuple[tuple[str, str], ...] = (
    ("independent", "独立工作"),
    ("assisted", "协助工作"),
    ("complaints", "收到投诉"),
    ("substantiated", "投诉查实"),
    ("article19", "第十九条事件"),
    ("dead_badge_scans", "失效证件被扫"),
    ("hires", "聘用"),
    ("departures", "离职"),
)
"""Each monthly figure: its key and its name on the desk."""


@dataclass
class MonthFigures:
    month: Month
    independent: int = 0
    assisted: int = 0
    complaints: int = 0
    substantiated: int = 0
    article19: int = 0
    dead_badge_scans: int = 0
    hires: int = 0
    departures: int = 0

    def value(self, key: str) -> int:
        return int(getattr(self, key))


def _per_month(session: Session, months: Sequence[Month], column: Any, where: ColumnElement[bool], *,
               dates: bool = False, join: tuple[Any, Any] | None = None) -> list[int]:
    """One filtered count per month of the rows matching ``where``, by the instant (or date) in ``column``."""
    def bounds(m: Month) -> tuple[Any, Any]:
        return (m.first_day, m.next.first_day) if dates else (m.starts_at, m.next.starts_at)

    counts = [func.count().filter(and_(column >= lo, column < hi)) for lo, hi in map(bounds, months)]
    first, _ = bounds(months[0])
    _, last = bounds(months[-1])
    stmt = select(*counts)
    if join is not None:
        stmt = stmt.select_from(join[0]).join(*join[1])
    row = session.execute(stmt.where(where, column >= first, column < last)).one()
    return [int(n or 0) for n in row]


def monthly_figures(session: Session, *, agency_ids: Sequence[uuid.UUID], months: int = 12,
                    now: datetime | None = None) -> list[MonthFigures]:
    """The figures of ``agency_ids`` together, month by month, oldest first (``months`` up to 36)."""
    span = last_months(months, now=now)
    rows = [MonthFigures(m) for m in span]
    ids = list(agency_ids)
    if not ids:
        return rows
    live = and_(Task.agency_id.in_(ids), Task.status != TaskStatus.SUPERSEDED)
    series: dict[str, list[int]] = {
        "independent": _per_month(session, span, Task.started_at, and_(live, Task.mode == TaskMode.INDEPENDENT)),
        "assisted": _per_month(session, span, Task.started_at, and_(live, Task.mode == TaskMode.ASSISTED)),
        "complaints": _per_month(session, span, Complaint.received_at, Complaint.agency_id.in_(ids)),
        "substantiated": _per_month(session, span, Complaint.decided_at, and_(
            Complaint.agency_id.in_(ids), Complaint.status == ComplaintStatus.RESOLVED)),
        "article19": _per_month(session, span, Article19Case.created_at, Article19Case.agency_id.in_(ids)),
        "dead_badge_scans": _per_month(
            session, span, DeadBadgeScan.scanned_at, Auxiliary.agency_id.in_(ids),
            join=(DeadBadgeScan, (Auxiliary, Auxiliary.id == DeadBadgeScan.auxiliary_id))),
        "hires": _per_month(session, span, Auxiliary.hired_on, Auxiliary.agency_id.in_(ids), dates=True),
        "departures": _per_month(session, span, Auxiliary.left_on, Auxiliary.agency_id.in_(ids), dates=True),
    }
    for key, values in series.items():
        for row, value in zip(rows, values, strict=True):
            setattr(row, key, value)
    return rows
