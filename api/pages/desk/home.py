"""The desk's first page: what waits for the caller today, in the figures of 第三十条 (their own agency's,
or the whole city's for the justice bureau), each a link to the page where it is handled."""

from fastapi import APIRouter, Response
from sqlalchemy import func, select

from api.deps import SessionDep
from api.domain.models import RectificationOrder, RectificationStatus, Role
from api.domain.oversight.rectification import beijing_today, orders_query
from api.domain.oversight.reports import metrics, metrics_agencies
from api.pages.desk.web import CallerDep, DeskRoute, render, see_other

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)


@router.get("")
def desk_root() -> Response:
    return see_other("/desk/")


@router.get("/")
def home(session: SessionDep, caller: CallerDep) -> Response:
    user = caller.user
    figures = metrics(session, agencies=metrics_agencies(session, user=user, agency_id=None),
                      include_unassigned=user.role == Role.JUSTICE_ADMIN)
    rows = figures.agencies

    def total(key: str) -> int:
        return sum(int(getattr(m, key)) for m in rows)

    # What waits for this caller: an agency answers orders, the bureau decides on answers.
    waiting = (RectificationStatus.ANSWERED,) if caller.justice else (RectificationStatus.ISSUED,
                                                                      RectificationStatus.REOPENED)
    orders = orders_query(user=user, status=None, overdue=None, today=beijing_today()).where(
        RectificationOrder.status.in_(waiting))
    kpis = {
        "active": sum(m.auxiliaries.get("active", 0) for m in rows),
        "pending_training": sum(m.auxiliaries.get("pending_training", 0) for m in rows),
        "used": sum(m.agency.headcount_used for m in rows), "quota": sum(m.agency.headcount_quota for m in rows),
        "complaints_open": total("complaints_open") + (figures.unassigned_open or 0),
        "complaints_overdue": total("complaints_overdue") + (figures.unassigned_overdue or 0),
        "pending_cosign": total("pending_cosign"),
        "dead_badge_scans": total("dead_badge_scans_recent"),
        "article19": total("article19_cases_recent"),
        "orders": session.scalar(select(func.count()).select_from(orders.subquery())) or 0,
    }
    return render("home.html", caller=caller, title="工作台", section="home", k=kpis,
                  generated_at=figures.generated_at)
