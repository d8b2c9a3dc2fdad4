"""The December roster filing (第十二条: 每年12月将聘用的行政执法辅助人员名册和使用情况报同级司法行政部门备案):
everyone an agency employed at any time in a year, each as they stood on 31 December of that year, and how the
agency used them that year. The justice bureau may also take the whole city's roster at once.

Years are Beijing calendar years. A row's status is the one on 31 December (``api.domain.staff.history``):
someone who left in the following January was still employed then, and is listed without a departure date;
someone hired in January is not on the roster at all. Training hours are those of the year, by kind, and in
total up to 31 December (passed or not: the filing reports training given). Read-only: nothing here writes.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.domain.base import BEIJING, among, utcnow
from api.domain.models import (
    Agency,
    Article19Case,
    Auxiliary,
    AuxiliaryStatus,
    Complaint,
    ComplaintStatus,
    Task,
    TaskStatus,
    Training,
)
from api.domain.staff.history import statuses_on

# 第二十条's kinds of training, in the order the roster's columns show them.
TRAINING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pre_job", "岗前培训"),
    ("political", "思想政治培训"),
    ("legal", "法律知识培训"),
    ("skills", "岗位技能培训"),
    ("mental_health", "心理健康培训"),
)
HIRE_METHODS_ZH = {"direct": "直接聘用", "dispatch": "劳务派遣"}
STATUSES_ZH = {
    AuxiliaryStatus.PENDING_TRAINING: "待岗前培训",
    AuxiliaryStatus.ACTIVE: "在岗",
    AuxiliaryStatus.SUSPENDED: "暂停工作",
    AuxiliaryStatus.DEPARTED: "离职",
    AuxiliaryStatus.DISMISSED: "辞退（违纪）",
}


@dataclass(frozen=True, slots=True)
class RosterPerson:
    """What a roster row reads of an auxiliary (not their zones, background or photo), as plain values: a roster
    of thousands builds no ORM objects, whose bookkeeping cost more than the query."""

    id: uuid.UUID
    agency_id: uuid.UUID
    command_agency_id: uuid.UUID | None
    badge_no: str
    name: str
    id_number_masked: str | None
    hire_method: str
    dispatch_company: str | None
    hired_on: date
    status: AuxiliaryStatus
    categories: list[str]
    left_on: date | None

    @property
    def commanding_agency_id(self) -> uuid.UUID:
        return self.command_agency_id or self.agency_id


_ROW_COLUMNS = tuple(getattr(Auxiliary, f) for f in RosterPerson.__dataclass_fields__)


@dataclass(frozen=True)
class RosterEntry:
    auxiliary: RosterPerson
    agency: Agency
    command_agency: str
    status: AuxiliaryStatus
    """On 31 December of the year."""
    left_on: date | None
    """Only a departure on or before 31 December: a later one had not happened yet."""
    training_hours: dict[str, float]
    """Hours of the year, by kind (第二十条)."""
    training_hours_total: float
    """Hours of every training completed up to 31 December, all years."""

    @property
    def training_hours_year(self) -> float:
        return sum(self.training_hours.values())


@dataclass(frozen=True)
class Usage:
    headcount_quota: int
    headcount_used: int
    tasks_by_category: dict[tuple[str, str], int]
    assisted: int
    cosigned: int
    rejected: int
    pending_cosign: int
    complaints_received: int
    complaints_substantiated: int
    article19_cases: int

    @property
    def tasks(self) -> int:
        return sum(self.tasks_by_category.values())

    def tasks_in_mode(self, mode: str) -> int:
        return sum(n for (_, m), n in self.tasks_by_category.items() if m == mode)

    @property
    def cosigned_share(self) -> float | None:
        return round(self.cosigned / self.assisted, 4) if self.assisted else None


@dataclass(frozen=True)
class Roster:
    agency: Agency | None
    """None: the whole city's roster, every agency's staff."""
    year: int
    generated_at: datetime
    entries: list[RosterEntry]
    usage: Usage | None
    """How the agency used its staff that year; None for the city-wide roster (each agency's is in its own)."""

    @property
    def as_of(self) -> date:
        return date(self.year, 12, 31)


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=BEIJING), datetime(year + 1, 1, 1, tzinfo=BEIJING)


