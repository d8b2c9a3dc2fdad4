"""Reads of personal data are kept and listed for the justice bureau (第十条(一)): who, what, when; never the data."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.domain.models import Complaint, Role, User
from api.domain.privacy_tables import PersonalDataRead, ReadKind
from tests.factories import login, make_agency, make_auxiliary, make_complaint, make_user
from tests.photos import phone_photo
from tests.problems import assert_problem


def _reads(client: TestClient, justice: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    r = client.get("/api/personal-data-reads", params=params, headers=justice)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def _justice(client: TestClient, db: Session) -> dict[str, str]:
    return login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))


def test_an_agency_admins_read_of_a_record_is_listed_for_the_justice_bureau_without_the_data(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency, name="赵敏感")
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    justice = _justice(client, db)
    before = datetime.now(UTC) - timedelta(seconds=5)
    r = client.get(f"/api/auxiliaries/{aux.id}", headers=login(client, admin))
    assert r.status_code == 200, r.text

    r = client.get("/api/personal-data-reads", params={"user_id": str(admin.id)}, headers=justice)
    assert r.status_code == 200, r.text
    [read] = r.json()["items"]
    assert (read["user_id"], read["role"], read["kind"], read["record_id"]) == (
        str(admin.id), "agency_admin", "auxiliary", str(aux.id))
    assert before <= datetime.fromisoformat(read["read_at"]) <= datetime.now(UTC) + timedelta(seconds=5)
    assert read["request_id"]
    for personal in (aux.name, aux.badge_no, aux.birth_date.isoformat(), "high_school"):
        assert personal not in r.text


def test_the_standing_and_each_listed_record_are_reads(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, first = make_auxiliary(db, agency)
    _, second = make_auxiliary(db, agency)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    headers, justice = login(client, admin), _justice(client, db)
    assert client.get(f"/api/auxiliaries/{first.id}/standing", headers=headers).status_code == 200
    assert client.get("/api/auxiliaries", headers=headers).status_code == 200

    [standing] = _reads(client, justice, user_id=str(admin.id), kind="standing")
    assert standing["record_id"] == str(first.id)
    listed = _reads(client, justice, user_id=str(admin.id), kind="auxiliary")
    assert sorted(i["record_id"] for i in listed) == sorted([str(first.id), str(second.id)])


def test_only_the_justice_bureau_lists_the_reads(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    user, _ = make_auxiliary(db, agency)
    for someone in (make_user(db, role=Role.AGENCY_ADMIN, agency=agency), user):
        assert_problem(client.get("/api/personal-data-reads", headers=login(client, someone)), 403,
                       "role_not_allowed")
    assert client.get("/api/personal-data-reads").status_code == 401


def test_each_roster_export_is_one_read_naming_agency_year_format_and_rows(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    make_auxiliary(db, agency)
    make_auxiliary(db, agency)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    headers, justice = login(client, admin), _justice(client, db)
    year = datetime.now(UTC).year
    for fmt in ("csv", "json", "xlsx"):
        r = client.get("/api/reports/roster", params={"year": year, "format": fmt}, headers=headers)
        assert r.status_code == 200, r.text

    exports = _reads(client, justice, user_id=str(admin.id))
    assert [(e["kind"], e["format"], e["year"], e["agency_id"], e["row_count"], e["record_id"]) for e in exports] == [
        ("roster", fmt, year, str(agency.id), 2, None) for fmt in ("xlsx", "json", "csv")]  # newest first


def test_a_complaint_read_with_the_phone_is_a_read_of_it_and_filters_work(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    with_phone, without = make_complaint(db, aux), make_complaint(db, aux)
    with_phone.contact_phone = "13912345678"
    db.flush()
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    headers, justice = login(client, admin), _justice(client, db)
    for complaint in (with_phone, without):
        assert client.get(f"/api/complaints/{complaint.id}", headers=headers).status_code == 200

    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    [read] = _reads(client, justice, kind="complainant_phone", since=since, user_id=str(admin.id))
    assert read["record_id"] == str(with_phone.id)
    assert _reads(client, justice, kind="complainant_phone", since=(datetime.now(UTC) + timedelta(hours=1))
                  .isoformat()) == []
    assert "13912345678" not in client.get("/api/personal-data-reads", headers=justice).text


def test_reads_page_newest_first(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    headers, justice = login(client, admin), _justice(client, db)
    for _ in range(3):
        assert client.get(f"/api/auxiliaries/{aux.id}", headers=headers).status_code == 200
    first = client.get("/api/personal-data-reads", params={"user_id": str(admin.id), "limit": 2}, headers=justice)
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get("/api/personal-data-reads", params={"user_id": str(admin.id), "cursor": page["next_cursor"]},
                      headers=justice).json()
    times = [i["read_at"] for i in page["items"] + rest["items"]]
    assert len(times) == 3 and times == sorted(times, reverse=True)


def test_the_database_refuses_to_change_or_remove_a_read(db: Session) -> None:
    user: User = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    db.add(PersonalDataRead(user_id=user.id, role=user.role, kind=ReadKind.AUXILIARY))
    db.flush()
    for statement in ("UPDATE personal_data_reads SET role = 'x'", "DELETE FROM personal_data_reads"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(statement))
    if db.get_bind().dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text("TRUNCATE personal_data_reads CASCADE"))


def test_the_id_photo_and_the_badge_card_are_reads_and_a_public_badge_check_is_not(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    headers, justice = login(client, admin), _justice(client, db)
    photo = {"file": ("p.jpg", phone_photo(), "image/jpeg")}
    r = client.put(f"/api/auxiliaries/{aux.id}/photo", headers=headers, files=photo)
    assert r.status_code == 200, r.text
    assert _reads(client, justice, user_id=str(admin.id)) == []  # a write shows nothing
    assert client.get(f"/api/auxiliaries/{aux.id}/photo", headers=headers).status_code == 200
    assert client.get(f"/api/auxiliaries/{aux.id}/badge.png", headers=headers).status_code == 200
    # A citizen checking the badge sees the name and photo too: that is the badge's purpose, not a read here.
    assert client.get(f"/api/public/badges/{aux.badge_no}").status_code == 200
    assert client.get(f"/api/public/photos/{aux.badge_no}").status_code == 200

    reads = _reads(client, justice)
    assert [(r["user_id"], r["kind"], r["record_id"]) for r in reads] == [
        (str(admin.id), "badge_card", str(aux.id)), (str(admin.id), "id_photo", str(aux.id))]  # newest first
    [photo] = _reads(client, justice, kind="id_photo")
    assert photo["request_id"]


def test_a_complaint_photo_shown_to_the_handling_agency_is_a_read_of_the_complaint(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    receipt = client.post("/api/public/complaints", json={
        "badge_no": aux.badge_no, "category": "rude_conduct", "description": "推搡摊主。",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}).json()
    sent = client.post(f"/api/public/complaints/{receipt['tracking_no']}/photos",
                       files={"file": ("p.jpg", phone_photo(), "image/jpeg")},
                       headers={"X-Access-Code": receipt["access_code"]})
    assert sent.status_code == 201, sent.text
    complaint_id = db.scalar(select(Complaint.id).where(Complaint.tracking_no == receipt["tracking_no"]))
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    headers, justice = login(client, admin), _justice(client, db)
    r = client.get(f"/api/complaints/{complaint_id}/photos/{sent.json()['id']}", headers=headers)
    assert r.status_code == 200, r.text

    [read] = _reads(client, justice, kind="complaint_photo")
    assert (read["user_id"], read["role"], read["record_id"]) == (str(admin.id), "agency_admin", str(complaint_id))
