"""Training (第二十条) and the work credential it unlocks (第二十三条); reissue supersedes the old badge."""

import re
import uuid
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import Agency, AuxiliaryStatus, Credential, CredentialStatus, Role
from tests.factories import hire_body, login, make_agency, make_auxiliary, make_user
from tests.problems import assert_problem

PRE_JOB = {"kind": "pre_job", "hours": 40, "completed_on": "2026-03-20", "passed": True}


def _hired(client: TestClient, db: Session) -> tuple[Agency, dict[str, str], str]:
    agency = make_agency(db)
    headers = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    r = client.post("/api/auxiliaries", json=hire_body(agency), headers=headers)
    assert r.status_code == 201, r.text
    return agency, headers, str(r.json()["id"])


def _issue(client: TestClient, headers: dict[str, str], aux_id: str) -> dict[str, Any]:
    r = client.post(f"/api/auxiliaries/{aux_id}/credential", headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def _statuses(db: Session, aux_id: str) -> list[tuple[int, str]]:
    db.expire_all()
    creds = db.scalars(select(Credential).where(Credential.auxiliary_id == uuid.UUID(aux_id))
                       .order_by(Credential.version))
    return [(c.version, c.status) for c in creds]


def test_training_is_recorded_and_summarised(client: TestClient, db: Session) -> None:
    _, headers, aux_id = _hired(client, db)
    r = client.post(f"/api/auxiliaries/{aux_id}/trainings", json=PRE_JOB, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "pre_job" and r.json()["hours"] == 40
    legal = {"kind": "legal", "hours": 8.5, "completed_on": "2026-03-22", "passed": False}
    assert client.post(f"/api/auxiliaries/{aux_id}/trainings", json=legal, headers=headers).status_code == 201
    summary = client.get(f"/api/auxiliaries/{aux_id}", headers=headers).json()["trainings"]
    assert summary["pre_job_passed"] is True and summary["total_hours"] == 48.5
    assert [t["kind"] for t in summary["items"]] == ["pre_job", "legal"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("hours", 0), ("hours", -1), ("hours", 2000.5), ("kind", "karaoke"), ("completed_on", "2026-02-30"),
     ("passed", "perhaps")],
)
def test_bad_training_fields_are_listed(client: TestClient, db: Session, field: str, value: Any) -> None:
    _, headers, aux_id = _hired(client, db)
    r = client.post(f"/api/auxiliaries/{aux_id}/trainings", json={**PRE_JOB, field: value}, headers=headers)
    assert [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]] == [field]


def test_training_completed_in_the_future_is_refused(client: TestClient, db: Session) -> None:
    _, headers, aux_id = _hired(client, db)
    r = client.post(f"/api/auxiliaries/{aux_id}/trainings", json={**PRE_JOB, "completed_on": "2999-01-01"},
                    headers=headers)
    assert_problem(r, 422, "completed_in_future")


def test_credential_without_training_cites_article_23(client: TestClient, db: Session) -> None:
    _, headers, aux_id = _hired(client, db)
    r = client.post(f"/api/auxiliaries/{aux_id}/credential", headers=headers)
    assert_problem(r, 409, "training_required", "第二十三条")
    assert _statuses(db, aux_id) == []


@pytest.mark.parametrize("training", [{**PRE_JOB, "passed": False}, {**PRE_JOB, "kind": "skills"}],
                         ids=["failed-pre-job", "other-kind"])
def test_only_a_passed_pre_job_training_unlocks_the_credential(
    client: TestClient, db: Session, training: dict[str, Any]
) -> None:
    _, headers, aux_id = _hired(client, db)
    recorded = client.post(f"/api/auxiliaries/{aux_id}/trainings", json=training, headers=headers)
    assert recorded.status_code == 201
    r = client.post(f"/api/auxiliaries/{aux_id}/credential", headers=headers)
    assert_problem(r, 409, "training_required")


