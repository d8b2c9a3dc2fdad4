"""The times a phone puts on field work (API: time_in_future, time_too_old) and work done before a suspension
that reaches the service after it: kept and flagged, never lost; work done after it refused (第二十三条)."""


import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import Agency, Role, User
from tests.factories import ago, beijing, login, make_agency, make_auxiliary, make_user, shift_payload, task_payload
from tests.problems import assert_problem

IN_2030 = "2030-01-01T09:00:00+08:00"


def _aux(client: TestClient, db: Session) -> tuple[Agency, User, dict[str, str]]:
    agency = make_agency(db)
    user, _ = make_auxiliary(db, agency)
    return agency, user, login(client, user)


@pytest.mark.parametrize(
    ("path", "field", "minutes_ahead"),
    [("/api/tasks", "started_at", None), ("/api/tasks", "ended_at", 10), ("/api/shifts/check-in", "at", None),
     ("/api/shifts/check-in", "at", 6)],
)
def test_times_ahead_of_the_server_are_refused(
    client: TestClient, db: Session, path: str, field: str, minutes_ahead: int | None
) -> None:
    _, _, headers = _aux(client, db)
    # Taken when the test runs, not when it is collected: minutes may pass in between.
    at = IN_2030 if minutes_ahead is None else ago(minutes=-minutes_ahead)
    body = task_payload(**{field: at}, **({"ended_at": None} if field == "started_at" else {})) \
        if path == "/api/tasks" else shift_payload(at=at)
    problem = assert_problem(client.post(path, json=body, headers=headers), 422, "time_in_future")
    assert problem["field"] == field and "server_time" in problem


def test_a_phone_a_few_minutes_fast_is_believed(client: TestClient, db: Session) -> None:
    _, _, headers = _aux(client, db)
    r = client.post("/api/shifts/check-in", json=shift_payload(at=ago(minutes=-4)), headers=headers)
    assert r.status_code == 201, r.text
    r = client.post("/api/tasks", json=task_payload(started_at=ago(minutes=30), ended_at=ago(minutes=-4)),
                    headers=headers)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("when", ["31 days ago", "before the hire"])
def test_work_long_past_or_before_the_hire_is_refused(client: TestClient, db: Session, when: str) -> None:
    _, _, headers = _aux(client, db)
    at = ago(days=31) if when == "31 days ago" else "2024-02-29T09:00:00+08:00"  # the factories hire on 1 March
    assert_problem(client.post("/api/tasks", json=task_payload(started_at=at, ended_at=None), headers=headers),
                   422, "time_too_old")
    assert_problem(client.post("/api/shifts/check-in", json=shift_payload(at=at), headers=headers),
                   422, "time_too_old")


def test_ended_at_before_started_at_is_refused(client: TestClient, db: Session) -> None:
    _, _, headers = _aux(client, db)
    r = client.post("/api/tasks", json=task_payload(started_at=beijing(9), ended_at=beijing(8)), headers=headers)
    assert_problem(r, 422, "validation_error")


def _suspend(client: TestClient, db: Session, agency: Agency, aux_user: User) -> None:
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    me = client.get("/api/me", headers=login(client, aux_user)).json()
    r = client.post(f"/api/auxiliaries/{me['auxiliary_id']}/suspend", json={"reason": "投诉调查期间暂停"},
                    headers=admin)
    assert r.status_code == 200, r.text


def test_a_day_recorded_offline_before_a_suspension_is_kept_and_flagged(client: TestClient, db: Session) -> None:
    agency, user, headers = _aux(client, db)
    shifts = [{"kind": "check_in", **shift_payload(at=ago(hours=5))},
              {"kind": "check_out", **shift_payload(at=ago(hours=1))}]
    before = task_payload(started_at=ago(hours=4), ended_at=ago(hours=3))
    _suspend(client, db, agency, user)
    after = task_payload(started_at=ago(seconds=0), ended_at=None)
    r = client.post("/api/sync", json={"tasks": [before, after], "shifts": shifts}, headers=headers).json()
    assert [s["result"] for s in r["shifts"]] == ["created", "created"]
    assert all(s["record"]["recorded_before_suspension"] for s in r["shifts"])
    assert r["tasks"][0]["result"] == "created" and r["tasks"][0]["record"]["recorded_before_suspension"] is True
    assert (r["tasks"][1]["problem"]["code"], r["tasks"][1]["problem"]["article"]) == (
        "credential_not_active", "第二十三条")
    stored = client.get(f"/api/tasks/{before['id']}", headers=headers).json()
    assert stored["recorded_before_suspension"] is True
    assert verify_log(db).ok


def test_one_record_at_a_time_after_a_suspension(client: TestClient, db: Session) -> None:
    agency, user, headers = _aux(client, db)
    _suspend(client, db, agency, user)
    r = client.post("/api/tasks", json=task_payload(started_at=ago(hours=2), ended_at=ago(hours=1)), headers=headers)
    assert r.status_code == 201 and r.json()["recorded_before_suspension"] is True
    r = client.post("/api/shifts/check-in", json=shift_payload(at=ago(hours=3)), headers=headers)
    assert r.status_code == 201 and r.json()["recorded_before_suspension"] is True
    assert_problem(client.post("/api/shifts/check-out", json=shift_payload(at=ago(seconds=0)), headers=headers),
                   403, "credential_not_active", "第二十三条")


def test_work_of_an_active_auxiliary_is_not_flagged(client: TestClient, db: Session) -> None:
    _, _, headers = _aux(client, db)
    r = client.post("/api/tasks", json=task_payload(), headers=headers)
    assert r.status_code == 201 and r.json()["recorded_before_suspension"] is False
