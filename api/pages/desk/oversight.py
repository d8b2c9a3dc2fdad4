"""Article 19 cases and rectification orders (第十九条、第二十九条) at the desk: the cases the caller may see,
the order the justice bureau issues on one, the agency's answer, the bureau's close or reopen: each form the
domain function of the API's route, which decides who may take which step."""

import uuid
from collections.abc import Callable, Sequence
from typing import Any, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import Select
from sqlalchemy.orm import Session

from api.deps import SessionDep
from api.domain.fieldwork.article19 import article19_cases_visible_to, case_parties
from api.domain.models import Article19Case, RectificationOrder
from api.domain.oversight.rectification import (
    answer_order,
    beijing_today,
    close_order,
    issue_order,
    order_cases,
    order_events,
    orders_of_cases,
    orders_query,
    reopen_order,
)
from api.domain.pagination import paginate
from api.pages.desk.staff import agency_names, parse_id
from api.pages.desk.web import (
    Caller,
    CallerDep,
    DeskRoute,
    PostedDep,
    attempt,
    field_errors,
    refusal,
    render,
    see_other,
)
from schemas.rectification import RectificationAnswer, RectificationClose, RectificationCreate, RectificationReopen

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)
FIELD_OF = {"due_date_passed": "due_on"}
Errors = dict[uuid.UUID, dict[str, str]]


def _cases_page(session: Session, caller: Caller, *, cursor: str = "", status: int = 200,
                errors: Errors | None = None, values: dict[uuid.UUID, dict[str, str]] | None = None) -> Response:
    rows, next_cursor = paginate(session, cast("Select[tuple[Article19Case]]", article19_cases_visible_to(caller.user)),
                                 created=Article19Case.created_at, key=Article19Case.id, limit=30,
                                 cursor=cursor[:200] or None)
    users, auxes = case_parties(session, rows)
    return render("cases.html", caller=caller, status=status, title="第十九条事件", section="cases", rows=rows,
                  users=users, auxes=auxes, orders=orders_of_cases(session, [c.id for c in rows]),
                  names=agency_names(session), today=beijing_today(), errors=errors or {}, values=values or {},
                  next_url=f"/desk/cases?{urlencode({'cursor': next_cursor})}" if next_cursor else "")


@router.get("/cases")
def cases(session: SessionDep, caller: CallerDep, cursor: str = "") -> Response:
    return _cases_page(session, caller, cursor=cursor)


def _checked(schema: type[BaseModel], values: dict[str, str]) -> tuple[Any, dict[str, str]]:
    try:
        return schema.model_validate({k: v or None for k, v in values.items()}), {}
    except ValidationError as exc:
        return None, field_errors(exc)


@router.post("/cases/{case_id}/rectification")
def order_rectification(session: SessionDep, posted: PostedDep, case_id: str) -> Response:
    case = parse_id(case_id, "article 19 case", "第十九条案件")
    values = {"instructions": posted.text("instructions"), "due_on": posted.text("due_on")}
    body, errors = _checked(RectificationCreate, values)
    if body is not None:
        _, error = attempt(session, lambda: issue_order(session, actor=posted.caller.user, case_id=case,
                                                        instructions=body.instructions, due_on=body.due_on))
        if error is None:
            return see_other("/desk/rectification?done=issued")
        errors = {FIELD_OF.get(error.code, "_"): refusal(error)}
        status = error.status
    else:
        status = 422
    return _cases_page(session, posted.caller, status=status, errors={case: errors}, values={case: values})


def _orders_page(session: Session, caller: Caller, *, overdue: str = "", cursor: str = "", done: str = "",
                 status: int = 200, errors: Errors | None = None,
                 values: dict[uuid.UUID, dict[str, str]] | None = None) -> Response:
    today = beijing_today()
    stmt = orders_query(user=caller.user, status=None, overdue=True if overdue else None, today=today)
    rows: Sequence[RectificationOrder]
    rows, next_cursor = paginate(session, cast("Select[tuple[RectificationOrder]]", stmt),
                                 created=RectificationOrder.created_at, key=RectificationOrder.id, limit=30,
                                 cursor=cursor[:200] or None)
    cases_by_id = order_cases(session, rows)
    users, auxes = case_parties(session, list(cases_by_id.values()))
    filters = {"overdue": "1"} if overdue else {}
    next_url = f"/desk/rectification?{urlencode({**filters, 'cursor': next_cursor})}" if next_cursor else ""
    return render("rectification.html", caller=caller, status=status, title="整改通知", section="rectification",
                  rows=rows, cases=cases_by_id, users=users, auxes=auxes,
                  history=order_events(session, [o.id for o in rows]), names=agency_names(session), today=today,
                  overdue=bool(overdue), done=done, errors=errors or {}, values=values or {}, next_url=next_url)


@router.get("/rectification")
def rectification(session: SessionDep, caller: CallerDep, overdue: str = "", cursor: str = "",
                  done: str = "") -> Response:
    return _orders_page(session, caller, overdue=overdue, cursor=cursor, done=done)


def _step(session: Session, posted: Any, order_id: str, schema: type[BaseModel], fields: tuple[str, ...],
          act: Callable[[uuid.UUID, Any], object], done: str) -> Response:
    order = parse_id(order_id, "rectification order", "整改单")
    values = {k: posted.text(k) for k in fields}
    body, errors = _checked(schema, values)
    status = 422
    if body is not None:
        _, error = attempt(session, lambda: act(order, body))
        if error is None:
            return see_other(f"/desk/rectification?done={done}")
        errors, status = {FIELD_OF.get(error.code, "_"): refusal(error)}, error.status
    return _orders_page(session, posted.caller, status=status, errors={order: errors}, values={order: values})


@router.post("/rectification/{order_id}/answer")
def answer(session: SessionDep, posted: PostedDep, order_id: str) -> Response:
    return _step(session, posted, order_id, RectificationAnswer, ("measures",), lambda o, b: answer_order(
        session, actor=posted.caller.user, order_id=o, measures=b.measures), "answered")


@router.post("/rectification/{order_id}/close")
def close(session: SessionDep, posted: PostedDep, order_id: str) -> Response:
    return _step(session, posted, order_id, RectificationClose, ("note",), lambda o, b: close_order(
        session, actor=posted.caller.user, order_id=o, note=b.note), "closed")


@router.post("/rectification/{order_id}/reopen")
def reopen(session: SessionDep, posted: PostedDep, order_id: str) -> Response:
    return _step(session, posted, order_id, RectificationReopen, ("reason", "due_on"), lambda o, b: reopen_order(
        session, actor=posted.caller.user, order_id=o, reason=b.reason, due_on=b.due_on), "reopened")
