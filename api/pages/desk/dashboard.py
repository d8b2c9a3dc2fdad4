"""The usage figures of 第三十条 as a page people would rather look at than read: totals, the months as charts
(each with its numbers in a table beside it), and every agency in one table sorted by any column through the
query string (``?sort=&dir=``), so sorting works without a script."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Response

from api.deps import SessionDep
from api.domain.models import AgencyLevel, Role
from api.domain.oversight.monthly import FIGURES, monthly_figures
from api.domain.oversight.reports import AgencyMetrics, metrics, metrics_agencies
from api.pages.desk.charts import agencies_chart, monthly_chart
from api.pages.desk.staff import optional_id
from api.pages.desk.web import CallerDep, DeskRoute, render

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)
LEVELS = {AgencyLevel.MUNICIPAL: "市级", AgencyLevel.DISTRICT: "区级", AgencyLevel.STREET: "街镇"}
MONTHS = (6, 12, 24, 36)
TOP = 15


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    value: Callable[[AgencyMetrics], Any]
    numeric: bool = True


def _usage(m: AgencyMetrics) -> float:
    quota = m.agency.headcount_quota
    return round(100 * m.agency.headcount_used / quota, 1) if quota else 0.0


COLUMNS: tuple[Column, ...] = (
    Column("name", "机关", lambda m: m.agency.name, numeric=False),
    Column("level", "层级", lambda m: LEVELS.get(m.agency.level, m.agency.level), numeric=False),
    Column("quota", "核定员额", lambda m: m.agency.headcount_quota),
    Column("used", "已用员额", lambda m: m.agency.headcount_used),
    Column("usage", "员额使用率（%）", _usage),
    Column("active", "在岗", lambda m: m.auxiliaries.get("active", 0)),
    Column("independent", "独立工作（30天）", lambda m: m.tasks_recent.get("independent", 0)),
    Column("assisted", "协助工作（30天）", lambda m: m.tasks_recent.get("assisted", 0)),
    Column("pending", "待会签", lambda m: m.pending_cosign),
    Column("open", "未办结投诉", lambda m: m.complaints_open),
    Column("overdue", "逾期投诉", lambda m: m.complaints_overdue),
    Column("article19", "第十九条事件（30天）", lambda m: m.article19_cases_recent),
    Column("dead", "失效证件被扫（30天）", lambda m: m.dead_badge_scans_recent),
)
BY_KEY = {c.key: c for c in COLUMNS}


@router.get("/dashboard")
def dashboard(session: SessionDep, caller: CallerDep, agency: str = "", months: str = "12", sort: str = "name",
              dir: str = "") -> Response:
    user = caller.user
    every = metrics(session, agencies=metrics_agencies(session, user=user, agency_id=None),
                    include_unassigned=user.role == Role.JUSTICE_ADMIN)
    chosen_id = optional_id(agency)
    # Another agency's figures are refused as the API refuses them (第五条); the bureau may pick any one.
    scope = (metrics_agencies(session, user=user, agency_id=chosen_id) if chosen_id
             else [m.agency for m in every.agencies])
    span = int(months) if months.isdigit() and int(months) in MONTHS else 12
    monthly = monthly_figures(session, agency_ids=[a.id for a in scope], months=span)
    column = BY_KEY.get(sort, BY_KEY["name"])
    descending = dir == "desc" if dir in ("asc", "desc") else column.numeric
    rows = sorted(every.agencies, key=lambda m: (column.value(m), m.agency.code), reverse=descending)
    busiest = sorted(every.agencies, key=lambda m: (-sum(m.tasks_recent.values()), m.agency.code))[:TOP]
    base = {"agency": str(chosen_id) if chosen_id else "", "months": str(span)}

    def sort_link(key: str) -> str:
        col = BY_KEY[key]
        next_dir = ("asc" if descending else "desc") if key == column.key else ("desc" if col.numeric else "asc")
        return "/desk/dashboard?" + urlencode({**{k: v for k, v in base.items() if v}, "sort": key, "dir": next_dir})

    def total(key: str) -> int:
        return sum(int(BY_KEY[key].value(m)) for m in every.agencies)

    scope_name = scope[0].name if chosen_id and scope else ("全市" if caller.justice else (
        caller.agency.name if caller.agency else ""))
    tasks_series = [("independent", "独立工作"), ("assisted", "协助工作")]
    watch_series = [("complaints", "收到投诉"), ("substantiated", "投诉查实"), ("article19", "第十九条事件"),
                    ("dead_badge_scans", "失效证件被扫")]
    staff_series = [("hires", "聘用"), ("departures", "离职")]
    charts = {
        "tasks": monthly_chart(monthly, tasks_series, kind="stacked",
                               label=f"{scope_name}近{span}个月每月工作记录数：独立工作与协助工作"),
        "watch": monthly_chart(monthly, watch_series, kind="line",
                               label=f"{scope_name}近{span}个月每月投诉、查实、第十九条事件与失效证件被扫次数"),
        "staff": monthly_chart(monthly, staff_series, label=f"{scope_name}近{span}个月每月聘用与离职人数"),
        "agencies": agencies_chart(
            [m.agency.name for m in busiest],
            [("独立工作", [m.tasks_recent.get("independent", 0) for m in busiest]),
             ("协助工作", [m.tasks_recent.get("assisted", 0) for m in busiest])],
            label=f"近30天工作记录最多的{len(busiest)}个机关：独立工作与协助工作"),
    }
    return render(
        "dashboard.html", caller=caller, title="使用情况统计", section="dashboard", generated_at=every.generated_at,
        rows=rows, columns=COLUMNS, sort=column.key, descending=descending, sort_link=sort_link, monthly=monthly,
        charts=charts, tasks_series=tasks_series, watch_series=watch_series, staff_series=staff_series,
        busiest=busiest, months=span, month_options=MONTHS, agency=base["agency"], scope_name=scope_name,
        agencies=sorted(((m.agency.id, m.agency.name) for m in every.agencies), key=lambda i: i[1]),
        totals={k: total(k) for k in ("quota", "used", "active", "independent", "assisted", "pending", "open",
                                      "overdue", "article19", "dead")},
        unassigned=(every.unassigned_open, every.unassigned_overdue), figures=dict(FIGURES),
    )

