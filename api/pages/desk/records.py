"""Three pages of records kept for oversight: scans of dead badges (alerts), the December roster's files
(第十二条, the API's own export, opened with the desk's session), and the state of the transparency log
(第十条(三): the newest signed checkpoint, the last passing check, and a check run now by the justice bureau)."""

import base64
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Response
from sqlalchemy.orm import Session

from api.deps import ContextDep, SessionDep
from api.domain.audit.check import LogReport, verify_log
from api.domain.audit.checkpoints import latest_checkpoint
from api.domain.audit.verified import load_verified
from api.domain.base import BEIJING, utcnow
from api.domain.errors import Forbidden
from api.domain.organisation.agencies import list_agencies
from api.domain.staff.alerts import list_alerts
from api.pages.desk.web import Caller, CallerDep, DeskRoute, PostedDep, render

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)
REASONS = {"row_altered": "记录被改动", "row_removed": "记录被删除", "row_unlogged": "有记录未入日志",
           "file_altered": "证据文件被改动", "file_missing": "证据文件缺失", "log_truncated": "日志被截短",
           "log_rewritten": "日志被改写", "bad_signature": "检查点签名无效"}


@router.get("/alerts")
def alerts(session: SessionDep, caller: CallerDep, cursor: str = "") -> Response:
    rows, next_cursor = list_alerts(session, user=caller.user, agency_id=None, since=None, limit=50,
                                    cursor=cursor[:200] or None)
    return render("alerts.html", caller=caller, title="失效证件告警", section="alerts", rows=rows,
                  next_url=f"/desk/alerts?{urlencode({'cursor': next_cursor})}" if next_cursor else "")


@router.get("/roster")
def roster_page(session: SessionDep, caller: CallerDep, year: str = "", agency: str = "") -> Response:
    this_year = utcnow().astimezone(BEIJING).year
    years = list(range(this_year, this_year - 6, -1))
    chosen = int(year) if year.isdigit() and int(year) in years else this_year
    agencies = sorted(list_agencies(session), key=lambda a: a.name) if caller.justice else []
    agency_id = next((str(a.id) for a in agencies if str(a.id) == agency), "")
    query: dict[str, Any] = {"year": chosen}
    if agency_id:
        query["agency_id"] = agency_id
    links = {fmt: "/api/reports/roster?" + urlencode({**query, "format": fmt}) for fmt in ("xlsx", "csv")}
    return render("roster.html", caller=caller, title="名册下载", section="roster", years=years, year=chosen,
                  agencies=agencies, agency=agency_id, links=links)


def _log_page(session: Session, ctx: Any, caller: Caller, *, report: LogReport | None = None) -> Response:
    checkpoint = latest_checkpoint(session)
    verified = load_verified(ctx.log)
    verified_at = datetime.fromisoformat(verified.at) if verified else None
    return render("log.html", caller=caller, title="日志状态", section="log", checkpoint=checkpoint,
                  root_b64=base64.b64encode(checkpoint.root).decode() if checkpoint else "",
                  root_hex=checkpoint.root.hex() if checkpoint else "", verified=verified, verified_at=verified_at,
                  origin=ctx.log.origin, report=report, reasons=REASONS)


@router.get("/log")
def log_state(ctx: ContextDep, session: SessionDep, caller: CallerDep) -> Response:
    return _log_page(session, ctx, caller)


@router.post("/log/verify")
def verify_now(ctx: ContextDep, session: SessionDep, posted: PostedDep) -> Response:
    if not posted.caller.justice:
        # As GET /api/audit/verify: the check reads every record, for the justice bureau only.
        raise Forbidden("role_not_allowed", "只有司法行政部门可以校验日志", "only the justice bureau checks the log")
    report = verify_log(session, ctx.log, evidence_dir=ctx.storage)
    return _log_page(session, ctx, posted.caller, report=report)
