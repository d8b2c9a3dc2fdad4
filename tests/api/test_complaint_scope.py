"""Who reads which complaint (第五条、第二十二条、第二十八条) and which are overdue."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.domain.models import Agency, Complaint, ComplaintStatus, Role
from tests.factories import login, make_agency, make_auxiliary, make_complaint, make_user
from tests.problems import assert_problem

PHONE = "13912345678"


def _admin(client: TestClient, db: Session, agency: Agency | None) -> dict[str, str]:
    role = Role.AGENCY_ADMIN if agency else Role.JUSTICE_ADMIN
    return login(client, make_user(db, role=role, agency=agency))


def _items(client: TestClient, headers: dict[str, str], query: str = "") -> dict[str, dict[str, Any]]:
    r = client.get(f"/api/complaints{query}", headers=headers)
    assert r.status_code == 200, r.text
    return {i["id"]: i for i in r.json()["items"]}


def _due(db: Session, complaint: Complaint, days: float) -> Complaint:
    complaint.due_at = datetime.now(UTC) + timedelta(days=days)
    db.flush()
    return complaint


def test_overdue_is_past_due_and_still_open_and_filters_the_list(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    late = _due(db, make_complaint(db, aux), -1)
    late_investigating = _due(db, make_complaint(db, aux, status=ComplaintStatus.INVESTIGATING), -0.01)
    resolved_late = _due(db, make_complaint(db, aux, status=ComplaintStatus.RESOLVED), -3)
    dismissed_late = _due(db, make_complaint(db, aux, status=ComplaintStatus.DISMISSED), -3)
    in_time = _due(db, make_complaint(db, aux), 2)
    headers = _admin(client, db, agency)

    every = _items(client, headers)
    assert {i: every[i]["overdue"] for i in every} == {
        str(late.id): True, str(late_investigating.id): True, str(resolved_late.id): False,
        str(dismissed_late.id): False, str(in_time.id): False}
    assert set(_items(client, headers, "?overdue=true")) == {str(late.id), str(late_investigating.id)}
    assert set(_items(client, headers, "?overdue=false")) == {
        str(resolved_late.id), str(dismissed_late.id), str(in_time.id)}
    assert set(_items(client, headers, "?overdue=true&status=investigating")) == {str(late_investigating.id)}
    assert client.get(f"/api/complaints/{late.id}", headers=headers).json()["overdue"] is True
    assert_problem(client.get("/api/complaints?overdue=maybe", headers=headers), 422, "validation_error")


@pytest.fixture
def seconded(db: Session) -> dict[str, Any]:
    """A district's auxiliary seconded to a street below it (第二十二条), with a complaint about them."""
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, aux = make_auxiliary(db, district, command_agency=street)
    complaint = make_complaint(db, aux)
    complaint.contact_phone = PHONE
    db.flush()
    return {"district": district, "street": street, "aux": aux, "complaint": complaint}


def test_the_commanding_street_reads_complaints_about_its_seconded_staff_but_does_not_handle_them(
    client: TestClient, db: Session, seconded: dict[str, Any]
) -> None:
    complaint_id = str(seconded["complaint"].id)
    street = _admin(client, db, seconded["street"])
    employer = _admin(client, db, seconded["district"])

    listed = _items(client, street)
    assert set(listed) == {complaint_id} and listed[complaint_id]["can_handle"] is False
    read = client.get(f"/api/complaints/{complaint_id}", headers=street).json()
    assert read["can_handle"] is False and read["contact_phone"] is None and read["description"]
    r = client.post(f"/api/complaints/{complaint_id}/transitions", json={"to": "investigating"}, headers=street)
    assert_problem(r, 403, "not_handling_agency")

    assert _items(client, employer)[complaint_id]["can_handle"] is True
    assert client.get(f"/api/complaints/{complaint_id}", headers=employer).json()["contact_phone"] == PHONE
    moved = client.post(f"/api/complaints/{complaint_id}/transitions", json={"to": "investigating"},
                        headers=employer)
    assert moved.status_code == 200 and moved.json()["status"] == "investigating"


def test_another_street_and_a_street_after_the_recall_see_nothing(
    client: TestClient, db: Session, seconded: dict[str, Any]
) -> None:
    complaint_id = str(seconded["complaint"].id)
    other_street = _admin(client, db, make_agency(db, level="street", parent=seconded["district"]))
    assert _items(client, other_street) == {}
    assert_problem(client.get(f"/api/complaints/{complaint_id}", headers=other_street), 404, "not_found")

    employer = _admin(client, db, seconded["district"])
    r = client.post(f"/api/auxiliaries/{seconded['aux'].id}/secondment", json={"command_agency_id": None},
                    headers=employer)
    assert r.status_code == 200, r.text
    street = _admin(client, db, seconded["street"])
    assert _items(client, street) == {}
    assert_problem(client.get(f"/api/complaints/{complaint_id}", headers=street), 404, "not_found")
