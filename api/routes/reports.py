"""Oversight reports: the December roster filing (第十二条) as CSV or JSON, and usage metrics (第三十条).

The justice bureau reads any agency; an agency admin only their own (第五条).
"""

import csv
import io
import re
import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Admin, SessionDep
from api.domain.base import BEIJING, utcnow
from api.domain.duties import DUTY_BY_CODE, TaskMode
from api.domain.models import Agency, Role
from api.domain.oversight.reports import (
    HIRE_METHODS_ZH,
    STATUSES_ZH,
    TRAINING_COLUMNS,
    Roster,
    metrics,
    metrics_agencies,
    report_agency,
    roster,
)
from api.pages.charts import render_metrics_svg
from schemas.reports import (
    AgencyMetricsRead,
    AgencyRef,
    DutyName,
    MetricsRead,
    RosterAuxiliary,
    RosterRead,
    RosterUsage,
    TaskCount,
)

router = APIRouter(prefix="/api/reports", tags=["reports"])
MODES = tuple(m.value for m in TaskMode)
CSV_HEADERS = (
    "证件编号", "姓名", "身份证号码", "聘用方式", "劳务派遣单位", "聘用日期", "状态", "离职日期", "指挥机关",
    "独立履职类别",
    *(f"{label}（小时）" for _, label in TRAINING_COLUMNS),
)


def _agency_ref(agency: Agency) -> AgencyRef:
    return AgencyRef(id=agency.id, name=agency.name, code=agency.code, level=agency.level)


def _roster_read(report: Roster) -> RosterRead:
    usage = report.usage
    return RosterRead(
        agency=_agency_ref(report.agency),
        year=report.year,
        generated_at=report.generated_at,
        auxiliaries=[
            RosterAuxiliary(
                badge_no=e.auxiliary.badge_no,
                name=e.auxiliary.name,
                id_number_masked=e.auxiliary.id_number_masked,
                hire_method=e.auxiliary.hire_method,
                hire_method_name=HIRE_METHODS_ZH.get(e.auxiliary.hire_method, e.auxiliary.hire_method),
                dispatch_company=e.auxiliary.dispatch_company,
                hired_on=e.auxiliary.hired_on,
                status=e.auxiliary.status,
                status_name=STATUSES_ZH.get(e.auxiliary.status, e.auxiliary.status),
                left_on=e.auxiliary.left_on,
                command_agency=e.command_agency,
                categories=[DutyName(code=c, name=DUTY_BY_CODE[c].name_zh)
                            for c in e.auxiliary.categories if c in DUTY_BY_CODE],
                training_hours=e.training_hours,
            )
            for e in report.entries
        ],
        usage=RosterUsage(
            headcount_quota=usage.headcount_quota,
            headcount_used=usage.headcount_used,
            tasks=usage.tasks,
            tasks_by_mode={m: usage.tasks_in_mode(m) for m in MODES},
            tasks_by_category=[
                TaskCount(
                    category=c, name=DUTY_BY_CODE[c].name_zh if c in DUTY_BY_CODE else c, mode=m, count=n
                )
                for (c, m), n in sorted(usage.tasks_by_category.items())
            ],
            assisted_tasks=usage.assisted,
            cosigned=usage.cosigned,
            rejected=usage.rejected,
            pending_cosign=usage.pending_cosign,
            cosigned_share=usage.cosigned_share,
            complaints_received=usage.complaints_received,
            complaints_substantiated=usage.complaints_substantiated,
            article19_cases=usage.article19_cases,
        ),
    )


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A cell starting like a formula would run in Excel or WPS; names and company names come from users.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _roster_csv(read: RosterRead) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADERS)
    for a in read.auxiliaries:
        writer.writerow([_cell(v) for v in (
            a.badge_no, a.name, a.id_number_masked, a.hire_method_name, a.dispatch_company, a.hired_on,
            a.status_name, a.left_on, a.command_agency, "、".join(c.name for c in a.categories),
            *(f"{a.training_hours.get(kind, 0):g}" for kind, _ in TRAINING_COLUMNS),
        )])
    # The BOM makes Excel and WPS read the file as UTF-8 instead of the system's GBK.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _default_year() -> int:
    return utcnow().astimezone(BEIJING).year


