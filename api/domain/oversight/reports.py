"""Oversight figures for the justice bureau: the December roster filing (第十二条) and the usage metrics that
go into the rule-of-law evaluation (第三十条). Read-only: nothing here writes.

Years are Beijing calendar years. Tasks count once per record (a corrected task's superseded versions are
left out); tasks and complaints belong to the auxiliary's employing agency, pending co-signatures to the
agency whose officers owe them (the commanding agency).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.domain.access import visible_agencies
from api.domain.base import BEIJING, utcnow
from api.domain.complaints.catalogue import OPEN_STATUSES
from api.domain.errors import DomainError, Forbidden
from api.domain.models import (
    Agency,
    Article19Case,
    Auxiliary,
    AuxiliaryStatus,
    Complaint,
    ComplaintStatus,
    DeadBadgeScan,
    Task,
    TaskStatus,
    Training,
    User,
)
from api.domain.organisation.agencies import get_agency, list_agencies

RECENT = timedelta(days=30)
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


def report_agency(session: Session, *, user: User, agency_id: uuid.UUID | None) -> Agency:
    """The agency a report is about: any for the justice bureau, only their own for an agency (第五条)."""
    scope = visible_agencies(user)
    if scope.everything:
        if agency_id is None:
            raise DomainError(
                "agency_required", "请指定机关（agency_id）", "name the agency with agency_id",
                errors=[{"field": "agency_id", "message": "required", "type": "missing"}],
            )
        return get_agency(session, agency_id)
    if user.agency_id is not None and scope.covers(user.agency_id) and agency_id in (None, user.agency_id):
        return get_agency(session, user.agency_id)
    raise Forbidden(
        "not_your_agency", "只能查看本机关的辅助人员情况（谁使用、谁管理、谁负责）",
        "an agency sees only its own auxiliaries' figures", article="第五条",
    )


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    return datetime(year, 1, 1, tzinfo=BEIJING), datetime(year + 1, 1, 1, tzinfo=BEIJING)


def _within(column: InstrumentedAttribute[datetime], start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


@dataclass(frozen=True)
class RosterEntry:
    auxiliary: Auxiliary
    command_agency: str
    training_hours: dict[str, float]


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
    agency: Agency
    year: int
    generated_at: datetime
    entries: list[RosterEntry]
    usage: Usage


def roster(session: Session, *, agency: Agency, year: int) -> Roster:
    """Everyone the agency employed at any time in ``year``, and how it used them that year (第十二条)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    auxiliaries = list(session.scalars(
        select(Auxiliary)
        .where(
            Auxiliary.agency_id == agency.id,
            Auxiliary.hired_on <= last,
            or_(Auxiliary.left_on.is_(None), Auxiliary.left_on >= first),
        )
        .order_by(Auxiliary.hired_on, Auxiliary.badge_no)
    ))
    ids = [a.id for a in auxiliaries]
    hours: dict[uuid.UUID, dict[str, float]] = defaultdict(dict)
    if ids:
        # Hours attended, passed or not: the filing reports training given, not only training passed.
        for aux_id, kind, total in session.execute(
            select(Training.auxiliary_id, Training.kind, func.sum(Training.hours))
            .where(Training.auxiliary_id.in_(ids), Training.completed_on.between(first, last))
            .group_by(Training.auxiliary_id, Training.kind)
        ):
            hours[aux_id][kind] = float(total)
    command_ids = {a.command_agency_id for a in auxiliaries if a.command_agency_id}
    names = {agency.id: agency.name}
    if command_ids:
        found = session.execute(select(Agency.id, Agency.name).where(Agency.id.in_(command_ids)))
        names |= {i: n for i, n in found}
    entries = [
        RosterEntry(
            a, names.get(a.commanding_agency_id, ""),
            {kind: hours[a.id].get(kind, 0.0) for kind, _ in TRAINING_COLUMNS},
        )
        for a in auxiliaries
    ]
    return Roster(agency, year, utcnow(), entries, _usage(session, agency, year))


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
    by_status = {
        status: n
        for status, n in session.execute(
            select(Task.status, func.count()).where(counted, Task.mode == "assisted").group_by(Task.status)
        )
    }
    complaints = {
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


@dataclass
class AgencyMetrics:
    agency: Agency
    auxiliaries: dict[str, int] = field(default_factory=dict)
    tasks_recent: dict[str, int] = field(default_factory=dict)
    pending_cosign: int = 0
    oldest_pending_since: datetime | None = None
    complaints_open: int = 0
    complaints_overdue: int = 0
    article19_cases: int = 0
    article19_cases_recent: int = 0
    dead_badge_scans: int = 0
    dead_badge_scans_recent: int = 0


@dataclass(frozen=True)
class Metrics:
    generated_at: datetime
    agencies: list[AgencyMetrics]
    # Complaints nobody could be tied to an agency: the justice bureau's own queue (None for an agency).
    unassigned_open: int | None
    unassigned_overdue: int | None


def metrics_agencies(session: Session, *, user: User, agency_id: uuid.UUID | None) -> list[Agency]:
    if visible_agencies(user).everything and agency_id is None:
        return list_agencies(session)
    return [report_agency(session, user=user, agency_id=agency_id)]


def metrics(session: Session, *, agencies: list[Agency], include_unassigned: bool) -> Metrics:
    """Current usage figures per agency (第三十条), each a handful of grouped counts over all agencies."""
    now = utcnow()
    since = now - RECENT
    rows = {a.id: AgencyMetrics(a) for a in agencies}
    ids = list(rows)

    def grouped(stmt: Any) -> list[Any]:
        return list(session.execute(stmt)) if ids else []

    for agency_id, status, n in grouped(
        select(Auxiliary.agency_id, Auxiliary.status, func.count())
        .where(Auxiliary.agency_id.in_(ids)).group_by(Auxiliary.agency_id, Auxiliary.status)
    ):
        rows[agency_id].auxiliaries[str(status)] = n
    for agency_id, mode, n in grouped(
        select(Task.agency_id, Task.mode, func.count())
        .where(Task.agency_id.in_(ids), Task.status != TaskStatus.SUPERSEDED, Task.started_at >= since)
        .group_by(Task.agency_id, Task.mode)
    ):
        rows[agency_id].tasks_recent[mode] = n
    for agency_id, n, oldest in grouped(
        select(Task.command_agency_id, func.count(), func.min(Task.created_at))
        .where(Task.command_agency_id.in_(ids), Task.status == TaskStatus.PENDING_COSIGN)
        .group_by(Task.command_agency_id)
    ):
        rows[agency_id].pending_cosign = n
        rows[agency_id].oldest_pending_since = _aware(oldest)
    is_open = Complaint.status.in_(OPEN_STATUSES)
    is_overdue = and_(is_open, Complaint.due_at < now)
    for agency_id, n_open, n_overdue in grouped(
        select(Complaint.agency_id, func.count().filter(is_open), func.count().filter(is_overdue))
        .where(Complaint.agency_id.in_(ids)).group_by(Complaint.agency_id)
    ):
        rows[agency_id].complaints_open, rows[agency_id].complaints_overdue = n_open, n_overdue
    for agency_id, n, recent in grouped(
        select(Article19Case.agency_id, func.count(), func.count().filter(Article19Case.created_at >= since))
        .where(Article19Case.agency_id.in_(ids)).group_by(Article19Case.agency_id)
    ):
        rows[agency_id].article19_cases, rows[agency_id].article19_cases_recent = n, recent
    for agency_id, n, recent in grouped(
        select(Auxiliary.agency_id, func.count(), func.count().filter(DeadBadgeScan.scanned_at >= since))
        .join(Auxiliary, Auxiliary.id == DeadBadgeScan.auxiliary_id)
        .where(Auxiliary.agency_id.in_(ids)).group_by(Auxiliary.agency_id)
    ):
        rows[agency_id].dead_badge_scans, rows[agency_id].dead_badge_scans_recent = n, recent
    unassigned_open = unassigned_overdue = None
    if include_unassigned:
        unassigned_open, unassigned_overdue = session.execute(
            select(func.count().filter(is_open), func.count().filter(is_overdue))
            .where(Complaint.agency_id.is_(None))
        ).one()
    return Metrics(now, list(rows.values()), unassigned_open, unassigned_overdue)


def _aware(value: datetime | None) -> datetime | None:
    # Aggregates bypass the column type, so SQLite hands back a naive UTC value (or a string).
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
