"""A person's standing through the API: assessments by the employer or the commanding street (第二十二条),
terms and their renewal on an assessment (第二十一条), the badge of an ended term `expired`, who may read and
write, and every write in the transparency log (第十条(三))."""

import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.audit.tree import integrate_all
from api.domain.base import beijing_date, utcnow
from api.domain.models import Agency, Auxiliary, Commendation, Credential, Role, Sanction, Task
from api.settings import Settings
from tests.conftest import make_settings
from tests.factories import (
    login,
    make_agency,
    make_assessment,
    make_auxiliary,
    make_contract,
    make_user,
    task_payload,
)
from tests.problems import assert_problem

FIRST_TERM = {"starts_on": "2024-03-01", "ends_on": "2026-02-28"}
RENEWAL = {"starts_on": "2026-03-01", "ends_on": "2028-02-29"}
SCORES = {"discipline": 90, "performance": 84, "conduct": 88, "training": 80}


@pytest.fixture
def app_settings(data_dir: Path, tmp_path: Path) -> Settings:
    # The log check compares with checkpoints published outside the database: this test's own.
    return make_settings(data_dir, log_dir=tmp_path / "log")


def _admin(client: TestClient, db: Session, agency: Agency) -> dict[str, str]:
    return login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))


def _assess(client: TestClient, headers: dict[str, str], aux: Auxiliary, **body: Any) -> Any:
    return client.post(f"/api/auxiliaries/{aux.id}/assessments", headers=headers,
                       json={"period": "2025", "grade": "competent", "scores": SCORES, **body})


def _term(client: TestClient, headers: dict[str, str], aux: Auxiliary, term: dict[str, str]) -> Any:
    return client.post(f"/api/auxiliaries/{aux.id}/contracts", headers=headers, json=term)


def _token(client: TestClient, db: Session, aux: Auxiliary) -> str:
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = client.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=cred.version)  # type: ignore[attr-defined]
    return str(token)


def _today() -> date:
    return beijing_date(utcnow())


# --- 第二十一条: renewal rests on an assessment of the ending term ------------------------------------------

