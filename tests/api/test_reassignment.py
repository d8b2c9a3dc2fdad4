"""Handing a pending co-signature to another officer (第八条): the agency that commands the auxiliary names
another active officer of its own, the record shows the step, the log has it, and the first officer can no
longer co-sign."""

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from api.domain.models import Agency, Officer, Role, User
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
    agency: Agency
    admin: dict[str, str]
    aux: dict[str, str]
    first_user: User
    first: Officer
    second_user: User
    second: Officer
    task: dict[str, Any]


def _scene(client: TestClient, db: Session, *, employer: Agency | None = None) -> Scene:
    """An assisted record waiting for the first officer's co-signature; the second officer is of the same
    (commanding) agency."""
    agency = make_agency(db, level="street", parent=employer) if employer else make_agency(db)
    first_user, first = make_officer(db, agency)
    second_user, second = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, employer or agency, command_agency=agency if employer else None)
    aux = login(client, aux_user)
    task = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(first.id)),
                       headers=aux).json()
    assert task["status"] == "pending_cosign", task
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    return Scene(agency, admin, aux, first_user, first, second_user, second, task)


def _reassign(client: TestClient, s: Scene, officer_id: object, headers: dict[str, str] | None = None) -> Response:
    return client.post(f"/api/tasks/{s.task['id']}/reassign", json={"officer_id": str(officer_id), "reason": "调岗"},
                       headers=s.admin if headers is None else headers)


def test_a_deactivated_officers_record_goes_to_another_officer(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    first = login(client, s.first_user)
    assert client.post(f"/api/users/{s.first_user.id}/deactivate", headers=s.admin).json()["pending_cosign"] == 1
    r = _reassign(client, s, s.second.id)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["officer_id"], body["status"]) == (str(s.second.id), "pending_cosign")
    [step] = body["reassignments"]
    assert (step["from_officer_id"], step["to_officer_id"], step["reason"]) == (str(s.first.id), str(s.second.id),
                                                                                "调岗")
    assert client.get(f"/api/tasks/{s.task['id']}", headers=s.aux).json()["reassignments"] == [step]
    assert client.get(f"/api/users/{s.first_user.id}/pending-tasks", headers=s.admin).json()["items"] == []
    # The first officer, even switched on again, can no longer co-sign it; the second can.
    client.post(f"/api/users/{s.first_user.id}/reactivate", headers=s.admin)
    first = login(client, s.first_user)
    assert_problem(client.post(f"/api/tasks/{s.task['id']}/cosign", json={"decision": "approve"}, headers=first),
                   403, "not_named_officer", "第八条")
    second = login(client, s.second_user)
    waiting = client.get("/api/tasks?status=pending_cosign", headers=second).json()["items"]
    assert [t["id"] for t in waiting] == [s.task["id"]]
    signed = client.post(f"/api/tasks/{s.task['id']}/cosign", json={"decision": "approve"}, headers=second)
    assert signed.json()["status"] == "cosigned"
    assert logged_actions(client, db, "tasks", s.task["id"]) == ["task.recorded", "task.reassigned", "task.cosigned"]
    assert_log_verifies(client, db)


def test_the_new_officer_must_be_an_active_officer_of_the_commanding_agency(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    _, elsewhere = make_officer(db, make_agency(db))
    _, retired = make_officer(db, s.agency, active=False)
    switched_off_user, switched_off = make_officer(db, s.agency)
    client.post(f"/api/users/{switched_off_user.id}/deactivate", headers=s.admin)
    for officer_id in (elsewhere.id, retired.id, switched_off.id, uuid.uuid4()):
        assert_problem(_reassign(client, s, officer_id), 422, "officer_not_available", "第八条")
    assert_problem(_reassign(client, s, s.first.id), 409, "officer_already_named")
    assert client.get(f"/api/tasks/{s.task['id']}", headers=s.aux).json()["officer_id"] == str(s.first.id)


def test_only_a_pending_record_is_reassigned(client: TestClient, db: Session) -> None:
    s = _scene(client, db)
    client.post(f"/api/tasks/{s.task['id']}/cosign", json={"decision": "reject"}, headers=login(client, s.first_user))
    assert_problem(_reassign(client, s, s.second.id), 409, "not_pending_cosign")
    recorded = client.post("/api/tasks", json=task_payload(), headers=s.aux).json()
    r = client.post(f"/api/tasks/{recorded['id']}/reassign", json={"officer_id": str(s.second.id)}, headers=s.admin)
    assert_problem(r, 409, "not_pending_cosign")


def test_only_the_commanding_agency_reassigns(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    s = _scene(client, db, employer=district)  # seconded: the street commands, the district employs
    employer = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=district))
    assert_problem(_reassign(client, s, s.second.id, employer), 403, "not_your_agency", "第五条")
    stranger = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    assert_problem(_reassign(client, s, s.second.id, stranger), 404, "not_found")
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    for headers in (justice, s.aux, login(client, s.first_user)):
        assert_problem(_reassign(client, s, s.second.id, headers), 403, "role_not_allowed")
    assert _reassign(client, s, s.second.id).status_code == 200