@router.get(
    "/roster",
    response_model=RosterRead,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                     "description": "JSON, or with `format=csv` a UTF-8 CSV (with BOM) of the roster"}},
)
def read_roster(
    session: SessionDep,
    user: Admin,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Beijing calendar year; default: this one")
    ] = None,
    agency_id: Annotated[uuid.UUID | None, Query(description="required for the justice bureau")] = None,
    fmt: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    """The December filing (第十二条): every auxiliary the agency employed at any time in the year, with
    hire method, status, commanding agency, granted duties and training hours, and how the agency used
    them that year (tasks by duty and mode, co-signed share, complaints, Article 19 cases).

    `format=csv` gives the roster as a CSV with Chinese headers in UTF-8 with a BOM, as a download;
    the usage summary is in the JSON. An agency admin may omit `agency_id`; another agency's answers 403.
    """
    agency = report_agency(session, user=user, agency_id=agency_id)
    read = _roster_read(roster(session, agency=agency, year=year or _default_year()))
    if fmt == "json":
        return Response(read.model_dump_json(), media_type="application/json")
    code = re.sub(r"[^A-Za-z0-9_.-]", "_", agency.code)
    return Response(
        _roster_csv(read),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="roster-{code}-{read.year}.csv"'},
    )


@router.get("/metrics", response_model=MetricsRead)
def read_metrics(
    session: SessionDep,
    user: Admin,
    agency_id: Annotated[
        uuid.UUID | None, Query(description="one agency; the justice bureau may omit it for all")
    ] = None,
) -> MetricsRead:
    """Usage figures per agency (第三十条): headcount, staff by status, tasks of the last 30 days by mode,
    the co-signature backlog and its oldest item, open and overdue complaints, Article 19 cases, and scans
    of dead badges. The justice bureau gets every agency (or the one named); an agency admin their own."""
    agencies = metrics_agencies(session, user=user, agency_id=agency_id)
    result = metrics(session, agencies=agencies, include_unassigned=user.role == Role.JUSTICE_ADMIN)
    now = result.generated_at
    return MetricsRead(
        generated_at=now,
        agencies=[
            AgencyMetricsRead(
                agency=_agency_ref(m.agency),
                headcount_quota=m.agency.headcount_quota,
                headcount_used=m.agency.headcount_used,
                auxiliaries={s.value: m.auxiliaries.get(s.value, 0) for s in STATUSES_ZH},
                tasks_last_30_days={mode: m.tasks_recent.get(mode, 0) for mode in MODES},
                pending_cosign=m.pending_cosign,
                oldest_pending_since=m.oldest_pending_since,
                oldest_pending_hours=(
                    round((now - m.oldest_pending_since).total_seconds() / 3600, 1)
                    if m.oldest_pending_since else None
                ),
                complaints_open=m.complaints_open,
                complaints_overdue=m.complaints_overdue,
                article19_cases=m.article19_cases,
                article19_cases_last_30_days=m.article19_cases_recent,
                dead_badge_scans=m.dead_badge_scans,
                dead_badge_scans_last_30_days=m.dead_badge_scans_recent,
            )
            for m in result.agencies
        ],
        unassigned_complaints_open=result.unassigned_open,
        unassigned_complaints_overdue=result.unassigned_overdue,
    )


@router.get("/metrics.svg", response_class=Response,
            responses={200: {"content": {"image/svg+xml": {}}, "description": "the figures as a bar chart"}})
def read_metrics_chart(
    session: SessionDep,
    user: Admin,
    agency_id: Annotated[
        uuid.UUID | None, Query(description="one agency; the justice bureau may omit it for all")
    ] = None,
) -> Response:
    """The same figures as `/metrics`, drawn: one row per agency, headcount against quota and a bar per
    figure, for a desk where people would rather look than read."""
    agencies = metrics_agencies(session, user=user, agency_id=agency_id)
    result = metrics(session, agencies=agencies, include_unassigned=user.role == Role.JUSTICE_ADMIN)
    return Response(render_metrics_svg(result), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})