def test_training_then_credential_activates_with_a_signed_badge(client: TestClient, db: Session) -> None:
    _, headers, aux_id = _hired(client, db)
    client.post(f"/api/auxiliaries/{aux_id}/trainings", json=PRE_JOB, headers=headers)
    cred = _issue(client, headers, aux_id)
    assert cred["status"] == "valid" and cred["version"] == 1
    assert re.fullmatch(r"NJFZ-\d{4}-\d{6}", cred["credential_no"])
    assert cred["verify_url"] == f"https://verify.example.gov.cn/v/{cred['token']}"
    header = jwt.get_unverified_header(cred["token"])
    assert header["alg"] == "EdDSA" and header["kid"] == cred["kid"]
    claims = client.app.state.ctx.keyring.verify_badge(cred["token"])  # type: ignore[attr-defined]
    assert str(claims.credential_id) == cred["id"] and claims.version == 1
    aux = client.get(f"/api/auxiliaries/{aux_id}", headers=headers).json()
    assert aux["status"] == "active"
    assert aux["credential"]["credential_no"] == cred["credential_no"]
    assert aux["credential"]["status"] == "valid"
    assert verify_log(db).ok


def test_reissue_supersedes_the_old_badge(client: TestClient, db: Session) -> None:
    _, headers, aux_id = _hired(client, db)
    client.post(f"/api/auxiliaries/{aux_id}/trainings", json=PRE_JOB, headers=headers)
    first = _issue(client, headers, aux_id)
    second = _issue(client, headers, aux_id)
    assert second["version"] == 2 and second["credential_no"] != first["credential_no"]
    assert second["token"] != first["token"]
    assert _statuses(db, aux_id) == [(1, CredentialStatus.SUPERSEDED), (2, CredentialStatus.VALID)]
    current = client.get(f"/api/auxiliaries/{aux_id}", headers=headers).json()["credential"]
    assert current["version"] == 2 and current["credential_no"] == second["credential_no"]
    assert verify_log(db).ok


def test_suspended_auxiliary_gets_no_credential(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    headers = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    _, aux = make_auxiliary(db, agency, status=AuxiliaryStatus.SUSPENDED)
    client.post(f"/api/auxiliaries/{aux.id}/trainings", json=PRE_JOB, headers=headers)
    r = client.post(f"/api/auxiliaries/{aux.id}/credential", headers=headers)
    assert_problem(r, 409, "auxiliary_suspended")


def test_departed_auxiliary_gets_no_credential_nor_training(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    headers = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    _, aux = make_auxiliary(db, agency, status=AuxiliaryStatus.DEPARTED)
    t = client.post(f"/api/auxiliaries/{aux.id}/trainings", json=PRE_JOB, headers=headers)
    assert_problem(t, 409, "auxiliary_departed", "第二十七条")
    r = client.post(f"/api/auxiliaries/{aux.id}/credential", headers=headers)
    assert_problem(r, 409, "auxiliary_departed")


def test_only_the_employing_agency_trains_and_issues(client: TestClient, db: Session) -> None:
    agency, _, aux_id = _hired(client, db)
    street = make_agency(db, level="street", parent=agency)
    outsider = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    base = f"/api/auxiliaries/{aux_id}"
    for path, body in ((f"{base}/trainings", PRE_JOB), (f"{base}/credential", None)):
        assert_problem(client.post(path, json=body, headers=outsider), 404, "not_found")
    # Seconded: the street commands day to day, but training and credentials stay with the employer.
    employer = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    client.post(f"{base}/secondment", json={"command_agency_id": str(street.id)}, headers=employer)
    street_admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=street))
    r = client.post(f"/api/auxiliaries/{aux_id}/trainings", json=PRE_JOB, headers=street_admin)
    assert_problem(r, 403, "not_your_agency", "第五条")
    assert client.get(f"/api/auxiliaries/{aux_id}", headers=employer).json()["trainings"]["items"] == []
