"""Rectification orders (第二十九条): the justice bureau orders the agency whose staff asked for forbidden work to
rectify by a date, the agency answers, the bureau closes or reopens; overdue orders are listed; every step is
kept and logged."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.domain.base import BEIJING
from api.domain.models import Agency, Article19Case, RectificationOrder, RectificationStatus, Role, User
from api.domain.oversight.rectification import beijing_today, issue_order
from api.settings import Settings
from tests.conftest import make_settings
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user, task_payload
from tests.logged import assert_log_verifies, logged_actions
from tests.problems import assert_problem


@pytest.fixture
def app_settings(data_dir: Path, tmp_path: Path) -> Settings:
    return make_settings(data_dir, log_dir=tmp_path / "log")


@dataclass
class Scene:
    district: Agency
    street: Agency
    justice_user: User
    justice: dict[str, str]
    street_admin: dict[str, str]
    district_admin: dict[str, str]
    case: Article19Case


def _case(client: TestClient, db: Session, aux: dict[str, str], officer_id: uuid.UUID) -> Article19Case:
    body = task_payload(category="inspection", officer_id=str(officer_id), flags={"fine_quota": True})
    assert_problem(client.post("/api/tasks", json=body, headers=aux), 422, "forbidden_work", "第十九条")
    case = db.scalar(select(Article19Case).where(Article19Case.attempt_id == uuid.UUID(body["id"])))
    assert case is not None
    return case


def _scene(client: TestClient, db: Session) -> Scene:
    """A street's officer asked an auxiliary seconded to it by the district for work against a fine quota."""
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, officer = make_officer(db, street)
    aux_user, _ = make_auxiliary(db, district, command_agency=street)
    case = _case(client, db, login(client, aux_user), officer.id)
    justice_user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    return Scene(district, street, justice_user, login(client, justice_user),
                 login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=street)),
                 login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=district)), case)


def _due(days: int = 14) -> str:
    return (beijing_today() + timedelta(days=days)).isoformat()


def _issue(client: TestClient, s: Scene, **body: Any) -> Response:
    return client.post(f"/api/article19-cases/{s.case.id}/rectification", headers=s.justice,
                       json={"instructions": "撤销罚款指标，书面报告整改情况", "due_on": _due(), **body})


def _step(client: TestClient, order_id: str, action: str, headers: dict[str, str], **body: Any) -> Response:
    return client.post(f"/api/rectification-orders/{order_id}/{action}", json=body or None, headers=headers)


