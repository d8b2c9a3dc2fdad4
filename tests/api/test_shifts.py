"""Shift check-in and check-out: the phone's own id, the zone flag, idempotent retries."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import ShiftEvent
from tests.factories import OUT_OF_ZONE, login, make_agency, make_auxiliary, make_officer, shift_payload
from tests.problems import assert_problem


def _events(db: Session, event_id: str) -> int:
    stmt = select(func.count()).select_from(ShiftEvent).where(ShiftEvent.id == uuid.UUID(event_id))
    return db.scalar(stmt) or 0


def _headers(client: TestClient, db: Session, **kw: Any) -> dict[str, str]:
    user, _ = make_auxiliary(db, make_agency(db), **kw)
    return login(client, user)


def test_check_in_inside_the_zone(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    body = shift_payload()
    r = client.post("/api/shifts/check-in", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert (r.json()["id"], r.json()["kind"], r.json()["in_zone"]) == (body["id"], "check_in", True)
    assert r.json()["at"] == "2026-11-26T00:58:00Z"
    assert verify_log(db).ok


def test_check_out_outside_the_zone_is_recorded_and_flagged(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    body = shift_payload(lat=OUT_OF_ZONE[0], lon=OUT_OF_ZONE[1])
    del body["accuracy_m"]
    r = client.post("/api/shifts/check-out", json=body, headers=headers)
    assert r.status_code == 201 and r.json()["kind"] == "check_out" and r.json()["in_zone"] is False


def test_no_zones_gives_in_zone_null(client: TestClient, db: Session) -> None:
    r = client.post("/api/shifts/check-in", json=shift_payload(), headers=_headers(client, db, zones={}))
    assert r.status_code == 201 and r.json()["in_zone"] is None


@pytest.mark.parametrize(("accuracy_m", "in_zone"), [(10.0, True), (5000.0, None)])
def test_in_zone_is_honest_about_the_phones_accuracy(
    client: TestClient, db: Session, accuracy_m: float, in_zone: bool | None
) -> None:
    r = client.post("/api/shifts/check-in", json=shift_payload(accuracy_m=accuracy_m), headers=_headers(client, db))
    assert r.status_code == 201, r.text
    assert (r.json()["accuracy_m"], r.json()["in_zone"]) == (accuracy_m, in_zone)


def test_a_check_in_sent_again_is_one_event(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    body = shift_payload()
    first = client.post("/api/shifts/check-in", json=body, headers=headers)
    again = client.post("/api/shifts/check-in", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert _events(db, body["id"]) == 1


@pytest.mark.parametrize("change", [{"lat": 32.041}, {"at": "2026-11-26T09:00:00+08:00"}, "as_check_out"])
def test_same_id_other_content_is_409(client: TestClient, db: Session, change: Any) -> None:
    headers = _headers(client, db)
    body = shift_payload()
    assert client.post("/api/shifts/check-in", json=body, headers=headers).status_code == 201
    if change == "as_check_out":
        r = client.post("/api/shifts/check-out", json=body, headers=headers)
    else:
        r = client.post("/api/shifts/check-in", json={**body, **change}, headers=headers)
    assert_problem(r, 409, "id_conflict")
    assert _events(db, body["id"]) == 1


def test_another_auxiliarys_event_id_is_409(client: TestClient, db: Session) -> None:
    body = shift_payload()
    assert client.post("/api/shifts/check-in", json=body, headers=_headers(client, db)).status_code == 201
    assert_problem(client.post("/api/shifts/check-in", json=body, headers=_headers(client, db)), 409, "id_conflict")


def test_only_auxiliaries_check_in(client: TestClient, db: Session) -> None:
    officer_user, _ = make_officer(db, make_agency(db))
    body = shift_payload()
    r = client.post("/api/shifts/check-in", json=body, headers=login(client, officer_user))
    assert_problem(r, 403, "role_not_allowed")
    assert _events(db, body["id"]) == 0
    assert_problem(client.post("/api/shifts/check-in", json=body), 401, "unauthenticated")


@pytest.mark.parametrize(
    "override",
    [{"at": "2026-11-26T08:58:00"}, {"at": "0001-01-01T00:00:00+14:00"}, {"lat": "NaN"}, {"lon": 181},
     {"accuracy_m": -1}, {"accuracy_m": 0}, {"accuracy_m": 10_000.5}, {"id": "x"}, {"extra": True},
     {"accuracy_m": "Infinity"}],
)
def test_malformed_shift_event_is_422(client: TestClient, db: Session, override: dict[str, Any]) -> None:
    r = client.post("/api/shifts/check-in", json=shift_payload(**override), headers=_headers(client, db))
    assert_problem(r, 422, "validation_error")