def test_renewal_without_an_assessment_of_the_ending_term_is_refused_citing_article_21(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    first = _term(client, admin, aux, FIRST_TERM)
    assert first.status_code == 201, first.text
    assert (first.json()["sequence"], first.json()["renewal_of_id"]) == (1, None)
    assert_problem(_term(client, admin, aux, RENEWAL), 422, "assessment_required", "第二十一条")
    # An assessment of a period after the ending term is not one of it.
    assert _assess(client, admin, aux, period="2026-H1").status_code == 201
    body = assert_problem(_term(client, admin, aux, RENEWAL), 422, "assessment_required", "第二十一条")
    assert body["ending_contract_id"] == first.json()["id"]


def test_an_incompetent_assessment_within_the_ending_term_refuses_renewal(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    assert _term(client, admin, aux, FIRST_TERM).status_code == 201
    assert _assess(client, admin, aux, period="2025-Q1", grade="excellent").status_code == 201
    bad = _assess(client, admin, aux, period="2025-Q3", grade="incompetent")
    assert bad.status_code == 201, bad.text
    body = assert_problem(_term(client, admin, aux, RENEWAL), 422, "assessment_incompetent", "第二十一条")
    assert body["assessment_id"] == bad.json()["id"]
    r = _term(client, admin, aux, RENEWAL)
    assert "不称职" in r.json()["detail"]
    en = client.post(f"/api/auxiliaries/{aux.id}/contracts", json=RENEWAL, headers={**admin, "Accept-Language": "en"})
    assert "incompetent" in en.json()["detail"]


def test_a_competent_assessment_renews_and_the_new_term_names_it(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    first = _term(client, admin, aux, FIRST_TERM).json()
    assessment = _assess(client, admin, aux, period="2025", grade="basically_competent").json()
    assert (assessment["period_starts_on"], assessment["period_ends_on"]) == ("2025-01-01", "2025-12-31")
    renewed = _term(client, admin, aux, RENEWAL)
    assert renewed.status_code == 201, renewed.text
    body = renewed.json()
    assert (body["sequence"], body["renewal_of_id"], body["assessment_id"]) == (2, first["id"], assessment["id"])


def test_overlapping_terms_are_refused(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    first = _term(client, admin, aux, FIRST_TERM).json()
    body = assert_problem(_term(client, admin, aux, {"starts_on": "2026-02-28", "ends_on": "2027-02-28"}), 422,
                          "contract_overlaps")
    assert body["contract_id"] == first["id"]
    assert_problem(_term(client, admin, aux, {"starts_on": "2023-01-01", "ends_on": "2023-12-31"}), 422,
                   "contract_before_hire")
    assert_problem(_term(client, admin, aux, {"starts_on": "2027-03-01", "ends_on": "2027-01-01"}), 422,
                   "validation_error")


def test_an_assessment_period_is_a_year_a_half_or_a_quarter_once_per_agency(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    for period in ("2026-H3", "2026-Q5", "26", "2026-h1", "1999", "2026Q1"):
        r = _assess(client, admin, aux, period=period)
        assert assert_problem(r, 422, "validation_error")["errors"][0]["field"] == "period", period
    r = _assess(client, admin, aux, scores={**SCORES, "conduct": 101})
    assert assert_problem(r, 422, "validation_error")["errors"][0]["field"] == "scores.conduct"
    assert_problem(_assess(client, admin, aux, grade="good"), 422, "validation_error")
    assert_problem(_assess(client, admin, aux, period=str(_today().year + 1)), 422, "period_not_started")
    assert_problem(_assess(client, admin, aux, period="2023"), 422, "period_before_hire")
    first = _assess(client, admin, aux, period="2026-Q3")
    assert first.status_code == 201 and first.json()["agency_id"] == str(agency.id)
    again = assert_problem(_assess(client, admin, aux, period="2026-Q3"), 409, "assessment_exists")
    assert again["assessment_id"] == first.json()["id"]


# --- the badge of an ended term -------------------------------------------------------------------------

def test_the_badge_of_a_term_ended_yesterday_is_expired_and_its_holder_records_no_work(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    aux_user, aux = make_auxiliary(db, agency)
    make_contract(db, aux, starts_on=aux.hired_on, ends_on=_today() - timedelta(days=1))
    token = _token(client, db, aux)
    body = client.get(f"/api/public/verify/{token}").json()
    assert body["status"] == "expired"
    assert body["photo_url"] is None and body["independent_duties"] == [] and "聘用期限已满" in body["notice"]
    assert client.get(f"/api/public/badges/{aux.badge_no}").json()["status"] == "expired"
    page = client.get(f"/v/{token}").text
    assert 'data-status="expired"' in page and "证件已过期" in page and "请勿配合" in page
    task = task_payload()
    assert_problem(client.post("/api/tasks", json=task, headers=login(client, aux_user)), 403,
                   "credential_not_active", "第二十三条")
    assert db.get(Task, uuid.UUID(task["id"])) is None
    # A renewal on an assessment of the ended term makes the same badge valid again, at once.
    make_assessment(db, aux, period="2025")
    admin = _admin(client, db, agency)
    renewed = _term(client, admin, aux, {"starts_on": str(_today()), "ends_on": str(_today() + timedelta(days=730))})
    assert renewed.status_code == 201, renewed.text
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "valid"
    assert client.post("/api/tasks", json=task, headers=login(client, aux_user)).status_code == 201


def test_the_badge_stays_valid_through_the_last_day_of_the_term(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    make_contract(db, aux, starts_on=aux.hired_on, ends_on=_today())
    assert client.get(f"/api/public/verify/{_token(client, db, aux)}").json()["status"] == "valid"
    standing = client.get(f"/api/auxiliaries/{aux.id}/standing", headers=_admin(client, db, agency)).json()
    assert standing["term"]["ends_on"] == str(_today()) and standing["term"]["expired"] is False


def test_without_any_term_the_badge_never_expires(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    assert client.get(f"/api/public/verify/{_token(client, db, aux)}").json()["status"] == "valid"
    standing = client.get(f"/api/auxiliaries/{aux.id}/standing", headers=_admin(client, db, agency)).json()
    assert standing["term"] == {"ends_on": None, "expired": False, "current_contract_id": None}


def test_a_remembered_valid_answer_is_forgotten_when_the_term_runs_out_at_midnight(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer cache keeps answers for `badge_cache_seconds` (30 here); one that turns `expired` at midnight
    is kept only until then, though nothing is written."""
    from api.domain.base import BEIJING, beijing_midnight
    from api.domain.staff import badge_status

    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    last_day = date(2026, 2, 28)
    make_contract(db, aux, starts_on=aux.hired_on, ends_on=last_day)
    token = _token(client, db, aux)
    db.commit()
    clock = [1000.0]
    cache = client.app.state.ctx.badge_cache  # type: ignore[attr-defined]
    monkeypatch.setattr(cache, "clock", lambda: clock[0])
    evening = beijing_midnight(last_day + timedelta(days=1)) - timedelta(seconds=10)
    monkeypatch.setattr(badge_status, "utcnow", lambda: evening)
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "valid"
    clock[0] += 11
    monkeypatch.setattr(badge_status, "utcnow", lambda: evening + timedelta(seconds=11))
    assert (evening + timedelta(seconds=11)).astimezone(BEIJING).date() == last_day + timedelta(days=1)
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "expired"


# --- who may write and read -----------------------------------------------------------------------------

def test_the_commanding_street_assesses_a_seconded_auxiliary_and_a_third_agency_cannot(
    client: TestClient, db: Session
) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    other_street = make_agency(db, level="street", parent=district)
    aux_user, aux = make_auxiliary(db, district, command_agency=street)
    by_street = _assess(client, _admin(client, db, street), aux, period="2026-H1")
    assert by_street.status_code == 201, by_street.text
    assert by_street.json()["agency_id"] == str(street.id)
    by_employer = _assess(client, _admin(client, db, district), aux, period="2026-H1")
    assert by_employer.status_code == 201 and by_employer.json()["agency_id"] == str(district.id)
    # An agency with no part in the auxiliary is told nothing about them, as for every record of theirs.
    assert_problem(_assess(client, _admin(client, db, other_street), aux, period="2026-H2"), 404, "not_found")
    for user in (make_user(db, role=Role.JUSTICE_ADMIN, agency=None), aux_user):
        assert_problem(_assess(client, login(client, user), aux, period="2026-H2"), 403, "not_your_agency", "第五条")


def test_only_the_employer_records_terms_commendations_and_sanctions(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    aux_user, aux = make_auxiliary(db, district, command_agency=street)
    writes = [("contracts", FIRST_TERM), ("sanctions", {"action": "correction", "reason": "迟到"}),
              ("commendations", {"kind": "嘉奖", "reason": "拾金不昧", "awarded_on": "2026-05-01"})]
    for user in (make_user(db, role=Role.AGENCY_ADMIN, agency=street), make_user(db, role=Role.JUSTICE_ADMIN,
                                                                                  agency=None), aux_user):
        for path, body in writes:
            r = client.post(f"/api/auxiliaries/{aux.id}/{path}", json=body, headers=login(client, user))
            assert_problem(r, 403, "not_your_agency", "第五条")


def test_standing_is_read_by_employer_commander_and_justice_not_by_the_person_or_others(
    client: TestClient, db: Session
) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    aux_user, aux = make_auxiliary(db, district, command_agency=street)
    make_assessment(db, aux, period="2025")
    make_assessment(db, aux, period="2026-Q1", agency=street)
    for user in (make_user(db, role=Role.AGENCY_ADMIN, agency=district),
                 make_user(db, role=Role.AGENCY_ADMIN, agency=street),
                 make_user(db, role=Role.JUSTICE_ADMIN, agency=None)):
        r = client.get(f"/api/auxiliaries/{aux.id}/standing", headers=login(client, user))
        assert r.status_code == 200, r.text
        assert [a["period"] for a in r.json()["assessments"]] == ["2026-Q1", "2025"]  # newest first
    path = f"/api/auxiliaries/{aux.id}/standing"
    assert_problem(client.get(path, headers=login(client, aux_user)), 403, "not_your_agency")
    outsider = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    assert_problem(client.get(path, headers=login(client, outsider)), 404, "not_found")
    assert_problem(client.get(path), 401, "unauthenticated")


# --- 第十条(三): append-only, and in the log -------------------------------------------------------------

def _key(db: Session, value: str) -> Any:
    return uuid.UUID(value).hex if db.get_bind().dialect.name == "sqlite" else uuid.UUID(value)


def test_standing_writes_verify_and_an_assessment_changed_behind_the_service_is_row_altered(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = _admin(client, db, agency)
    assert _term(client, admin, aux, FIRST_TERM).status_code == 201
    assessment = _assess(client, admin, aux).json()
    assert _term(client, admin, aux, RENEWAL).status_code == 201
    assert client.post(f"/api/auxiliaries/{aux.id}/commendations", headers=admin, json={
        "kind": "嘉奖", "reason": "拾金不昧", "awarded_on": "2026-05-01"}).status_code == 201
    assert client.post(f"/api/auxiliaries/{aux.id}/sanctions", headers=admin,
                       json={"action": "dismissal", "reason": "索要财物"}).status_code == 201
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    verified = client.get("/api/audit/verify", headers=justice).json()
    assert verified["ok"] is True, verified
    integrate_all(db)
    entries = client.get(f"/api/audit/records/assessments/{assessment['id']}", headers=justice).json()["items"]
    assert [e["action"] for e in entries] == ["assessment.recorded"]
    # Whoever owns the database drops the guard and lifts the grade: the log sees it.
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE assessments DISABLE TRIGGER assessments_no_update"))
    else:
        db.execute(text("DROP TRIGGER assessments_no_update"))
    db.execute(text("UPDATE assessments SET grade = 'excellent' WHERE id = :id"), {"id": _key(db, assessment["id"])})
    db.expire_all()
    report = verify_log(db)
    assert not report.ok
    assert report.first_bad == {"entity": "assessments", "entity_id": assessment["id"], "reason": "row_altered"}


@pytest.mark.parametrize("table", ["assessments", "contracts", "commendations", "sanctions"])
def test_the_database_refuses_to_change_or_remove_standing_records(db: Session, table: str) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    make_assessment(db, aux)
    make_contract(db, aux, starts_on=aux.hired_on, ends_on=date(2026, 2, 28))
    db.add_all([
        Commendation(auxiliary_id=aux.id, agency_id=agency.id, recorded_by=aux.user_id, kind="嘉奖",
                     reason="拾金不昧", awarded_on=date(2026, 5, 1)),
        Sanction(auxiliary_id=aux.id, agency_id=agency.id, recorded_by=aux.user_id, action="criticism", reason="迟到"),
    ])
    db.flush()
    for statement in (f"UPDATE {table} SET rules_version = 'x'", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(statement))
    if db.get_bind().dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(f"TRUNCATE {table} CASCADE"))
