"""Oversight figures for the justice bureau: which agencies a report may cover (第五条), and the usage metrics
that go into the rule-of-law evaluation (第三十条); the December roster filing (第十二条) is in ``roster``.
Read-only: nothing here writes.

Tasks count once per record (a corrected task's superseded versions are left out); tasks and complaints
belong to the auxiliary's employing agency, pending co-signatures to the agency whose officers owe them (the
commanding agency).
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from api.domain.access import visible_agencies
from api.domain.base import utcnow
from api.domain.complaints.catalogue import OPEN_STATUSES
from api.domain.errors import Forbidden
from api.domain.models import (
    Agency,
    Article19Case,
    Auxiliary,
    Complaint,
    DeadBadgeScan,
    Task,
    TaskStatus,
    User,
)
from api.domain.organisation.agencies import get_agency, list_agencies

RECENT = timedelta(days=30)


def report_agency(session: Session, *, user: User, agency_id: uuid.UUID | None) -> Agency | None:
    """The agency a report is about: any for the justice bureau, which may also ask for every agency at once
    (None), and only their own for an agency (第五条)."""
    scope = visible_agencies(user)
    if scope.everything:
        return None if agency_id is None else get_agency(session, agency_id)
    if user.agency_id is not None and scope.covers(user.agency_id) and agency_id in (None, user.agency_id):
        return get_agency(session, user.agency_id)
    raise Forbidden(
        "not_your_agency", "只能查看本机关的辅助人员情况（谁使用、谁管理、谁负责）",
        "an agency sees only its own auxiliaries' figures", article="第五条",
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
    agency = report_agency(session, user=user, agency_id=agency_id)
    return list_agencies(session) if agency is None else [agency]


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
