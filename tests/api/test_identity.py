"""One person city-wide (第十四条) through the API: hiring takes the 居民身份证号码, checks it (GB 11643-1999), keeps
only its keyed hash and masked form, refuses someone any agency dismissed, and employs nobody twice at once."""

import base64
import logging
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.audit.tree import integrate_all
from api.domain.models import Agency, Auxiliary, AuxiliaryStatus, Role, User
from api.observability import configure_logging
from api.settings import Settings
from tests.conftest import make_settings
from tests.factories import hire_body, login, make_agency, make_auxiliary, make_user, valid_id_number
from tests.problems import assert_problem

HIRE = "/api/auxiliaries"
# GB 11643-1999's own example, sent with a lower-case x.
EXAMPLE, EXAMPLE_BORN = "11010519491231002x", "1949-12-31"
LEAVING = {"left_on": "2026-10-31", "reason": "合同期满不再续聘", "items_recovered": ["credential", "badge"]}


@pytest.fixture
def app_settings(data_dir: Path) -> Settings:
    return make_settings(data_dir, log_format="json")


def _agency(client: TestClient, db: Session) -> tuple[Agency, dict[str, str]]:
    agency = make_agency(db, quota=5)
    return agency, login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))


def _hire(client: TestClient, headers: dict[str, str], agency: Agency, number: str, **body: Any) -> Any:
    return client.post(HIRE, headers=headers, json=hire_body(agency, id_number=number, **body))


def _rows(db: Session, agency: Agency) -> tuple[int, int]:
    """(auxiliaries on record, places used) of ``agency``."""
    db.expire_all()
    count = db.scalar(select(func.count()).select_from(Auxiliary).where(Auxiliary.agency_id == agency.id))
    return int(count or 0), int(db.scalar(select(Agency.headcount_used).where(Agency.id == agency.id)) or 0)


@pytest.mark.parametrize(
    ("number", "reason"),
    [("110105194912310021", "check_character"), ("11010519491231002", "format"), ("11010519491231002X0", "format"),
     ("1101051949123100X2", "format"), ("ABCDEFGHIJKLMNOPQR", "format"), ("110105194912320025", "birth_date"),
     ("110105194912300024", "birth_date")],  # a right number, born a day earlier than stated
)
def test_a_number_that_is_not_an_id_number_is_refused_citing_the_standard(
    client: TestClient, db: Session, number: str, reason: str
) -> None:
    agency, headers = _agency(client, db)
    r = _hire(client, headers, agency, number, birth_date=EXAMPLE_BORN)
    body = assert_problem(r, 422, "invalid_id_number")
    assert (body["standard"], body["field"], body["reason"]) == ("GB 11643-1999", "id_number", reason)
    assert "GB 11643-1999" in body["detail"] and number not in r.text
    assert _rows(db, agency) == (0, 0)


def test_a_new_hire_without_an_id_number_is_a_validation_error(client: TestClient, db: Session) -> None:
    agency, headers = _agency(client, db)
    body = hire_body(agency)
    del body["id_number"]
    r = client.post(HIRE, headers=headers, json=body)
    assert [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]] == ["id_number"]


def test_the_number_is_shown_only_masked_to_those_who_read_the_record(client: TestClient, db: Session) -> None:
    agency, headers = _agency(client, db)
    r = _hire(client, headers, agency, EXAMPLE, birth_date=EXAMPLE_BORN)
    assert r.status_code == 201, r.text
    hired = r.json()
    assert hired["id_number_masked"] == "110105********002X"
    person = db.get(User, uuid.UUID(hired["user_id"]))
    assert person is not None
    me = login(client, person)
    for who in (headers, me):
        record = client.get(f"/api/auxiliaries/{hired['id']}", headers=who).json()
        assert record["id_number_masked"] == "110105********002X"
    [listed] = client.get(HIRE, headers=headers).json()["items"]
    assert listed["id_number_masked"] == "110105********002X"
    _, legacy = make_auxiliary(db, agency, legacy=True)  # hired before the number was asked: keeps working
    assert client.get(f"/api/auxiliaries/{legacy.id}", headers=headers).json()["id_number_masked"] is None
    assert client.post(f"/api/auxiliaries/{legacy.id}/departure", headers=headers, json=LEAVING).status_code == 200
    assert verify_log(db).ok


