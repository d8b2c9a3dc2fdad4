"""Who sees an auxiliary (第五条), listing, suspension, departure (第二十七条) and secondment (第二十二条)."""

import uuid
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import Agency, Auxiliary, AuxiliaryStatus, Credential, Role, User
from tests.factories import PASSWORD, hire_body, login, make_agency, make_auxiliary, make_officer, make_user
from tests.problems import assert_problem

LEAVING = {"left_on": "2026-10-31", "reason": "合同期满",
           "items_recovered": ["credential", "badge", "uniform"]}


def _admin(client: TestClient, db: Session, agency: Agency) -> dict[str, str]:
    return login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))


def _credential_status(db: Session, aux: Auxiliary) -> str:
    db.expire_all()
    cred = db.scalars(select(Credential).where(Credential.auxiliary_id == aux.id)
                      .order_by(Credential.version.desc())).first()
    assert cred is not None
    return str(cred.status)


def _listed(client: TestClient, headers: dict[str, str]) -> set[str]:
    r = client.get("/api/auxiliaries", headers=headers)
    assert r.status_code == 200, r.text
    return {str(i["id"]) for i in r.json()["items"]}


def _used(db: Session, agency: Agency) -> int:
    db.expire_all()
    return int(db.scalar(select(Agency.headcount_used).where(Agency.id == agency.id)) or 0)


# --- who may see the record ---------------------------------------------------------------------------