def test_the_order_goes_to_the_agency_whose_staff_asked(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    r = _issue(client, s)
    assert r.status_code == 201, r.text
    order = r.json()
    assert (order["agency_id"], order["status"], order["overdue"]) == (str(s.street.id), "issued", False)
    assert order["case"]["id"] == str(s.case.id) and order["case"]["requested_by"]["role"] == "officer"
    assert [f["flag"] for f in order["case"]["flags"]] == ["fine_quota"]
    assert [(h["action"], h["to_status"], h["due_on"]) for h in order["history"]] == [("issue", "issued", _due())]
    # The employer of the seconded auxiliary did not ask: the order is not theirs to see or answer.
    assert client.get("/api/rectification-orders", headers=s.district_admin).json()["items"] == []
    assert_problem(_step(client, order["id"], "answer", s.district_admin, measures="无"), 404, "not_found")
    assert logged_actions(client, db, "rectification_orders", order["id"]) == ["rectification.issue"]
    assert_log_verifies(client, db)


def test_only_the_justice_bureau_orders_once_per_case_and_not_in_the_past(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    url = f"/api/article19-cases/{s.case.id}/rectification"
    body = {"instructions": "整改", "due_on": _due()}
    assert_problem(client.post(url, json=body, headers=s.street_admin), 403, "role_not_allowed")
    assert_problem(client.post(f"/api/article19-cases/{uuid.uuid4()}/rectification", json=body, headers=s.justice),
                   404, "not_found")
    assert_problem(_issue(client, s, due_on=_due(-1)), 422, "due_date_passed", "第二十九条")
    assert_problem(_issue(client, s, instructions="   "), 422, "validation_error")
    first = _issue(client, s, due_on=_due(0))  # today, in Beijing, is still a date to keep
    assert first.status_code == 201, first.text
    again = assert_problem(_issue(client, s), 409, "rectification_order_exists", "第二十九条")
    assert again["order_id"] == first.json()["id"]


def test_answer_close_and_reopen_follow_the_state_machine(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    order = _issue(client, s).json()
    oid = order["id"]
    for action, body in (("close", {}), ("reopen", {"reason": "x", "due_on": _due()})):
        assert_problem(_step(client, oid, action, s.justice, **body), 409, "invalid_order_transition", "第二十九条")
    assert_problem(_step(client, oid, "answer", s.justice, measures="无"), 403, "role_not_allowed")
    measures = "已撤销罚款指标，对相关人员诫勉谈话"
    answered = _step(client, oid, "answer", s.street_admin, measures=f" {measures} ")
    assert answered.status_code == 200, answered.text
    assert (answered.json()["status"], answered.json()["measures"]) == ("answered", measures)
    assert answered.json()["answered_at"]
    assert_problem(_step(client, oid, "answer", s.street_admin, measures="再答"), 409, "invalid_order_transition",
                   "第二十九条")
    assert_problem(_step(client, oid, "close", s.street_admin), 403, "role_not_allowed")
    assert_problem(_step(client, oid, "reopen", s.justice, reason="未处理相关人员", due_on=_due(-1)), 422,
                   "due_date_passed", "第二十九条")
    reopened = _step(client, oid, "reopen", s.justice, reason="未说明对相关执法人员的处理", due_on=_due(30)).json()
    assert (reopened["status"], reopened["due_on"]) == ("reopened", _due(30))
    assert _step(client, oid, "answer", s.street_admin, measures="已给予王某批评教育").json()["status"] == "answered"
    closed = _step(client, oid, "close", s.justice, note="整改到位")
    assert closed.status_code == 200 and closed.json()["closed_at"]
    for action, headers, body in (("answer", s.street_admin, {"measures": "x"}), ("close", s.justice, {}),
                                  ("reopen", s.justice, {"reason": "x", "due_on": _due()})):
        assert_problem(_step(client, oid, action, headers, **body), 409, "invalid_order_transition", "第二十九条")
    history = client.get(f"/api/rectification-orders/{oid}", headers=s.street_admin).json()["history"]
    assert [(h["action"], h["from_status"], h["to_status"]) for h in history] == [
        ("issue", None, "issued"), ("answer", "issued", "answered"), ("reopen", "answered", "reopened"),
        ("answer", "reopened", "answered"), ("close", "answered", "closed")]
    assert [h["text"] for h in history][2:] == ["未说明对相关执法人员的处理", "已给予王某批评教育", "整改到位"]
    assert logged_actions(client, db, "rectification_orders", oid) == [
        "rectification.issue", "rectification.answer", "rectification.reopen", "rectification.answer",
        "rectification.close"]
    assert_log_verifies(client, db)


def test_close_needs_no_body(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    oid = _issue(client, s).json()["id"]
    _step(client, oid, "answer", s.street_admin, measures="已整改")
    r = client.post(f"/api/rectification-orders/{oid}/close", headers=s.justice)
    assert r.status_code == 200 and r.json()["history"][-1]["text"] is None


def _overdue_order(db: Session, s: Scene) -> RectificationOrder:
    """An order issued three weeks ago, due a week ago (issued through the domain, as the demo does)."""
    now = datetime.now(UTC)
    return issue_order(db, actor=s.justice_user, case_id=s.case.id, instructions="限期整改",
                       due_on=beijing_today(now) - timedelta(days=7), now=now - timedelta(days=21))


def test_overdue_orders_are_listed_against_beijing_today(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    late = _overdue_order(db, s)
    other = _scene(client, db)
    on_time = _issue(client, other).json()
    overdue = client.get("/api/rectification-orders?overdue=true&limit=100", headers=s.justice).json()["items"]
    assert str(late.id) in {o["id"] for o in overdue} and all(o["overdue"] for o in overdue)
    assert on_time["id"] not in {o["id"] for o in overdue}
    rest = client.get("/api/rectification-orders?overdue=false&limit=100", headers=s.justice).json()["items"]
    assert on_time["id"] in {o["id"] for o in rest} and not any(o["overdue"] for o in rest)
    # The agency sees its own order, overdue; answering it (late) takes it off the overdue list.
    [mine] = client.get("/api/rectification-orders?overdue=true", headers=s.street_admin).json()["items"]
    assert mine["id"] == str(late.id)
    assert _step(client, mine["id"], "answer", s.street_admin, measures="已整改").json()["overdue"] is False
    assert client.get("/api/rectification-orders?overdue=true", headers=s.street_admin).json()["items"] == []
    assert_log_verifies(client, db)


def test_an_order_is_overdue_from_the_next_beijing_day() -> None:
    order = RectificationOrder(due_on=date(2026, 12, 6), status=RectificationStatus.ISSUED)
    assert beijing_today(datetime(2026, 12, 6, 15, 59, tzinfo=UTC)) == date(2026, 12, 6)
    assert beijing_today(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)) == date(2026, 12, 7)
    assert not order.overdue(date(2026, 12, 6)) and order.overdue(date(2026, 12, 7))
    for status in (RectificationStatus.ANSWERED, RectificationStatus.CLOSED):
        assert not RectificationOrder(due_on=date(2026, 12, 6), status=status).overdue(date(2027, 1, 1))
    assert RectificationOrder(due_on=date(2026, 12, 6), status=RectificationStatus.REOPENED).overdue(
        datetime(2026, 12, 8, tzinfo=BEIJING).date())


def test_the_list_filters_by_status_and_is_for_admins_only(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    oid = _issue(client, s).json()["id"]
    _step(client, oid, "answer", s.street_admin, measures="已整改")
    answered = client.get("/api/rectification-orders?status=answered&limit=100", headers=s.justice).json()["items"]
    assert oid in {o["id"] for o in answered} and {o["status"] for o in answered} == {"answered"}
    assert client.get("/api/rectification-orders?status=issued", headers=s.street_admin).json()["items"] == []
    assert_problem(client.get("/api/rectification-orders?status=done", headers=s.justice), 422, "validation_error")
    officer_user, _ = make_officer(db, s.street)
    assert_problem(client.get("/api/rectification-orders", headers=login(client, officer_user)), 403,
                   "role_not_allowed")
    assert_problem(client.get(f"/api/rectification-orders/{oid}", headers=s.district_admin), 404, "not_found")


def test_article19_cases_show_where_their_order_stands(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    _, officer = make_officer(db, s.street)
    aux_user, _ = make_auxiliary(db, s.street)
    without = _case(client, db, login(client, aux_user), officer.id)
    order = _issue(client, s).json()
    items = {c["id"]: c for c in client.get("/api/article19-cases?limit=100", headers=s.street_admin).json()["items"]}
    assert items[str(s.case.id)]["rectification"] == {"id": order["id"], "status": "issued", "due_on": _due(),
                                                       "overdue": False}
    assert items[str(without.id)]["rectification"] is None


@pytest.mark.parametrize("statement", [
    "UPDATE rectification_events SET text = 'x'", "DELETE FROM rectification_events",
    "DELETE FROM rectification_orders",
])
def test_the_database_refuses_to_rewrite_an_orders_history(client: TestClient, db: Session, statement: str) -> None:
    s = _scene(client, db)
    assert _issue(client, s).status_code == 201
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))
