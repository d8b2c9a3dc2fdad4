"""Commendations (第二十六条) and sanctions (第二十八条) through the API: a dismissal ends the employment at once
as a departure does, and a complaint resolved with an outcome records its sanction, once."""

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.base import beijing_date, utcnow
from api.domain.models import Agency, Auxiliary, ComplaintStatus, Credential, Role, Sanction, User
from tests.factories import PASSWORD, login, make_agency, make_auxiliary, make_complaint, make_user
from tests.problems import assert_problem


def _admin(client: TestClient, db: Session, agency: Agency) -> dict[str, str]:
    return login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))


def _sanction(client: TestClient, headers: dict[str, str], aux: Auxiliary, **body: Any) -> Any:
    return client.post(f"/api/auxiliaries/{aux.id}/sanctions", headers=headers, json=body)


def _token(client: TestClient, db: Session, aux: Auxiliary) -> str:
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = client.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=cred.version)  # type: ignore[attr-defined]
    return str(token)


def _sanctions(db: Session, aux: Auxiliary) -> list[Sanction]:
    db.expire_all()
    return list(db.scalars(select(Sanction).where(Sanction.auxiliary_id == aux.id)))


def test_a_commendation_is_listed_in_the_standing_newest_first(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    for awarded_on, kind in (("2025-09-10", "记功"), ("2026-07-20", "嘉奖")):
        r = client.post(f"/api/auxiliaries/{aux.id}/commendations", headers=admin,
                        json={"kind": kind, "reason": "暴雨夜协助疏散新街口地下通道群众", "awarded_on": awarded_on})
        assert r.status_code == 201, r.text
        assert r.json()["agency_id"] == str(agency.id)
    standing = client.get(f"/api/auxiliaries/{aux.id}/standing", headers=admin).json()
    assert [(c["kind"], c["awarded_on"]) for c in standing["commendations"]] == [
        ("嘉奖", "2026-07-20"), ("记功", "2025-09-10")]
    future = client.post(f"/api/auxiliaries/{aux.id}/commendations", headers=admin,
                         json={"kind": "嘉奖", "reason": "预先表彰", "awarded_on": "2099-01-01"})
    assert_problem(future, 422, "awarded_in_future")


def test_dismissal_revokes_the_credential_closes_the_login_and_leaves_the_person_dismissed(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    aux_user, aux = make_auxiliary(db, agency)
    used = agency.headcount_used
    token = _token(client, db, aux)
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "valid"
    admin = _admin(client, db, agency)
    r = _sanction(client, admin, aux, action="dismissal", reason="执法中索要财物，查证属实",
                  items_recovered=["credential"])
    assert r.status_code == 201, r.text
    assert (r.json()["action"], r.json()["auxiliary_status"]) == ("dismissal", "dismissed")
    assert r.json()["action_name"] == "解除劳动关系或退回劳务派遣机构"
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "revoked"
    r = client.post("/api/auth/token", data={"username": aux_user.username, "password": PASSWORD})
    assert_problem(r, 401, "invalid_credentials")
    record = client.get(f"/api/auxiliaries/{aux.id}", headers=admin).json()
    assert record["status"] == "dismissed" and record["credential"]["status"] == "revoked"
    assert record["left_on"] == str(beijing_date(utcnow())) and record["items_recovered"] == ["credential"]
    db.expire_all()
    assert db.get(Agency, agency.id).headcount_used == used - 1  # type: ignore[union-attr]
    assert db.get(User, aux_user.id).active is False  # type: ignore[union-attr]
    # Dismissed is final: no second dismissal, no departure, no new credential, no new term.
    assert_problem(_sanction(client, admin, aux, action="dismissal", reason="再次"), 409, "auxiliary_departed")
    assert_problem(client.post(f"/api/auxiliaries/{aux.id}/credential", headers=admin), 409, "auxiliary_departed")
    term = {"starts_on": "2027-01-01", "ends_on": "2027-12-31"}
    assert_problem(client.post(f"/api/auxiliaries/{aux.id}/contracts", json=term, headers=admin), 409,
                   "auxiliary_departed")
    standing = client.get(f"/api/auxiliaries/{aux.id}/standing", headers=admin).json()
    assert standing["status"] == "dismissed" and [s["action"] for s in standing["sanctions"]] == ["dismissal"]
    assert verify_log(db).ok


def test_a_lesser_sanction_changes_nothing_but_the_record(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    r = _sanction(client, admin, aux, action="criticism", reason="巡查中与摊主争执，言语不文明")
    assert r.status_code == 201 and r.json()["auxiliary_status"] == "active"
    assert client.get(f"/api/public/verify/{_token(client, db, aux)}").json()["status"] == "valid"
    assert_problem(_sanction(client, admin, aux, action="fine", reason="罚款"), 422, "validation_error")


def _resolve(client: TestClient, headers: dict[str, str], complaint_id: object, action: str) -> Any:
    return client.post(f"/api/complaints/{complaint_id}/transitions", headers=headers,
                       json={"to": "resolved", "finding": "经调取执法记录仪视频核实，情况属实", "action": action})


def test_a_complaint_resolved_with_dismissal_records_one_sanction_and_dismisses(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    complaint = make_complaint(db, aux, status=ComplaintStatus.INVESTIGATING)
    token = _token(client, db, aux)
    admin = _admin(client, db, agency)
    r = _resolve(client, admin, complaint.id, "dismissal")
    assert r.status_code == 200, r.text
    [sanction] = _sanctions(db, aux)
    assert (sanction.action, sanction.complaint_id, sanction.agency_id) == ("dismissal", complaint.id, agency.id)
    assert complaint.tracking_no in sanction.reason
    assert db.get(Auxiliary, aux.id).status == "dismissed"  # type: ignore[union-attr]
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "revoked"
    # Sent again: the complaint has moved on, and nothing is recorded twice.
    assert_problem(_resolve(client, admin, complaint.id, "dismissal"), 409, "invalid_transition")
    again = _sanction(client, admin, aux, action="dismissal", reason="投诉处理", complaint_id=str(complaint.id))
    assert_problem(again, 409, "auxiliary_departed")
    assert len(_sanctions(db, aux)) == 1
    assert verify_log(db).ok


def test_a_sanction_naming_a_complaint_carries_out_its_decision_once(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    _, other = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    open_case = make_complaint(db, aux, status=ComplaintStatus.INVESTIGATING)
    r = _sanction(client, admin, aux, action="criticism", reason="投诉", complaint_id=str(open_case.id))
    assert_problem(r, 422, "complaint_action_differs", "第二十八条")
    assert _resolve(client, admin, open_case.id, "criticism").status_code == 200
    [made] = _sanctions(db, aux)
    assert (made.action, made.complaint_id) == ("criticism", open_case.id)
    assert db.get(Auxiliary, aux.id).status == "active"  # type: ignore[union-attr]
    r = _sanction(client, admin, aux, action="criticism", reason="投诉", complaint_id=str(open_case.id))
    assert assert_problem(r, 409, "sanction_exists")["sanction_id"] == str(made.id)
    r = _sanction(client, admin, other, action="criticism", reason="投诉", complaint_id=str(open_case.id))
    assert_problem(r, 422, "complaint_not_about_auxiliary")
    assert db.scalar(select(func.count()).select_from(Sanction).where(Sanction.complaint_id == open_case.id)) == 1


def test_a_complaint_about_someone_who_has_left_cannot_dismiss_them_again(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    complaint = make_complaint(db, aux, status=ComplaintStatus.INVESTIGATING)
    admin = _admin(client, db, agency)
    left = client.post(f"/api/auxiliaries/{aux.id}/departure", headers=admin,
                       json={"left_on": str(date(2026, 10, 31)), "reason": "辞职", "items_recovered": []})
    assert left.status_code == 200, left.text
    assert_problem(_resolve(client, admin, complaint.id, "dismissal"), 409, "auxiliary_departed")
    db.expire_all()
    assert db.get(type(complaint), complaint.id).status == ComplaintStatus.INVESTIGATING  # type: ignore[union-attr]
    r = _resolve(client, admin, complaint.id, "judicial_referral")
    assert r.status_code == 200, r.text
    assert [s.action for s in _sanctions(db, aux)] == ["judicial_referral"]
    assert db.get(Auxiliary, aux.id).status == "departed"  # type: ignore[union-attr]
