"""Where the officer was when co-signing (第八条、第二十五条): the distance to the task and the time since the
work are kept; far away or without a position is flagged, never refused; the flags show wherever the task does."""

import math
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import Cosignature, Role
from api.settings import Settings
from tests.factories import IN_ZONE, login, make_agency, make_auxiliary, make_officer, make_user, task_payload
from tests.problems import assert_problem

TASK_LAT, TASK_LON = IN_ZONE
BEIJING_CITY = (39.9042, 116.4074)  # about 900 km from Nanjing
M_PER_DEG_LAT = 6_371_008.8 * math.pi / 180


def _north(metres: float) -> float:
    return TASK_LAT + metres / M_PER_DEG_LAT


def _pending(client: TestClient, db: Session) -> tuple[dict[str, Any], dict[str, str], dict[str, str], Any]:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    aux_h = login(client, aux_user)
    body = task_payload(category="inspection", officer_id=str(officer.id), lat=TASK_LAT, lon=TASK_LON)
    r = client.post("/api/tasks", json=body, headers=aux_h)
    assert r.status_code == 201, r.text
    return r.json(), aux_h, login(client, officer_user), agency


def _cosign(client: TestClient, task: dict[str, Any], headers: dict[str, str], **position: Any) -> dict[str, Any]:
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve", **position}, headers=headers)
    assert r.status_code == 200, r.text
    cosignature: dict[str, Any] = r.json()["cosignature"]
    assert r.json()["status"] == "cosigned"  # whatever the flags say, the decision stands
    return cosignature


def test_an_officer_on_the_spot_is_not_flagged(client: TestClient, db: Session) -> None:
    task, _, officer_h, _ = _pending(client, db)
    c = _cosign(client, task, officer_h, lat=TASK_LAT, lon=TASK_LON, accuracy_m=8)
    assert (c["distance_m"], c["accuracy_m"], c["far_from_task"], c["position_missing"]) == (0, 8, False, False)
    ended = datetime.fromisoformat(task["ended_at"])
    expected = (datetime.now(UTC) - ended).total_seconds()
    assert expected - 60 <= c["seconds_after_task"] <= expected


@pytest.mark.parametrize(("metres", "far"), [(400, False), (600, True)])
def test_beyond_the_threshold_is_far_from_task(client: TestClient, db: Session, metres: float, far: bool) -> None:
    assert Settings.model_fields["cosign_far_metres"].default == 500
    task, _, officer_h, _ = _pending(client, db)
    c = _cosign(client, task, officer_h, lat=_north(metres), lon=TASK_LON)
    assert c["distance_m"] == pytest.approx(metres, abs=1)
    assert c["far_from_task"] is far


def test_an_officer_900_km_away_may_cosign_but_is_flagged(client: TestClient, db: Session) -> None:
    task, aux_h, officer_h, agency = _pending(client, db)
    c = _cosign(client, task, officer_h, lat=BEIJING_CITY[0], lon=BEIJING_CITY[1], accuracy_m=20)
    assert c["far_from_task"] is True and c["distance_m"] == pytest.approx(900_000, rel=0.03)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    for headers in (aux_h, officer_h, admin):  # in the task read and in every list that shows it
        assert client.get(f"/api/tasks/{task['id']}", headers=headers).json()["cosignature"]["far_from_task"] is True
        items = client.get("/api/tasks", headers=headers).json()["items"]
        assert [i["cosignature"]["far_from_task"] for i in items if i["id"] == task["id"]] == [True]
    stored = db.scalar(select(Cosignature).where(Cosignature.task_id == uuid.UUID(task["id"])))
    assert stored is not None and stored.far_from_task is True and stored.distance_m is not None
    assert verify_log(db).ok


def test_without_a_position_the_distance_is_unknown_and_flagged(client: TestClient, db: Session) -> None:
    task, _, officer_h, _ = _pending(client, db)
    c = _cosign(client, task, officer_h)
    assert (c["distance_m"], c["position_missing"], c["far_from_task"]) == (None, True, False)
    stored = db.scalar(select(Cosignature).where(Cosignature.task_id == uuid.UUID(task["id"])))
    assert stored is not None and stored.position_missing is True and stored.distance_m is None
    assert verify_log(db).ok


def test_a_rejection_is_measured_too(client: TestClient, db: Session) -> None:
    task, _, officer_h, _ = _pending(client, db)
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "reject", "lat": BEIJING_CITY[0],
                                                               "lon": BEIJING_CITY[1]}, headers=officer_h)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert r.json()["cosignature"]["far_from_task"] is True


@pytest.mark.parametrize("position", [{"lat": TASK_LAT}, {"lon": TASK_LON}, {"accuracy_m": 10},
                                      {"lat": TASK_LAT, "lon": TASK_LON, "accuracy_m": 0},
                                      {"lat": TASK_LAT, "lon": TASK_LON, "accuracy_m": 20_000}])
def test_a_half_or_implausible_position_is_422(client: TestClient, db: Session, position: dict[str, Any]) -> None:
    task, aux_h, officer_h, _ = _pending(client, db)
    r = client.post(f"/api/tasks/{task['id']}/cosign", json={"decision": "approve", **position}, headers=officer_h)
    assert_problem(r, 422, "validation_error")
    assert client.get(f"/api/tasks/{task['id']}", headers=aux_h).json()["status"] == "pending_cosign"
