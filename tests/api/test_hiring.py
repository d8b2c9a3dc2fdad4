"""Hiring (第十二条 to 第十五条): eligibility, hire method, granted duties, zones, headcount, who may hire."""

import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import Agency, Auxiliary, Role, User
from tests.factories import PASSWORD, hire_body, login, make_agency, make_user
from tests.problems import assert_problem

HIRE = "/api/auxiliaries"


def _admin(client: TestClient, db: Session, quota: int = 5) -> tuple[Agency, dict[str, str]]:
    agency = make_agency(db, quota=quota)
    return agency, login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))


def _stored(db: Session, agency: Agency) -> tuple[int, int]:
    """(auxiliaries on record, places used) for ``agency``, as the database holds them now."""
    db.expire_all()
    count = db.scalar(select(func.count()).select_from(Auxiliary).where(Auxiliary.agency_id == agency.id))
    used = db.scalar(select(Agency.headcount_used).where(Agency.id == agency.id))
    return int(count or 0), int(used or 0)


def test_hire_creates_pending_auxiliary_with_login_badge_and_place(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    body = hire_body(agency, preferences={"martyr_family": False, "veteran": True, "heroic_deed": False})
    r = client.post("/api/auxiliaries", json=body, headers=headers)
    assert r.status_code == 201, r.text
    aux = r.json()
    assert aux["status"] == "pending_training"
    assert re.fullmatch(r"[A-Z0-9]+", aux["badge_no"])
    assert aux["agency_id"] == str(agency.id) and aux["command_agency_id"] is None
    assert aux["categories"] == ["patrol", "publicity"] and aux["zones"]["type"] == "MultiPolygon"
    assert aux["preferences"]["veteran"] is True and aux["credential"] is None
    assert "password" not in r.text and "argon2" not in r.text
    assert _stored(db, agency) == (1, 1)
    user = db.get(User, uuid.UUID(aux["user_id"]))
    assert user is not None and user.role == Role.AUXILIARY and user.agency_id == agency.id
    me = client.get("/api/me", headers=login(client, user))
    assert me.json()["role"] == "auxiliary" and me.json()["auxiliary_id"] == aux["id"]
    assert verify_log(db).ok


@pytest.mark.parametrize("override", [{"name": "赵\x00协管"}, {"hire_method": "dispatch", "dispatch_company": "\x00"}])
def test_text_with_a_nul_character_is_422_and_takes_no_place(
    client: TestClient, db: Session, override: dict[str, str]
) -> None:
    agency, headers = _admin(client, db)
    r = client.post(HIRE, json=hire_body(agency, **override), headers=headers)
    body = assert_problem(r, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == [next(iter(reversed(override)))]
    assert _stored(db, agency) == (0, 0)


def test_badge_numbers_are_unique_per_hire(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    badges = {client.post("/api/auxiliaries", json=hire_body(agency), headers=headers).json()["badge_no"]
              for _ in range(3)}
    assert len(badges) == 3


def test_seventeen_the_day_before_the_eighteenth_birthday_is_refused_citing_article_13(
    client: TestClient, db: Session
) -> None:
    agency, headers = _admin(client, db)
    r = client.post(HIRE, json=hire_body(agency, birth_date="2008-03-02", hired_on="2026-03-01"),
                    headers=headers)
    body = assert_problem(r, 422, "ineligible", "第十三条")
    assert body["reasons"] == [{"code": "under_18", "article": "第十三条", "item": "（三）"}]
    assert _stored(db, agency) == (0, 0)


def test_eighteen_on_the_birthday_itself_is_hired(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    r = client.post(HIRE, json=hire_body(agency, birth_date="2008-03-01", hired_on="2026-03-01"),
                    headers=headers)
    assert r.status_code == 201, r.text


def test_born_on_29_february_comes_of_age_on_1_march(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    early = client.post("/api/auxiliaries", headers=headers,
                        json=hire_body(agency, birth_date="2008-02-29", hired_on="2026-02-28"))
    assert_problem(early, 422, "ineligible", "第十三条")
    on_time = client.post("/api/auxiliaries", headers=headers,
                          json=hire_body(agency, birth_date="2008-02-29", hired_on="2026-03-01"))
    assert on_time.status_code == 201, on_time.text


def test_junior_high_education_is_refused_citing_article_13(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    r = client.post("/api/auxiliaries", json=hire_body(agency, education="junior_high"), headers=headers)
    body = assert_problem(r, 422, "ineligible", "第十三条")
    assert [x["code"] for x in body["reasons"]] == ["education_below_high_school"]


@pytest.mark.parametrize("education", ["high_school", "vocational", "college", "doctorate"])
def test_high_school_level_or_above_is_enough(client: TestClient, db: Session, education: str) -> None:
    agency, headers = _admin(client, db)
    r = client.post("/api/auxiliaries", json=hire_body(agency, education=education), headers=headers)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("flag", "item"),
    [("criminal_record", "（一）"), ("pending_criminal_case", "（一）"),
     ("dismissed_for_violation", "（二）"), ("serious_dishonesty", "（三）")],
)
def test_each_disqualification_refuses_citing_article_14(
    client: TestClient, db: Session, flag: str, item: str
) -> None:
    agency, headers = _admin(client, db)
    record = {"criminal_record": False, "pending_criminal_case": False,
              "dismissed_for_violation": False, "serious_dishonesty": False, flag: True}
    r = client.post("/api/auxiliaries", json=hire_body(agency, record=record), headers=headers)
    body = assert_problem(r, 422, "ineligible", "第十四条")
    assert body["reasons"] == [{"code": flag, "article": "第十四条", "item": item}]
    assert _stored(db, agency) == (0, 0)


def test_every_failed_rule_is_listed_at_once(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    record = {"criminal_record": True, "serious_dishonesty": True}
    r = client.post("/api/auxiliaries", headers=headers,
                    json=hire_body(agency, education="junior_high", birth_date="2010-01-01", record=record))
    body = assert_problem(r, 422, "ineligible")
    assert body["article"] == "第十三条、第十四条"
    assert [x["code"] for x in body["reasons"]] == [
        "under_18", "education_below_high_school", "criminal_record", "serious_dishonesty"]


def test_misspelt_disqualification_flag_is_a_validation_error(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    r = client.post(HIRE, json=hire_body(agency, record={"criminal_records": True}), headers=headers)
    body = assert_problem(r, 422, "validation_error")
    assert any(e["field"] == "record.criminal_records" for e in body["errors"])


def test_dispatch_hire_without_company_cites_article_15(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    r = client.post("/api/auxiliaries", json=hire_body(agency, hire_method="dispatch"), headers=headers)
    assert_problem(r, 422, "dispatch_company_required", "第十五条")
    company = "南京某人力资源有限公司"
    body = hire_body(agency, hire_method="dispatch", dispatch_company=company)
    ok = client.post(HIRE, json=body, headers=headers)
    assert ok.status_code == 201 and ok.json()["dispatch_company"] == company


def test_direct_hire_with_a_dispatch_company_cites_article_15(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    r = client.post(HIRE, json=hire_body(agency, dispatch_company="某派遣公司"), headers=headers)
    assert_problem(r, 422, "dispatch_company_not_allowed", "第十五条")
    assert _stored(db, agency) == (0, 0)


def test_assisted_duty_cannot_be_granted_citing_article_7(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    r = client.post("/api/auxiliaries", json=hire_body(agency, categories=["patrol", "inspection"]),
                    headers=headers)
    body = assert_problem(r, 422, "not_an_independent_duty", "第七条")
    assert body["categories"] == ["inspection"]
    assert _stored(db, agency) == (0, 0)


def test_unknown_duty_is_a_validation_error(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    r = client.post("/api/auxiliaries", json=hire_body(agency, categories=["fining"]), headers=headers)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["field"].startswith("categories")


@pytest.mark.parametrize(
    "zones",
    [
        {"type": "Polygon", "coordinates": [[[118.7, 32.0], [118.8, 32.0], [118.8, 32.1], [118.7, 32.0]]]},
        {"type": "MultiPolygon", "coordinates": [[[[118.7, 32], [118.8, 32], [118.8, 32.1], [118.7, 32.1]]]]},
        {"type": "MultiPolygon", "coordinates": [[[[32, 118.7], [32, 118.8], [32.1, 118.8], [32, 118.7]]]]},
        {"type": "MultiPolygon", "coordinates": [[[[118.7, 32.0], [118.8, 32.0], [118.7, 32.0]]]]},
        {"type": "MultiPolygon", "coordinates": []},
        {"type": "MultiPolygon", "coordinates": [[[[118.7, "x"], [118.8, 32], [118.8, 32.1], [118.7, 32]]]]},
    ],
    ids=["not-multipolygon", "open-ring", "lat-lon-swapped", "too-few-positions", "empty", "not-a-number"],
)
def test_bad_zone_shapes_are_validation_errors(
    client: TestClient, db: Session, zones: dict[str, Any]
) -> None:
    agency, headers = _admin(client, db)
    r = client.post("/api/auxiliaries", json=hire_body(agency, zones=zones), headers=headers)
    body = assert_problem(r, 422, "validation_error")
    assert all(e["field"].startswith("zones") for e in body["errors"])
    assert _stored(db, agency) == (0, 0)


def test_zones_are_optional(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    body = hire_body(agency)
    del body["zones"]
    r = client.post("/api/auxiliaries", json=body, headers=headers)
    assert r.status_code == 201 and r.json()["zones"] is None


def test_full_headcount_refuses_citing_article_12_and_stores_nothing(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db, quota=1)
    assert client.post("/api/auxiliaries", json=hire_body(agency), headers=headers).status_code == 201
    late = hire_body(agency)
    r = client.post("/api/auxiliaries", json=late, headers=headers)
    assert_problem(r, 409, "headcount_quota_full", "第十二条")
    assert _stored(db, agency) == (1, 1)
    assert db.scalar(select(User).where(User.username == late["username"])) is None


def test_another_agencys_admin_cannot_hire_for_it(client: TestClient, db: Session) -> None:
    agency, _ = _admin(client, db)
    _, other_headers = _admin(client, db)
    r = client.post("/api/auxiliaries", json=hire_body(agency), headers=other_headers)
    assert_problem(r, 403, "not_your_agency", "第五条")
    assert _stored(db, agency) == (0, 0)


@pytest.mark.parametrize("role", [Role.JUSTICE_ADMIN, Role.OFFICER, Role.AUXILIARY])
def test_only_the_agencys_admin_hires(client: TestClient, db: Session, role: Role) -> None:
    agency = make_agency(db)
    headers = login(client, make_user(db, role=role, agency=None if role == Role.JUSTICE_ADMIN else agency))
    r = client.post("/api/auxiliaries", json=hire_body(agency), headers=headers)
    assert_problem(r, 403, "not_your_agency", "第五条")
    assert _stored(db, agency) == (0, 0)


def test_unknown_agency_is_404(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    r = client.post(HIRE, json=hire_body(agency, agency_id=str(uuid.uuid4())), headers=headers)
    assert_problem(r, 404, "not_found")


def test_taken_username_is_409_and_takes_no_place(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    first = hire_body(agency)
    assert client.post("/api/auxiliaries", json=first, headers=headers).status_code == 201
    r = client.post("/api/auxiliaries", json=hire_body(agency, username=first["username"]), headers=headers)
    assert_problem(r, 409, "username_taken")
    assert _stored(db, agency) == (1, 1)


def test_hiring_needs_a_login(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    assert_problem(client.post("/api/auxiliaries", json=hire_body(agency)), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("field", "value"),
    [("birth_date", "2000-02-30"), ("hired_on", "99999-01-01"), ("name", "名" * 101), ("password", "short"),
     ("education", "kindergarten"), ("hire_method", "volunteer"), ("agency_id", "not-a-uuid"),
     ("username", "has spaces"), ("dispatch_company", "公" * 201)],
)
def test_malformed_fields_are_listed_in_a_422(
    client: TestClient, db: Session, field: str, value: str
) -> None:
    agency, headers = _admin(client, db)
    r = client.post("/api/auxiliaries", json=hire_body(agency, **{field: value}), headers=headers)
    body = assert_problem(r, 422, "validation_error")
    assert [e["field"] for e in body["errors"]] == [field]


def test_missing_record_is_a_validation_error(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    body = hire_body(agency)
    del body["record"]
    r = client.post("/api/auxiliaries", json=body, headers=headers)
    assert "record" in [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]]


def test_hired_auxiliary_can_log_in_with_the_given_password(client: TestClient, db: Session) -> None:
    agency, headers = _admin(client, db)
    body = hire_body(agency)
    assert client.post("/api/auxiliaries", json=body, headers=headers).status_code == 201
    r = client.post("/api/auth/token", data={"username": body["username"], "password": PASSWORD})
    assert r.status_code == 200
