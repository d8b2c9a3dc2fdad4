"""Forbidden work (第十九条): refused, and the attempt kept as a case against whoever asked (第二十九条)."""

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.duties import FORBIDDEN_FLAGS
from api.domain.models import Article19Case, AuxiliaryStatus, Role, Task
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user, task_payload
from tests.problems import assert_problem


def _cases(db: Session, attempt_id: str) -> list[Article19Case]:
    return list(db.scalars(select(Article19Case).where(Article19Case.attempt_id == uuid.UUID(attempt_id))))


@pytest.mark.parametrize("flag", FORBIDDEN_FLAGS)
def test_each_forbidden_flag_refuses_the_task_and_opens_a_case(
    client: TestClient, db: Session, flag: str
) -> None:
    aux_user, aux = make_auxiliary(db, make_agency(db))
    body = task_payload(flags={flag: True})
    r = client.post("/api/tasks", json=body, headers=login(client, aux_user))
    assert assert_problem(r, 422, "forbidden_work", "第十九条")["flags"] == [flag]
    assert db.get(Task, uuid.UUID(body["id"])) is None
    [case] = _cases(db, body["id"])
    assert (case.requested_by, case.reported_by, case.auxiliary_id) == (aux_user.id, aux_user.id, aux.id)
    assert case.flags == [flag]
    assert case.request["description"] == body["description"]
    assert verify_log(db).ok


def test_the_named_officer_is_the_one_who_asked(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    body = task_payload(category="inspection", officer_id=str(officer.id), flags={"in_officer_name": True})
    r = client.post("/api/tasks", json=body, headers=login(client, aux_user))
    assert_problem(r, 422, "forbidden_work", "第十九条")
    [case] = _cases(db, body["id"])
    assert (case.requested_by, case.reported_by) == (officer_user.id, aux_user.id)


def test_an_officer_of_another_agency_is_not_blamed(client: TestClient, db: Session) -> None:
    _, stranger = make_officer(db, make_agency(db))
    aux_user, _ = make_auxiliary(db, make_agency(db))
    body = task_payload(category="inspection", officer_id=str(stranger.id), flags={"state_secret": True})
    client.post("/api/tasks", json=body, headers=login(client, aux_user))
    [case] = _cases(db, body["id"])
    assert case.requested_by == aux_user.id


def test_a_retried_attempt_is_one_case(client: TestClient, db: Session) -> None:
    aux_user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, aux_user)
    body = task_payload(flags={"fine_quota": True})
    for _ in range(3):
        assert_problem(client.post("/api/tasks", json=body, headers=headers), 422, "forbidden_work", "第十九条")
    assert len(_cases(db, body["id"])) == 1


def test_forbidden_work_is_checked_before_the_duty_rules(client: TestClient, db: Session) -> None:
    aux_user, _ = make_auxiliary(db, make_agency(db), categories=["patrol"])
    body = task_payload(category="technical", flags={"needs_professional_qualification": True})
    r = client.post("/api/tasks", json=body, headers=login(client, aux_user))
    assert_problem(r, 422, "forbidden_work", "第十九条")


def test_without_a_credential_no_case_is_opened(client: TestClient, db: Session) -> None:
    aux_user, _ = make_auxiliary(db, make_agency(db), status=AuxiliaryStatus.SUSPENDED)
    body = task_payload(flags={"fine_quota": True})
    r = client.post("/api/tasks", json=body, headers=login(client, aux_user))
    assert_problem(r, 403, "credential_not_active", "第二十三条")
    assert _cases(db, body["id"]) == []


def test_a_correction_asking_forbidden_work_opens_a_case_and_leaves_the_original(
    client: TestClient, db: Session
) -> None:
    aux_user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, aux_user)
    original = client.post("/api/tasks", json=task_payload(), headers=headers).json()
    fix = task_payload(flags={"in_officer_name": True})
    r = client.post(f"/api/tasks/{original['id']}/corrections", json=fix, headers=headers)
    assert_problem(r, 422, "forbidden_work", "第十九条")
    assert len(_cases(db, fix["id"])) == 1
    assert client.get(f"/api/tasks/{original['id']}", headers=headers).json()["status"] == "recorded"


def test_cases_are_listed_for_the_justice_bureau_and_the_agency(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    officer_user, officer = make_officer(db, street)
    aux_user, aux = make_auxiliary(db, district, command_agency=street)
    body = task_payload(category="inspection", officer_id=str(officer.id),
                        flags={"in_officer_name": True, "fine_quota": True})
    client.post("/api/tasks", json=body, headers=login(client, aux_user))

    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    r = client.get("/api/article19-cases?limit=100", headers=justice)
    assert r.status_code == 200
    [case] = [c for c in r.json()["items"] if c["attempt_id"] == body["id"]]
    assert case["requested_by"] == {"id": str(officer_user.id), "name": officer_user.name, "role": "officer"}
    assert case["reported_by"]["id"] == str(aux_user.id)
    assert case["auxiliary"] == {"id": str(aux.id), "name": aux.name, "badge_no": aux.badge_no}
    assert {f["flag"]: f["item"] for f in case["flags"]} == {"in_officer_name": "（三）", "fine_quota": "（一）"}
    assert all(f["article"] == "第十九条" and f["name"] for f in case["flags"])
    assert case["request"]["officer_id"] == str(officer.id)

    for agency in (district, street):
        admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
        items = client.get("/api/article19-cases", headers=admin).json()["items"]
        assert [c["attempt_id"] for c in items] == [body["id"]]
    outsider = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    assert client.get("/api/article19-cases", headers=outsider).json()["items"] == []
    assert_problem(client.get("/api/article19-cases", headers=login(client, aux_user)), 403, "role_not_allowed")
    assert_problem(client.get("/api/article19-cases", headers=login(client, officer_user)), 403, "role_not_allowed")


def test_case_list_pages(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    aux_user, _ = make_auxiliary(db, agency)
    headers = login(client, aux_user)
    for _ in range(3):
        client.post("/api/tasks", json=task_payload(flags={"state_secret": True}), headers=headers)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    first = client.get("/api/article19-cases?limit=2", headers=admin).json()
    second = client.get(f"/api/article19-cases?limit=2&cursor={first['next_cursor']}", headers=admin).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1 and second["next_cursor"] is None
    total = db.scalar(select(func.count()).select_from(Article19Case).where(Article19Case.agency_id == agency.id))
    assert total == 3
