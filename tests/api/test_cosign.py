"""A record's life after it is made: the named officer co-signs it (第八条), and corrections add versions
while the original stays (第十条(三))."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import Agency, Cosignature, Officer, Task, User
from tests.factories import login, make_agency, make_auxiliary, make_officer, task_payload
from tests.problems import assert_problem


def _assisted(client: TestClient, db: Session) -> tuple[Agency, dict[str, str], User, Officer, dict[str, Any]]:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    aux_h = login(client, aux_user)
    r = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                    headers=aux_h)
    assert r.status_code == 201
    return agency, aux_h, officer_user, officer, r.json()


def _cosignatures(db: Session, task_id: str) -> int:
    stmt = select(func.count()).select_from(Cosignature).where(Cosignature.task_id == uuid.UUID(task_id))
    return db.scalar(stmt) or 0


@pytest.mark.parametrize(("decision", "status"), [("approve", "cosigned"), ("reject", "rejected")])
def test_the_named_officer_decides_an_assisted_record(
    client: TestClient, db: Session, decision: str, status: str
) -> None:
    _, aux_h, officer_user, officer, task = _assisted(client, db)
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": decision, "note": "属实",
                                                              "lat": 32.04, "lon": 118.78},
                    headers=login(client, officer_user))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == status and body["cosigned_at"] is not None
    assert body["cosignature"]["officer_id"] == str(officer.id) and body["cosignature"]["decision"] == decision
    assert client.get(f"/api/tasks/{task['id']}", headers=aux_h).json()["status"] == status
    assert verify_log(db).ok


def test_another_officer_cannot_cosign_article_8(client: TestClient, db: Session) -> None:
    agency, aux_h, _, _, task = _assisted(client, db)
    colleague_user, _ = make_officer(db, agency)
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve"},
                    headers=login(client, colleague_user))
    assert_problem(r, 403, "not_named_officer", "第八条")
    assert _cosignatures(db, task["id"]) == 0
    assert client.get(f"/api/tasks/{task['id']}", headers=aux_h).json()["status"] == "pending_cosign"


def test_the_auxiliary_cannot_cosign_their_own_record(client: TestClient, db: Session) -> None:
    _, aux_h, _, _, task = _assisted(client, db)
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve"}, headers=aux_h)
    assert_problem(r, 403, "role_not_allowed")
    assert _cosignatures(db, task["id"]) == 0


def test_a_decided_record_cannot_be_cosigned_again(client: TestClient, db: Session) -> None:
    _, _, officer_user, _, task = _assisted(client, db)
    headers = login(client, officer_user)
    assert client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve"},
                       headers=headers).status_code == 200
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "reject"}, headers=headers)
    assert_problem(r, 409, "not_pending_cosign")
    assert _cosignatures(db, task["id"]) == 1
    assert db.get(Task, uuid.UUID(task["id"])).status == "cosigned"  # type: ignore[union-attr]


def test_an_independent_record_is_not_pending_cosign(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    # An independent duty may still name the officer present; it needs no co-signature.
    task = client.post("/api/tasks", json=task_payload(officer_id=str(officer.id)),
                       headers=login(client, aux_user)).json()
    assert task["status"] == "recorded"
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve"},
                    headers=login(client, officer_user))
    assert_problem(r, 409, "not_pending_cosign")


def test_an_officer_made_inactive_cannot_cosign(client: TestClient, db: Session) -> None:
    _, _, officer_user, officer, task = _assisted(client, db)
    headers = login(client, officer_user)
    officer.active = False
    db.flush()
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve"}, headers=headers)
    assert_problem(r, 403, "officer_not_available", "第八条")
    assert _cosignatures(db, task["id"]) == 0


@pytest.mark.parametrize("body", [{"decision": "maybe"}, {"decision": "approve", "lat": "NaN"},
                                  {"decision": "approve", "extra": 1}, {}])
def test_malformed_cosign_is_422(client: TestClient, db: Session, body: dict[str, Any]) -> None:
    _, _, officer_user, _, task = _assisted(client, db)
    r = client.post(f"/api/tasks/{task['id']}/cosign", json=body, headers=login(client, officer_user))
    assert_problem(r, 422, "validation_error")


def test_cosign_of_an_unknown_task_is_404(client: TestClient, db: Session) -> None:
    officer_user, _ = make_officer(db, make_agency(db))
    r = client.post(f"/api/tasks/{uuid.uuid4()}/cosign", json={"decision": "approve"},
                    headers=login(client, officer_user))
    assert_problem(r, 404, "not_found")


# Corrections


def test_a_correction_is_a_new_version_and_the_original_stays(client: TestClient, db: Session) -> None:
    aux_user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, aux_user)
    original = client.post("/api/tasks", json=task_payload(), headers=headers).json()
    fix = task_payload(description="新街口商圈巡查（更正：劝阻3起）")
    r = client.post(f"/api/tasks/{original['id']}/corrections", json=fix, headers=headers)
    assert r.status_code == 201, r.text
    new = r.json()
    assert (new["id"], new["version"], new["corrects_id"], new["status"]) == (fix["id"], 2, original["id"],
                                                                               "recorded")
    old = client.get(f"/api/tasks/{original['id']}", headers=headers).json()
    assert old["status"] == "superseded" and old["superseded_by"] == fix["id"]
    assert {k: v for k, v in old.items() if k not in ("status", "superseded_by")} == {
        k: v for k, v in original.items() if k not in ("status", "superseded_by")
    }
    again = client.post(f"/api/tasks/{original['id']}/corrections", json=task_payload(), headers=headers)
    assert_problem(again, 409, "already_superseded")
    third = client.post(f"/api/tasks/{fix['id']}/corrections", json=task_payload(), headers=headers)
    assert third.status_code == 201 and third.json()["version"] == 3
    assert verify_log(db).ok


def test_a_correction_sent_again_is_the_same_version(client: TestClient, db: Session) -> None:
    aux_user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, aux_user)
    original = client.post("/api/tasks", json=task_payload(), headers=headers).json()
    fix = task_payload(description="更正")
    url = f"/api/tasks/{original['id']}/corrections"
    first = client.post(url, json=fix, headers=headers)
    again = client.post(url, json=fix, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert_problem(client.post(url, json={**fix, "description": "别的"}, headers=headers), 409, "id_conflict")
    # The same id posted as a fresh task is other content: it was a correction.
    assert_problem(client.post("/api/tasks", json=fix, headers=headers), 409, "id_conflict")


def test_an_assisted_correction_goes_back_to_its_officer(client: TestClient, db: Session) -> None:
    _, aux_h, officer_user, officer, task = _assisted(client, db)
    officer_h = login(client, officer_user)
    client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve"}, headers=officer_h)
    fix = task_payload(category="inspection", officer_id=str(officer.id), description="补充检查情况")
    new = client.post(f"/api/tasks/{task['id']}/corrections", json=fix, headers=aux_h).json()
    assert new["status"] == "pending_cosign" and new["cosignature"] is None
    old = client.get(f"/api/tasks/{task['id']}", headers=aux_h).json()
    assert old["status"] == "superseded" and old["cosignature"]["decision"] == "approve"
    again = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve"}, headers=officer_h)
    assert_problem(again, 409, "not_pending_cosign")
    assert client.post(f"/api/tasks/{fix['id']}/cosign", json={"decision": "approve"},
                       headers=officer_h).json()["status"] == "cosigned"


def test_a_correction_passes_every_check_again(client: TestClient, db: Session) -> None:
    aux_user, _ = make_auxiliary(db, make_agency(db), categories=["patrol"])
    headers = login(client, aux_user)
    original = client.post("/api/tasks", json=task_payload(), headers=headers).json()
    fix = task_payload(category="technical")
    r = client.post(f"/api/tasks/{original['id']}/corrections", json=fix, headers=headers)
    assert_problem(r, 422, "category_not_granted")
    assert db.get(Task, uuid.UUID(fix["id"])) is None
    assert client.get(f"/api/tasks/{original['id']}", headers=headers).json()["status"] == "recorded"


def test_only_the_recording_auxiliary_corrects(client: TestClient, db: Session) -> None:
    _, aux_h, officer_user, _, task = _assisted(client, db)
    other_user, _ = make_auxiliary(db, make_agency(db))
    url = f"/api/tasks/{task['id']}/corrections"
    assert_problem(client.post(url, json=task_payload(), headers=login(client, other_user)), 404, "not_found")
    assert_problem(client.post(url, json=task_payload(), headers=login(client, officer_user)), 403, "role_not_allowed")
    assert client.get(f"/api/tasks/{task['id']}", headers=aux_h).json()["status"] == "pending_cosign"
