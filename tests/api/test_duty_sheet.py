"""What an auxiliary's phone keeps to record offline: their duty sheet (第七条 as granted, 第八条, 第十九条, the
agency that commands them under a secondment, 第二十二条, their zones and open shift) and the officers who may
direct them (第八条); for auxiliaries only."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.domain.base import BEIJING
from api.domain.models import AuxiliaryStatus, Role
from tests.factories import (
    XINJIEKOU_ZONE,
    login,
    make_agency,
    make_auxiliary,
    make_contract,
    make_officer,
    make_user,
    shift_payload,
    task_payload,
)
from tests.problems import assert_problem


def test_the_sheet_lists_only_the_granted_independent_duties_and_every_assisted_one(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db, name="玄武区城市管理局")
    user, aux = make_auxiliary(db, agency, categories=["assigned", "patrol"], name="钱协管")
    r = client.get("/api/me/duties", headers=login(client, user))
    assert r.status_code == 200, r.text
    sheet = r.json()
    assert (sheet["auxiliary_id"], sheet["badge_no"], sheet["name"]) == (str(aux.id), aux.badge_no, "钱协管")
    assert (sheet["status"], sheet["credential_status"], sheet["may_record"]) == ("active", "valid", True)
    assert sheet["agency"] == sheet["command_agency"] == {"id": str(agency.id), "name": "玄武区城市管理局"}
    assert sheet["independent"] == [  # in the order of 第七条, whatever the order granted
        {"code": "patrol", "name": "巡查责任区，及时发现、劝阻违法行为并上报", "article": "第七条", "item": "（二）",
         "requires": None},
        {"code": "assigned", "name": "行政执法机关交办的不影响实质性权利义务的其他辅助工作", "article": "第七条",
         "item": "（六）", "requires": "assignment_ref"},
    ]
    assert [d["code"] for d in sheet["assisted"]] == [
        "order_correction", "inspection", "document_service", "decision_execution", "scene_order", "statutory_other"]
    assert {d["article"] for d in sheet["assisted"]} == {"第八条"}
    assert [d["requires"] for d in sheet["assisted"]] == [None] * 5 + ["legal_basis"]
    forbidden = {f["flag"]: f for f in sheet["forbidden"]}
    assert set(forbidden) == {"fine_quota", "in_officer_name", "needs_professional_qualification", "state_secret"}
    assert forbidden["in_officer_name"] == {"flag": "in_officer_name", "name": "以行政执法人员名义从事执法活动",
                                            "article": "第十九条（三）", "item": "（三）"}
    assert sheet["zones"] == XINJIEKOU_ZONE and sheet["open_shift"] is None


def test_the_sheet_names_the_street_of_a_secondment_and_the_open_shift(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district, name="新街口街道")
    user, _ = make_auxiliary(db, district, command_agency=street, zones={})
    headers = login(client, user)
    check_in = shift_payload(at=(datetime.now(BEIJING) - timedelta(hours=1)).isoformat())
    assert client.post("/api/shifts/check-in", json=check_in, headers=headers).status_code == 201
    sheet = client.get("/api/me/duties", headers=headers).json()
    assert sheet["agency"]["id"] == str(district.id)
    assert sheet["command_agency"] == {"id": str(street.id), "name": "新街口街道"}
    assert sheet["zones"] is None
    at = datetime.fromisoformat(sheet["open_shift"]["at"].replace("Z", "+00:00"))
    assert sheet["open_shift"]["check_in_id"] == check_in["id"]
    assert at == datetime.fromisoformat(check_in["at"]).astimezone(UTC)
    check_out = {**shift_payload(at=(datetime.now(BEIJING) - timedelta(minutes=5)).isoformat())}
    assert client.post("/api/shifts/check-out", json=check_out, headers=headers).status_code == 201
    assert client.get("/api/me/duties", headers=headers).json()["open_shift"] is None


@pytest.mark.parametrize(("status", "credential"), [
    (AuxiliaryStatus.SUSPENDED, "suspended"), (AuxiliaryStatus.PENDING_TRAINING, None)])
def test_the_sheet_says_when_nothing_may_be_recorded(
    client: TestClient, db: Session, status: AuxiliaryStatus, credential: str | None
) -> None:
    user, _ = make_auxiliary(db, make_agency(db), status=status)
    sheet = client.get("/api/me/duties", headers=login(client, user)).json()
    assert (sheet["status"], sheet["credential_status"], sheet["may_record"]) == (status.value, credential, False)


def test_the_sheet_of_an_ended_term_says_expired(client: TestClient, db: Session) -> None:
    user, aux = make_auxiliary(db, make_agency(db))
    make_contract(db, aux, starts_on=aux.hired_on, ends_on=datetime.now(BEIJING).date() - timedelta(days=1))
    sheet = client.get("/api/me/duties", headers=login(client, user)).json()
    assert (sheet["credential_status"], sheet["may_record"]) == ("expired", False)


def test_the_officers_are_those_a_task_may_name_by_name(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    aux_user, _ = make_auxiliary(db, district, command_agency=street)
    named = []
    for name in ("周警官", "吴警官", "郑警官"):
        user, officer = make_officer(db, street)
        user.name = name
        named.append((name, officer))
    _, inactive = make_officer(db, street, active=False)
    switched_off, _ = make_officer(db, street)
    switched_off.active = False
    _, employer_officer = make_officer(db, district)  # the employer's, not the commanding agency's
    db.flush()
    headers = login(client, aux_user)
    r = client.get("/api/me/officers", headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["next_cursor"] is None
    expected = sorted(named, key=lambda pair: pair[0])
    assert r.json()["items"] == [
        {"officer_id": str(o.id), "name": name, "cert_no": o.cert_no, "agency_id": str(street.id)}
        for name, o in expected]
    for item in r.json()["items"]:
        body = task_payload(category="inspection", officer_id=item["officer_id"])
        assert client.post("/api/tasks", json=body, headers=headers).status_code == 201
    for officer in (inactive, employer_officer):
        body = task_payload(category="inspection", officer_id=str(officer.id))
        assert_problem(client.post("/api/tasks", json=body, headers=headers), 422, "officer_not_available", "第八条")


@pytest.mark.parametrize("path", ["/api/me/duties", "/api/me/officers"])
def test_only_auxiliaries_have_a_sheet_and_officers(client: TestClient, db: Session, path: str) -> None:
    agency = make_agency(db)
    assert_problem(client.get(path), 401, "unauthenticated")
    for role in (Role.OFFICER, Role.AGENCY_ADMIN, Role.JUSTICE_ADMIN):
        user = make_officer(db, agency)[0] if role == Role.OFFICER else make_user(
            db, role=role, agency=None if role == Role.JUSTICE_ADMIN else agency)
        assert_problem(client.get(path, headers=login(client, user)), 403, "role_not_allowed")
    recordless = make_user(db, role=Role.AUXILIARY, agency=agency)  # an auxiliary's account with no record
    assert_problem(client.get(path, headers=login(client, recordless)), 403, "not_an_auxiliary")
