"""The 居民身份证号码 of someone hired before it was asked (第十四条), stated later by their agency: once, checked as
on hire, refused while someone else employed has it, flagged when an agency dismissed the person, logged."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.audit.tree import integrate_all
from api.domain.models import Agency, Auxiliary, AuxiliaryStatus, Role
from tests.factories import BORN, hire_body, login, make_agency, make_auxiliary, make_user, valid_id_number
from tests.problems import assert_problem


def _admin(client: TestClient, db: Session, agency: Agency) -> dict[str, str]:
    return login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))


def _state(client: TestClient, headers: dict[str, str], aux: Auxiliary, number: str) -> Any:
    return client.put(f"/api/auxiliaries/{aux.id}/id-number", headers=headers, json={"id_number": number})


def test_the_agency_states_the_number_once_and_it_then_matches_the_person_city_wide(
    client: TestClient, db: Session
) -> None:
    agency, other = make_agency(db, quota=5), make_agency(db, quota=5)
    _, aux = make_auxiliary(db, agency, legacy=True)
    headers, justice = _admin(client, db, agency), login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    number = valid_id_number().lower()
    r = _state(client, headers, aux, number)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id"], body["dismissed_elsewhere"]) == (str(aux.id), False)
    assert body["id_number_masked"] == number[:6].upper() + "********" + number[-4:].upper()
    again = _state(client, headers, aux, valid_id_number())
    assert_problem(again, 409, "id_number_already_recorded")
    assert client.get(f"/api/auxiliaries/{aux.id}", headers=headers).json()["id_number_masked"] == \
        body["id_number_masked"]
    assert number.upper() not in r.text + again.text and number not in r.text + again.text
    # Now 第十四条 finds them: another agency cannot hire the person while they work here.
    hire = client.post("/api/auxiliaries", headers=_admin(client, db, other), json=hire_body(
        other, id_number=number, birth_date=BORN.isoformat()))
    assert_problem(hire, 409, "already_employed")
    integrate_all(db)
    leaves = client.get(f"/api/audit/records/auxiliaries/{aux.id}", headers=justice).json()["items"]
    assert [e["action"] for e in leaves][-1] == "auxiliary.id_number_recorded"
    assert verify_log(db).ok


def test_the_number_is_checked_as_on_hire_against_the_records_birth_date(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency, legacy=True)
    headers = _admin(client, db, agency)
    good = valid_id_number()
    for number, reason in ((good[:-1] + ("0" if good[-1] != "0" else "1"), "check_character"),
                           (valid_id_number("1990-01-01"), "birth_date"), ("12345", "format")):
        r = _state(client, headers, aux, number)
        body = assert_problem(r, 422, "invalid_id_number")
        assert (body["reason"], body["standard"]) == (reason, "GB 11643-1999") and number not in r.text
    db.expire_all()
    assert db.get(Auxiliary, aux.id).id_number_hash is None  # type: ignore[union-attr]


def test_a_number_someone_else_employed_has_is_refused_already_employed(client: TestClient, db: Session) -> None:
    agency, other = make_agency(db), make_agency(db)
    headers = _admin(client, db, agency)
    number = valid_id_number()
    _, elsewhere = make_auxiliary(db, other, status=AuxiliaryStatus.PENDING_TRAINING, id_number=number)
    _, aux = make_auxiliary(db, agency, legacy=True)
    body = assert_problem(_state(client, headers, aux, number), 409, "already_employed")
    assert "auxiliary_id" not in body  # another agency's row is not pointed to
    mine = valid_id_number()
    _, colleague = make_auxiliary(db, agency, id_number=mine)
    body = assert_problem(_state(client, headers, aux, mine), 409, "already_employed")
    assert body["auxiliary_id"] == str(colleague.id)
    # A row that has left only says who it was: the person may well be employed elsewhere now.
    _, former = make_auxiliary(db, agency, status=AuxiliaryStatus.DEPARTED, legacy=True)
    assert _state(client, headers, former, number).status_code == 200
    db.expire_all()
    assert db.get(Auxiliary, aux.id).id_number_hash is None  # type: ignore[union-attr]
    assert elsewhere.id != aux.id


def test_a_person_dismissed_elsewhere_is_recorded_and_flagged(client: TestClient, db: Session) -> None:
    agency, other = make_agency(db), make_agency(db)
    number = valid_id_number()
    make_auxiliary(db, other, status=AuxiliaryStatus.DISMISSED, id_number=number)
    _, aux = make_auxiliary(db, agency, legacy=True)
    r = _state(client, _admin(client, db, agency), aux, number)
    assert r.status_code == 200, r.text
    assert r.json()["dismissed_elsewhere"] is True
    assert verify_log(db).ok


def test_only_the_employing_agency_states_the_number(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    user, aux = make_auxiliary(db, district, command_agency=street, legacy=True)
    number = valid_id_number()
    assert_problem(_state(client, _admin(client, db, make_agency(db)), aux, number), 404, "not_found")
    assert_problem(_state(client, _admin(client, db, street), aux, number), 403, "not_your_agency")
    for reader in (user, make_user(db, role=Role.JUSTICE_ADMIN, agency=None)):  # they read it; they do not write
        assert_problem(_state(client, login(client, reader), aux, number), 403, "not_your_agency")
    db.expire_all()
    assert db.get(Auxiliary, aux.id).id_number_hash is None  # type: ignore[union-attr]
