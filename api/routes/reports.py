"""Oversight reports: the December roster filing (第十二条) as JSON, CSV or .xlsx, and usage metrics (第三十条).

The justice bureau reads any agency, or the whole city's roster at once; an agency admin only their own (第五条).
"""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Admin, SessionDep
from api.domain.base import BEIJING, utcnow
from api.domain.duties import DUTY_BY_CODE, TaskMode
from api.domain.models import Agency, Role
from api.domain.oversight.reports import metrics, metrics_agencies, report_agency
from api.domain.oversight.roster import HIRE_METHODS_ZH, STATUSES_ZH, Roster, Usage, roster
from api.domain.privacy_tables import ReadKind
from api.pages.charts import render_metrics_svg
from api.pages.roster_export import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, content_disposition, roster_csv, roster_xlsx
from api.read_log import log_personal_reads
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


def _agency_ref(agency: Agency) -> AgencyRef:
    return AgencyRef(id=agency.id, name=agency.name, code=agency.code, level=agency.level)


def _usage_read(usage: Usage) -> RosterUsage:
    return RosterUsage(
        headcount_quota=usage.headcount_quota,
        headcount_used=usage.headcount_used,
        tasks=usage.tasks,
        tasks_by_mode={m: usage.tasks_in_mode(m) for m in MODES},
        tasks_by_category=[
            TaskCount(category=c, name=DUTY_BY_CODE[c].name_zh if c in DUTY_BY_CODE else c, mode=m, count=n)
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
    )


def _roster_read(report: Roster) -> RosterRead:
    # One reference per agency and one name per duty, shared by the rows: thousands of rows would otherwise
    # validate thousands of identical small models.
    agencies = {e.agency.id: e.agency for e in report.entries}
    refs = {agency_id: _agency_ref(agency) for agency_id, agency in agencies.items()}
    duties = {code: DutyName(code=code, name=duty.name_zh) for code, duty in DUTY_BY_CODE.items()}
    return RosterRead(
        agency=_agency_ref(report.agency) if report.agency else None,
        year=report.year,
        status_as_of=report.as_of,
        generated_at=report.generated_at,
        auxiliaries=[
            RosterAuxiliary(
                agency=refs[e.agency.id],
                badge_no=e.auxiliary.badge_no,
                name=e.auxiliary.name,
                id_number_masked=e.auxiliary.id_number_masked,
                hire_method=e.auxiliary.hire_method,
                hire_method_name=HIRE_METHODS_ZH.get(e.auxiliary.hire_method, e.auxiliary.hire_method),
                dispatch_company=e.auxiliary.dispatch_company,
                hired_on=e.auxiliary.hired_on,
                status=e.status,
                status_name=STATUSES_ZH.get(e.status, e.status),
                left_on=e.left_on,
                command_agency=e.command_agency,
                categories=[duties[c] for c in e.auxiliary.categories if c in duties],
                training_hours=e.training_hours,
                training_hours_year=e.training_hours_year,
                training_hours_total=e.training_hours_total,
            )
            for e in report.entries
        ],
        usage=_usage_read(report.usage) if report.usage else None,
    )


def _default_year() -> int:
    return utcnow().astimezone(BEIJING).year


@router.get(
    "/roster",
    response_model=RosterRead,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}},
                                 XLSX_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
                     "description": "JSON, or with `format=csv` a UTF-8 CSV (with BOM), or with `format=xlsx` "
                                    "an Excel workbook, of the roster"}},
)
def read_roster(
    session: SessionDep,
    user: Admin,
    year: Annotated[
        int | None, Query(ge=2000, le=2100, description="Beijing calendar year; default: this one")
    ] = None,
    agency_id: Annotated[
        uuid.UUID | None,
        Query(description="the agency; the justice bureau may omit it for the whole city's roster"),
    ] = None,
    fmt: Annotated[Literal["json", "csv", "xlsx"], Query(alias="format")] = "json",
) -> Response:
    """The December filing (第十二条): every auxiliary the agency employed at any time in the year, each as
    they stood on 31 December of that year (a departure in the next January is not shown, a hire in it is
    not listed; the rule is in `api/domain/staff/history.py`), with hire method, commanding agency, granted
    duties and training hours of the year and in total, and how the agency used them that year (tasks by
    duty and mode, co-signed share, complaints, Article 19 cases).

    `format=csv` gives the rows as a CSV with Chinese headers in UTF-8 with a BOM, `format=xlsx` as an
    Excel workbook with the same headers (bold, frozen), dates as dates; both as downloads whose
    `Content-Disposition` carries an ASCII `filename` and the Chinese one in `filename*` (RFC 6266). The
    usage summary is in the JSON. An agency admin may omit `agency_id`; another agency's answers 403. The
    justice bureau without `agency_id` gets the whole city: every agency's staff, each row naming its
    agency (two more columns in front, `机关名称` and `机关代码`), and no usage summary (`usage: null`).
    """
    agency = report_agency(session, user=user, agency_id=agency_id)
    report = roster(session, agency=agency, year=year or _default_year())
    if fmt == "json":
        body, media_type = _roster_read(report).model_dump_json().encode(), "application/json"
    elif fmt == "csv":
        body, media_type = roster_csv(report), CSV_MEDIA_TYPE
    else:
        body, media_type = roster_xlsx(report), XLSX_MEDIA_TYPE
    # One entry per export, made once the roster is in hand: it names everyone the agency employed that year.
    log_personal_reads(session, user, ReadKind.ROSTER, [None], agency_id=agency.id if agency else None,
                       year=report.year, format=fmt, row_count=len(report.entries))
    if fmt == "json":
        return Response(body, media_type=media_type)
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": content_disposition(report, fmt), "Cache-Control": "private, no-store"})


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