def test_record_is_visible_to_employer_commander_justice_and_self(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    aux_user, aux = make_auxiliary(db, district, command_agency=street)
    readers = [
        make_user(db, role=Role.AGENCY_ADMIN, agency=district),
        make_user(db, role=Role.AGENCY_ADMIN, agency=street),
        make_user(db, role=Role.JUSTICE_ADMIN, agency=None),
        aux_user,
    ]
    for reader in readers:
        r = client.get(f"/api/auxiliaries/{aux.id}", headers=login(client, reader))
        assert r.status_code == 200, (reader.role, r.text)
        body = r.json()
        assert body["badge_no"] == aux.badge_no and body["command_agency_id"] == str(street.id)
        assert body["credential"]["status"] == "valid" and "password_hash" not in body


def test_record_is_404_for_everyone_else(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    _, aux = make_auxiliary(db, district)
    other = make_agency(db)
    officer_user, _ = make_officer(db, district)
    colleague, _ = make_auxiliary(db, district, name="王协管")
    unrelated_street = make_agency(db, level="street", parent=district)
    strangers = [make_user(db, role=Role.AGENCY_ADMIN, agency=other), officer_user, colleague,
                 make_user(db, role=Role.AGENCY_ADMIN, agency=unrelated_street)]
    for stranger in strangers:
        r = client.get(f"/api/auxiliaries/{aux.id}", headers=login(client, stranger))
        assert_problem(r, 404, "not_found")
        unknown = client.get(f"/api/auxiliaries/{uuid.uuid4()}", headers=login(client, stranger))
        assert unknown.json() == r.json()


def test_malformed_id_is_422_not_500(client: TestClient, db: Session) -> None:
    headers = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    r = client.get("/api/auxiliaries/not-a-uuid", headers=headers)
    assert assert_problem(r, 422, "validation_error")["errors"][0]["field"] == "aux_id"


def test_record_needs_a_login(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    assert_problem(client.get(f"/api/auxiliaries/{aux.id}"), 401, "unauthenticated")


# --- lists --------------------------------------------------------------------------------------------

def test_agency_admin_lists_own_and_seconded_staff_only(client: TestClient, db: Session) -> None:
    district, elsewhere = make_agency(db), make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, own = make_auxiliary(db, district)
    _, seconded = make_auxiliary(db, district, command_agency=street)
    _, foreign = make_auxiliary(db, elsewhere)
    ids = _listed(client, _admin(client, db, district))
    assert ids == {str(own.id), str(seconded.id)}
    assert _listed(client, _admin(client, db, street)) == {str(seconded.id)}
    assert str(foreign.id) not in ids


def test_justice_admin_lists_all_filtered_by_agency_and_status(client: TestClient, db: Session) -> None:
    a, b = make_agency(db), make_agency(db)
    _, active = make_auxiliary(db, a)
    _, suspended = make_auxiliary(db, a, status=AuxiliaryStatus.SUSPENDED)
    _, other = make_auxiliary(db, b)
    headers = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    by_agency = client.get("/api/auxiliaries", params={"agency_id": str(a.id)}, headers=headers).json()
    assert {i["id"] for i in by_agency["items"]} == {str(active.id), str(suspended.id)}
    by_status = client.get("/api/auxiliaries", params={"agency_id": str(a.id), "status": "suspended"},
                           headers=headers).json()
    assert [i["id"] for i in by_status["items"]] == [str(suspended.id)]
    assert str(other.id) in _listed(client, headers)


def test_list_pages_with_a_cursor_without_repeats(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    made = {str(make_auxiliary(db, agency)[1].id) for _ in range(5)}
    headers = _admin(client, db, agency)
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/auxiliaries", params=params, headers=headers).json()
        assert len(page["items"]) <= 2
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)


@pytest.mark.parametrize("role", [Role.OFFICER, Role.AUXILIARY])
def test_officers_and_auxiliaries_cannot_list_staff(client: TestClient, db: Session, role: Role) -> None:
    headers = login(client, make_user(db, role=role, agency=make_agency(db)))
    r = client.get("/api/auxiliaries", headers=headers)
    assert_problem(r, 403, "role_not_allowed")


# --- suspension and reinstatement --------------------------------------------------------------------

def test_suspend_then_reinstate_moves_the_credential_with_the_person(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    headers = _admin(client, db, agency)
    r = client.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "投诉调查期间"}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "suspended" and r.json()["credential"]["status"] == "suspended"
    assert _credential_status(db, aux) == "suspended"
    r = client.post(f"/api/auxiliaries/{aux.id}/reinstate", json={"reason": "调查结束"}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert _credential_status(db, aux) == "valid"
    assert verify_log(db).ok


def test_reinstate_only_from_suspended(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    headers = _admin(client, db, agency)
    r = client.post(f"/api/auxiliaries/{aux.id}/reinstate", json={"reason": "x"}, headers=headers)
    assert_problem(r, 409, "invalid_transition")


def test_pending_auxiliary_cannot_be_suspended(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency, status=AuxiliaryStatus.PENDING_TRAINING)
    headers = _admin(client, db, agency)
    r = client.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "x"}, headers=headers)
    assert_problem(r, 409, "invalid_transition")


def test_suspension_needs_a_reason(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    headers = _admin(client, db, agency)
    r = client.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "  "}, headers=headers)
    assert [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]] == ["reason"]


@pytest.mark.parametrize(
    ("action", "body"),
    [("suspend", {"reason": "暂停\u0000上岗"}), ("departure", {"left_on": "2026-10-31", "reason": "\u0000"})],
)
def test_a_reason_with_a_nul_character_is_422_and_changes_nothing(
    client: TestClient, db: Session, action: str, body: dict[str, str]
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    r = client.post(f"/api/auxiliaries/{aux.id}/{action}", json=body, headers=_admin(client, db, agency))
    assert [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]] == ["reason"]
    assert _credential_status(db, aux) == "valid"


# --- departure ----------------------------------------------------------------------------------------

def test_departure_revokes_records_items_blocks_login_and_frees_the_place(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db, quota=1)
    aux_user, aux = make_auxiliary(db, agency)
    headers = _admin(client, db, agency)
    assert _used(db, agency) == 1
    r = client.post(f"/api/auxiliaries/{aux.id}/departure", json=LEAVING, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "departed" and body["left_on"] == "2026-10-31"
    assert body["items_recovered"] == ["credential", "badge", "uniform"]
    assert body["credential"]["status"] == "revoked" and _credential_status(db, aux) == "revoked"
    assert _used(db, agency) == 0
    denied = client.post("/api/auth/token", data={"username": aux_user.username, "password": PASSWORD})
    assert_problem(denied, 401, "invalid_credentials")
    # The freed place can be taken again.
    assert client.post("/api/auxiliaries", json=hire_body(agency), headers=headers).status_code == 201
    assert verify_log(db).ok


def test_departed_auxiliarys_open_session_stops_working(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    aux_user, aux = make_auxiliary(db, agency)
    own = login(client, aux_user)
    client.post(f"/api/auxiliaries/{aux.id}/departure", json=LEAVING, headers=_admin(client, db, agency))
    assert_problem(client.get("/api/me", headers=own), 401, "invalid_token")


def test_departing_twice_is_409_and_frees_one_place_only(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    make_auxiliary(db, agency)
    _, aux = make_auxiliary(db, agency)
    headers = _admin(client, db, agency)
    first = client.post(f"/api/auxiliaries/{aux.id}/departure", json=LEAVING, headers=headers)
    assert first.status_code == 200
    again = client.post(f"/api/auxiliaries/{aux.id}/departure", json=LEAVING, headers=headers)
    assert_problem(again, 409, "auxiliary_departed", "第二十七条")
    assert _used(db, agency) == 1


def test_departure_before_hiring_or_with_unknown_items_is_422(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    headers = _admin(client, db, agency)
    early = client.post(f"/api/auxiliaries/{aux.id}/departure", headers=headers,
                        json={**LEAVING, "left_on": str(date(2020, 1, 1))})
    assert_problem(early, 422, "left_before_hired")
    odd = client.post(f"/api/auxiliaries/{aux.id}/departure", headers=headers,
                      json={**LEAVING, "items_recovered": ["gun"]})
    assert assert_problem(odd, 422, "validation_error")["errors"][0]["field"].startswith("items_recovered")
    db.expire_all()
    assert db.get(Auxiliary, aux.id).status == AuxiliaryStatus.ACTIVE  # type: ignore[union-attr]


def test_only_the_employer_records_a_departure(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    aux_user, aux = make_auxiliary(db, district, command_agency=street)
    for user in (make_user(db, role=Role.AGENCY_ADMIN, agency=street),
                 make_user(db, role=Role.JUSTICE_ADMIN, agency=None), aux_user):
        r = client.post(f"/api/auxiliaries/{aux.id}/departure", json=LEAVING, headers=login(client, user))
        assert_problem(r, 403, "not_your_agency", "第五条")
    outsider = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    r = client.post(f"/api/auxiliaries/{aux.id}/departure", json=LEAVING, headers=outsider)
    assert_problem(r, 404, "not_found")
    db.expire_all()
    assert db.get(User, aux_user.id).active is True  # type: ignore[union-attr]


# --- secondment ---------------------------------------------------------------------------------------

def test_secondment_to_a_street_below_gives_it_read_access(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, aux = make_auxiliary(db, district)
    street_admin = _admin(client, db, street)
    assert_problem(client.get(f"/api/auxiliaries/{aux.id}", headers=street_admin), 404, "not_found")
    r = client.post(f"/api/auxiliaries/{aux.id}/secondment", json={"command_agency_id": str(street.id)},
                    headers=_admin(client, db, district))
    assert r.status_code == 200 and r.json()["command_agency_id"] == str(street.id)
    assert client.get(f"/api/auxiliaries/{aux.id}", headers=street_admin).status_code == 200
    assert verify_log(db).ok


def test_ending_a_secondment_takes_the_access_back(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, aux = make_auxiliary(db, district, command_agency=street)
    r = client.post(f"/api/auxiliaries/{aux.id}/secondment", json={"command_agency_id": None},
                    headers=_admin(client, db, district))
    assert r.status_code == 200 and r.json()["command_agency_id"] is None
    assert_problem(client.get(f"/api/auxiliaries/{aux.id}", headers=_admin(client, db, street)), 404, "not_found")


def test_secondment_only_to_a_street_below_the_employer_cites_article_22(
    client: TestClient, db: Session
) -> None:
    city = make_agency(db, level="municipal")
    district = make_agency(db, parent=city)
    sibling = make_agency(db, parent=city)
    _, aux = make_auxiliary(db, district)
    headers = _admin(client, db, district)
    sibling_street = make_agency(db, level="street", parent=sibling)
    targets = [sibling_street.id, sibling.id, city.id, district.id, uuid.uuid4()]
    for target in targets:
        r = client.post(f"/api/auxiliaries/{aux.id}/secondment", json={"command_agency_id": str(target)},
                        headers=headers)
        assert_problem(r, 422, "invalid_secondment", "第二十二条")
    db.expire_all()
    assert db.get(Auxiliary, aux.id).command_agency_id is None  # type: ignore[union-attr]


def test_secondment_body_must_name_the_agency_or_null(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    _, aux = make_auxiliary(db, district)
    r = client.post(f"/api/auxiliaries/{aux.id}/secondment", json={}, headers=_admin(client, db, district))
    assert [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]] == ["command_agency_id"]
