"""Shift check-in and check-out: one open shift at a time, in time order, only with a valid credential
(第二十三条); the phone's own id and idempotent retries; in_zone honest about the phone's accuracy."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import AuxiliaryStatus, ShiftEvent
from tests.factories import (
    OUT_OF_ZONE,
    beijing,
    in_utc,
    login,
    make_agency,
    make_auxiliary,
    make_officer,
    shift_payload,
)
from tests.problems import assert_problem

IN, OUT = "/api/shifts/check-in", "/api/shifts/check-out"


def _events(db: Session, event_id: str) -> int:
    stmt = select(func.count()).select_from(ShiftEvent).where(ShiftEvent.id == uuid.UUID(event_id))
    return db.scalar(stmt) or 0


def _headers(client: TestClient, db: Session, **kw: Any) -> dict[str, str]:
    user, _ = make_auxiliary(db, make_agency(db), **kw)
    return login(client, user)


def _send(client: TestClient, path: str, headers: dict[str, str], status: int = 201, **kw: Any) -> dict[str, Any]:
    r = client.post(path, json=shift_payload(**kw), headers=headers)
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def test_check_in_inside_the_zone(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    body = shift_payload()
    r = client.post(IN, json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert (r.json()["id"], r.json()["kind"], r.json()["in_zone"]) == (body["id"], "check_in", True)
    assert r.json()["at"] == in_utc(body["at"])
    assert (r.json()["check_in_id"], r.json()["recorded_before_suspension"]) == (None, False)
    assert verify_log(db).ok


def test_a_check_out_closes_the_open_shift_and_names_it(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    check_in = _send(client, IN, headers, at=beijing(8))
    check_out = _send(client, OUT, headers, at=beijing(17), lat=OUT_OF_ZONE[0], lon=OUT_OF_ZONE[1])
    assert (check_out["kind"], check_out["check_in_id"], check_out["in_zone"]) == ("check_out", check_in["id"], False)
    again = _send(client, IN, headers, at=beijing(18))  # a new shift
    assert _send(client, OUT, headers, at=beijing(19))["check_in_id"] == again["id"]
    assert verify_log(db).ok


def test_no_check_out_without_a_check_in(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    body = shift_payload()
    assert_problem(client.post(OUT, json=body, headers=headers), 409, "not_checked_in")
    assert _events(db, body["id"]) == 0


def test_no_second_check_out_in_a_row(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    _send(client, IN, headers, at=beijing(8))
    _send(client, OUT, headers, at=beijing(12))
    assert_problem(client.post(OUT, json=shift_payload(at=beijing(13)), headers=headers), 409, "not_checked_in")


def test_no_check_in_while_checked_in(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    first = _send(client, IN, headers, at=beijing(8))
    body = shift_payload(at=beijing(9))
    problem = assert_problem(client.post(IN, json=body, headers=headers), 409, "already_checked_in")
    assert problem["check_in_id"] == first["id"]
    assert _events(db, body["id"]) == 0


def test_a_check_out_dated_before_its_check_in_is_out_of_order(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    _send(client, IN, headers, at=beijing(8))
    body = shift_payload(at=beijing(7, 59))
    assert_problem(client.post(OUT, json=body, headers=headers), 409, "shift_out_of_order")
    assert _events(db, body["id"]) == 0


def test_a_check_in_dated_before_the_last_check_out_is_out_of_order(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    _send(client, IN, headers, at=beijing(8))
    _send(client, OUT, headers, at=beijing(12))
    body = shift_payload(at=beijing(11))  # would overlap the shift just closed
    assert_problem(client.post(IN, json=body, headers=headers), 409, "shift_out_of_order")
    assert _events(db, body["id"]) == 0


def test_a_check_out_at_the_check_in_instant_is_a_shift_of_no_length(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    check_in = _send(client, IN, headers, at=beijing(8))
    assert _send(client, OUT, headers, at=beijing(8))["check_in_id"] == check_in["id"]


def test_retries_are_answered_whatever_the_state_now(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    check_in = shift_payload(at=beijing(8))
    check_out = shift_payload(at=beijing(12))
    first = client.post(IN, json=check_in, headers=headers)
    assert client.post(IN, json=check_in, headers=headers).json() == first.json()  # checked in: still 200
    out = client.post(OUT, json=check_out, headers=headers)
    assert client.post(IN, json=shift_payload(at=beijing(13)), headers=headers).status_code == 201
    again = client.post(OUT, json=check_out, headers=headers)
    assert (first.status_code, out.status_code, again.status_code) == (201, 201, 200)
    assert again.json() == out.json()


@pytest.mark.parametrize("status", [AuxiliaryStatus.SUSPENDED, AuxiliaryStatus.PENDING_TRAINING])
def test_no_check_in_or_out_without_a_valid_credential_article_23(
    client: TestClient, db: Session, status: AuxiliaryStatus
) -> None:
    headers = _headers(client, db, status=status)
    for path in (IN, OUT):
        body = shift_payload()
        assert_problem(client.post(path, json=body, headers=headers), 403, "credential_not_active", "第二十三条")
        assert _events(db, body["id"]) == 0


@pytest.mark.parametrize(("accuracy_m", "in_zone"), [(10.0, True), (5000.0, None)])
def test_in_zone_is_honest_about_the_phones_accuracy(
    client: TestClient, db: Session, accuracy_m: float, in_zone: bool | None
) -> None:
    r = client.post(IN, json=shift_payload(accuracy_m=accuracy_m), headers=_headers(client, db))
    assert r.status_code == 201, r.text
    assert (r.json()["accuracy_m"], r.json()["in_zone"]) == (accuracy_m, in_zone)


def test_check_in_outside_the_zone_is_recorded_and_flagged(client: TestClient, db: Session) -> None:
    body = shift_payload(lat=OUT_OF_ZONE[0], lon=OUT_OF_ZONE[1])
    del body["accuracy_m"]
    r = client.post(IN, json=body, headers=_headers(client, db))
    assert r.status_code == 201 and r.json()["in_zone"] is False


def test_no_zones_gives_in_zone_null(client: TestClient, db: Session) -> None:
    r = client.post(IN, json=shift_payload(), headers=_headers(client, db, zones={}))
    assert r.status_code == 201 and r.json()["in_zone"] is None


def test_a_check_in_sent_again_is_one_event(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    body = shift_payload()
    first = client.post(IN, json=body, headers=headers)
    again = client.post(IN, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert _events(db, body["id"]) == 1


@pytest.mark.parametrize("change", [{"lat": 32.041}, {"at": beijing(9)}, "as_check_out"])
def test_same_id_other_content_is_409(client: TestClient, db: Session, change: Any) -> None:
    headers = _headers(client, db)
    body = shift_payload()
    assert client.post(IN, json=body, headers=headers).status_code == 201
    if change == "as_check_out":
        r = client.post(OUT, json=body, headers=headers)
    else:
        r = client.post(IN, json={**body, **change}, headers=headers)
    assert_problem(r, 409, "id_conflict")
    assert _events(db, body["id"]) == 1


def test_another_auxiliarys_event_id_is_409(client: TestClient, db: Session) -> None:
    body = shift_payload()
    assert client.post(IN, json=body, headers=_headers(client, db)).status_code == 201
    assert_problem(client.post(IN, json=body, headers=_headers(client, db)), 409, "id_conflict")


def test_only_auxiliaries_check_in(client: TestClient, db: Session) -> None:
    officer_user, _ = make_officer(db, make_agency(db))
    body = shift_payload()
    r = client.post(IN, json=body, headers=login(client, officer_user))
    assert_problem(r, 403, "role_not_allowed")
    assert _events(db, body["id"]) == 0
    assert_problem(client.post(IN, json=body), 401, "unauthenticated")


@pytest.mark.parametrize(
    "override",
    [{"at": "2026-11-26T08:58:00"}, {"at": "0001-01-01T00:00:00+14:00"}, {"lat": "NaN"}, {"lon": 181},
     {"accuracy_m": -1}, {"accuracy_m": 0}, {"accuracy_m": 10_000.5}, {"id": "x"}, {"extra": True},
     {"accuracy_m": "Infinity"}],
)
def test_malformed_shift_event_is_422(client: TestClient, db: Session, override: dict[str, Any]) -> None:
    r = client.post(IN, json=shift_payload(**override), headers=_headers(client, db))
    assert_problem(r, 422, "validation_error")