def test_the_number_is_never_answered_logged_or_stored_whole(
    client: TestClient, db: Session, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    capsys.readouterr()
    agency, headers = _agency(client, db)
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    answers = [_hire(client, headers, agency, EXAMPLE, birth_date=EXAMPLE_BORN)]
    aux_id, badge_no = answers[0].json()["id"], answers[0].json()["badge_no"]
    answers += [
        _hire(client, headers, agency, EXAMPLE, birth_date=EXAMPLE_BORN),  # already employed
        _hire(client, headers, agency, EXAMPLE[:-1] + "1", birth_date=EXAMPLE_BORN),  # a wrong check character
        client.post(f"/api/auxiliaries/{aux_id}/trainings", headers=headers,
                    json={"kind": "pre_job", "hours": 40, "completed_on": "2026-03-20", "passed": True}),
    ]
    credential = client.post(f"/api/auxiliaries/{aux_id}/credential", headers=headers)
    public = [client.get(f"/api/public/verify/{credential.json()['token']}"),
              client.get(f"/api/public/badges/{badge_no}"), client.get(f"/v/{credential.json()['token']}")]
    answers += [credential, *public, client.get(f"/api/auxiliaries/{aux_id}", headers=headers),
                client.get(HIRE, headers=justice),
                client.get("/api/reports/roster", params={"year": 2026, "agency_id": str(agency.id)}, headers=justice),
                client.get("/api/reports/roster", headers=justice,
                           params={"year": 2026, "agency_id": str(agency.id), "format": "csv"}),
                client.get(f"/api/auxiliaries/{aux_id}/standing", headers=headers)]
    integrate_all(db)
    leaves = client.get(f"/api/audit/records/auxiliaries/{aux_id}", headers=justice).json()["items"]
    assert leaves
    logging.getLogger("auxduty.test").warning("hire", extra={"id_number": EXAMPLE})
    written = [r.text for r in answers] + [base64.b64decode(e["leaf_b64"]).decode() for e in leaves]
    row = db.execute(text("SELECT * FROM auxiliaries WHERE badge_no = :b"), {"b": badge_no}).one()
    written += [str(cell) for cell in row] + [capsys.readouterr().err, caplog.text]
    whole = {EXAMPLE, EXAMPLE.upper(), EXAMPLE[:17]}
    assert not [w for w in written for number in whole if number in w]
    assert "110105********002X" in answers[0].text and "110105********002X" in str(list(row))
    assert not any("********" in r.text for r in public)  # not even masked, to the public (第十条(一))


def test_a_person_employed_by_one_agency_is_refused_by_another_and_by_the_same(
    client: TestClient, db: Session
) -> None:
    first, first_admin = _agency(client, db)
    second, second_admin = _agency(client, db)
    number = valid_id_number()
    hired = _hire(client, first_admin, first, number)
    assert hired.status_code == 201, hired.text
    elsewhere = assert_problem(_hire(client, second_admin, second, number), 409, "already_employed")
    assert "auxiliary_id" not in elsewhere  # another agency learns that, not where
    again = assert_problem(_hire(client, first_admin, first, number.lower()), 409, "already_employed")
    assert again["auxiliary_id"] == hired.json()["id"]  # its own agency is pointed to its row
    assert (_rows(db, first), _rows(db, second)) == ((1, 1), (0, 0))
    suspended = valid_id_number()  # a suspended auxiliary is still employed; so is one still in training
    make_auxiliary(db, first, status=AuxiliaryStatus.SUSPENDED, id_number=suspended)
    assert_problem(_hire(client, second_admin, second, suspended), 409, "already_employed")
    training = valid_id_number()
    make_auxiliary(db, first, status=AuxiliaryStatus.PENDING_TRAINING, id_number=training)
    assert_problem(_hire(client, second_admin, second, training), 409, "already_employed")
    assert _rows(db, second) == (0, 0)


def test_after_a_normal_departure_the_person_may_be_hired_again_anywhere(client: TestClient, db: Session) -> None:
    first, first_admin = _agency(client, db)
    second, second_admin = _agency(client, db)
    number = valid_id_number()
    before = _hire(client, first_admin, first, number).json()
    assert client.post(f"/api/auxiliaries/{before['id']}/departure", headers=first_admin,
                       json=LEAVING).status_code == 200
    after = _hire(client, second_admin, second, number)
    assert after.status_code == 201, after.text
    assert after.json()["id_number_masked"] == before["id_number_masked"]
    assert client.post(f"/api/auxiliaries/{after.json()['id']}/departure", headers=second_admin,
                       json=LEAVING).status_code == 200
    assert _hire(client, first_admin, first, number).status_code == 201  # and back where they began
    assert verify_log(db).ok


def test_a_person_dismissed_by_any_agency_is_refused_by_every_agency_citing_article_14(
    client: TestClient, db: Session
) -> None:
    first, first_admin = _agency(client, db)
    second, second_admin = _agency(client, db)
    number = valid_id_number()
    hired = _hire(client, first_admin, first, number).json()
    dismissal = client.post(f"/api/auxiliaries/{hired['id']}/sanctions", headers=first_admin,
                            json={"action": "dismissal", "reason": "执法中索要财物，查证属实"})
    assert dismissal.status_code == 201, dismissal.text
    for agency, admin in ((second, second_admin), (first, first_admin)):
        body = assert_problem(_hire(client, admin, agency, number), 422, "ineligible", "第十四条")
        assert body["reasons"] == [{"code": "dismissed_on_record", "article": "第十四条", "item": "（二）"}]
    # The agency's own statement and the record are both listed, beside any other failed rule.
    record = {"criminal_record": False, "pending_criminal_case": False, "dismissed_for_violation": True,
              "serious_dishonesty": False}
    body = assert_problem(_hire(client, second_admin, second, number, record=record, education="junior_high"),
                          422, "ineligible", "第十三条、第十四条")
    assert [r["code"] for r in body["reasons"]] == [
        "education_below_high_school", "dismissed_for_violation", "dismissed_on_record"]
    assert _rows(db, second) == (0, 0)
    assert verify_log(db).ok


def test_a_dismissal_cleared_from_the_row_behind_the_service_is_row_altered(client: TestClient, db: Session) -> None:
    agency, admin = _agency(client, db)
    hired = _hire(client, admin, agency, valid_id_number()).json()
    client.post(f"/api/auxiliaries/{hired['id']}/sanctions", headers=admin,
                json={"action": "dismissal", "reason": "执法中索要财物，查证属实"})
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    r = client.get("/api/audit/verify", headers=justice)
    assert r.status_code == 200 and r.json()["ok"] is True, r.text
    # Whoever owns the database unties the person from the dismissal, so that 第十四条 no longer finds them.
    db.execute(text("UPDATE auxiliaries SET id_number_hash = NULL WHERE badge_no = :b"), {"b": hired["badge_no"]})
    db.expire_all()
    bad = client.get("/api/audit/verify", params={"full": "true"}, headers=justice).json()
    assert bad["ok"] is False
    assert (bad["first_bad"]["reason"], bad["first_bad"]["entity"]) == ("row_altered", "auxiliaries")


def test_an_id_number_in_a_log_line_is_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    logging.getLogger("auxduty.test").warning("hire", extra={"id_number": EXAMPLE})
    err = capsys.readouterr().err
    assert EXAMPLE not in err and '"id_number": "[redacted]"' in err