def _within(column: InstrumentedAttribute[datetime], start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _training_hours(
    session: Session, ids: list[uuid.UUID], year: int
) -> tuple[dict[uuid.UUID, dict[str, float]], dict[uuid.UUID, float]]:
    first, last = date(year, 1, 1), date(year, 12, 31)
    by_kind: dict[uuid.UUID, dict[str, float]] = defaultdict(dict)
    total: dict[uuid.UUID, float] = defaultdict(float)
    for aux_id, kind, completed_on, hours in session.execute(
        select(Training.auxiliary_id, Training.kind, Training.completed_on, func.sum(Training.hours))
        .where(among(session, Training.auxiliary_id, ids), Training.completed_on <= last)
        .group_by(Training.auxiliary_id, Training.kind, Training.completed_on)
    ):
        total[aux_id] += float(hours)
        if completed_on >= first:
            by_kind[aux_id][kind] = by_kind[aux_id].get(kind, 0.0) + float(hours)
    return by_kind, total


def roster(session: Session, *, agency: Agency | None, year: int) -> Roster:
    """Everyone employed at any time in ``year`` by ``agency`` (None: by any agency), as they stood on
    31 December, with their training, and the agency's usage of them that year (第十二条)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    stmt = select(*_ROW_COLUMNS).where(
        Auxiliary.hired_on <= last, or_(Auxiliary.left_on.is_(None), Auxiliary.left_on >= first))
    if agency is not None:
        stmt = stmt.where(Auxiliary.agency_id == agency.id)
    auxiliaries = [RosterPerson(*row) for row in session.execute(stmt)]
    agency_ids = {a.agency_id for a in auxiliaries} | {a.command_agency_id for a in auxiliaries
                                                        if a.command_agency_id}
    agencies = {agency.id: agency} if agency is not None else {}
    missing = agency_ids - set(agencies)
    if missing:
        agencies |= {a.id: a for a in session.scalars(select(Agency).where(Agency.id.in_(missing)))}
    ids = [a.id for a in auxiliaries]
    hours, totals = _training_hours(session, ids, year)
    statuses = statuses_on(session, auxiliaries, last)
    entries = [
        RosterEntry(
            auxiliary=a,
            agency=agencies[a.agency_id],
            command_agency=agencies[a.commanding_agency_id].name,
            status=statuses[a.id],
            left_on=a.left_on if a.left_on is not None and a.left_on <= last else None,
            training_hours={kind: hours[a.id].get(kind, 0.0) for kind, _ in TRAINING_COLUMNS},
            training_hours_total=totals.get(a.id, 0.0),
        )
        for a in auxiliaries
    ]
    entries.sort(key=lambda e: (e.agency.code, e.auxiliary.hired_on, e.auxiliary.badge_no))
    usage = _usage(session, agency, year) if agency is not None else None
    return Roster(agency, year, utcnow(), entries, usage)


def _usage(session: Session, agency: Agency, year: int) -> Usage:
    start, end = _year_bounds(year)
    counted = and_(
        Task.agency_id == agency.id,
        Task.status != TaskStatus.SUPERSEDED,
        _within(Task.started_at, start, end),
    )
    by_category = {
        (category, mode): n
        for category, mode, n in session.execute(
            select(Task.category, Task.mode, func.count()).where(counted).group_by(Task.category, Task.mode)
        )
    }
    by_status: dict[Any, int] = {
        status: n
        for status, n in session.execute(
            select(Task.status, func.count()).where(counted, Task.mode == "assisted").group_by(Task.status)
        )
    }
    complaints: dict[Any, int] = {
        status: n
        for status, n in session.execute(
            select(Complaint.status, func.count())
            .where(Complaint.agency_id == agency.id, _within(Complaint.received_at, start, end))
            .group_by(Complaint.status)
        )
    }
    cases = session.scalar(
        select(func.count()).select_from(Article19Case)
        .where(Article19Case.agency_id == agency.id, _within(Article19Case.created_at, start, end))
    ) or 0
    return Usage(
        headcount_quota=agency.headcount_quota,
        headcount_used=agency.headcount_used,
        tasks_by_category=by_category,
        assisted=sum(by_status.values()),
        cosigned=by_status.get(TaskStatus.COSIGNED, 0),
        rejected=by_status.get(TaskStatus.REJECTED, 0),
        pending_cosign=by_status.get(TaskStatus.PENDING_COSIGN, 0),
        complaints_received=sum(complaints.values()),
        # Resolving needs a finding and a 第二十八条 action: a resolved complaint is a substantiated one.
        complaints_substantiated=complaints.get(ComplaintStatus.RESOLVED, 0),
        article19_cases=cases,
    )
