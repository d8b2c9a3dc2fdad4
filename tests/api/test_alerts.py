"""Scans of dead badges as alerts: who sees them (第五条、第二十二条), newest first, and where only to 0.01°."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import Agency, Auxiliary, AuxiliaryStatus, Credential, DeadBadgeScan, Role
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user
from tests.problems import assert_problem

NOW = datetime.now(UTC)


def _scan(db: Session, aux: Auxiliary, minutes_ago: int, place: tuple[float, float] | None = None) -> DeadBadgeScan:
    credential = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert credential is not None
    scan = DeadBadgeScan(credential_id=credential.id, auxiliary_id=aux.id, status="revoked", channel="page",
                         scanned_at=NOW - timedelta(minutes=minutes_ago),
                         place_lat=place[0] if place else None, place_lon=place[1] if place else None)
    db.add(scan)
    db.flush()
    return scan


def _alerts(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    r = client.get("/api/alerts", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def city(db: Session) -> dict[str, Any]:
    """A district with a street below it and a stranger agency; a departed auxiliary of each kind."""
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    other = make_agency(db)
    _, own = make_auxiliary(db, district, status=AuxiliaryStatus.DEPARTED, name="本局人")
    _, seconded = make_auxiliary(db, district, status=AuxiliaryStatus.SUSPENDED, command_agency=street,
                                 name="下沉人")
    _, foreign = make_auxiliary(db, other, status=AuxiliaryStatus.DEPARTED, name="他局人")
    return {"district": district, "street": street, "other": other,
            "own": own, "seconded": seconded, "foreign": foreign}


def _admin(client: TestClient, db: Session, agency: Agency) -> dict[str, str]:
    return login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))


def test_each_agency_sees_the_scans_of_its_own_and_of_its_seconded_staff_newest_first(
    client: TestClient, db: Session, city: dict[str, Any]
) -> None:
    old = _scan(db, city["own"], 30)
    new = _scan(db, city["own"], 1, place=(32.04, 118.78))
    seconded = _scan(db, city["seconded"], 10)
    foreign = _scan(db, city["foreign"], 5)

    district = _alerts(client, _admin(client, db, city["district"]))
    assert [a["id"] for a in district["items"]] == [str(new.id), str(seconded.id), str(old.id)]
    first = district["items"][0]
    assert first == {"id": str(new.id), "scanned_at": first["scanned_at"], "channel": "page", "status": "revoked",
                     "auxiliary_id": str(city["own"].id), "badge_no": city["own"].badge_no, "name": "本局人",
                     "place": {"lat": 32.04, "lon": 118.78}}
    assert district["items"][1]["place"] is None

    street = _alerts(client, _admin(client, db, city["street"]))  # the commanding agency (第二十二条)
    assert [a["id"] for a in street["items"]] == [str(seconded.id)]

    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    everything = {a["id"] for a in _alerts(client, justice, limit=200)["items"]}
    assert {str(s.id) for s in (old, new, seconded, foreign)} <= everything
    one = _alerts(client, justice, agency_id=str(city["other"].id))
    assert [a["id"] for a in one["items"]] == [str(foreign.id)]
    by_street = _alerts(client, justice, agency_id=str(city["street"].id))
    assert [a["id"] for a in by_street["items"]] == [str(seconded.id)]


def test_another_agencys_alerts_are_403_and_other_roles_have_none(
    client: TestClient, db: Session, city: dict[str, Any]
) -> None:
    _scan(db, city["foreign"], 5)
    r = client.get("/api/alerts", params={"agency_id": str(city["other"].id)},
                   headers=_admin(client, db, city["district"]))
    assert_problem(r, 403, "not_your_agency", "第五条")
    officer, _ = make_officer(db, city["district"])
    assert_problem(client.get("/api/alerts", headers=login(client, officer)), 403, "role_not_allowed")
    assert_problem(client.get("/api/alerts"), 401, "unauthenticated")


def test_alerts_page_with_a_cursor_and_filter_by_since(client: TestClient, db: Session, city: dict[str, Any]) -> None:
    scans = [_scan(db, city["own"], minutes) for minutes in (50, 40, 30, 20, 10)]
    headers = _admin(client, db, city["district"])
    first = _alerts(client, headers, limit=2)
    second = _alerts(client, headers, limit=2, cursor=first["next_cursor"])
    third = _alerts(client, headers, limit=2, cursor=second["next_cursor"])
    seen = [a["id"] for page in (first, second, third) for a in page["items"]]
    assert seen == [str(s.id) for s in reversed(scans)] and third["next_cursor"] is None
    since = (NOW - timedelta(minutes=25)).isoformat()
    assert [a["id"] for a in _alerts(client, headers, since=since)["items"]] == [str(scans[4].id), str(scans[3].id)]
    assert_problem(client.get("/api/alerts", params={"since": "2026-12-01T10:00"}, headers=headers),
                   422, "validation_error")  # an instant needs its offset


@pytest.mark.parametrize(
    ("params", "place"),
    [({"lat": 32.041234, "lon": 118.784567}, {"lat": 32.04, "lon": 118.78}),
     ({"lat": "32.0467", "lon": "118.7751"}, {"lat": 32.05, "lon": 118.78}),
     ({}, None), ({"lat": 32.04}, None), ({"lat": 95, "lon": 118.78}, None), ({"lat": "nan", "lon": 1}, None)],
    ids=["exact", "rounded-up", "none", "half", "out-of-range", "nan"],
)
def test_a_dead_badge_scan_keeps_only_the_coarse_place_the_phone_sent(
    client: TestClient, db: Session, city: dict[str, Any], params: dict[str, Any], place: dict[str, float] | None
) -> None:
    aux: Auxiliary = city["own"]
    r = client.get(f"/api/public/badges/{aux.badge_no}", params=params)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    [stored] = db.scalars(select(DeadBadgeScan).where(DeadBadgeScan.auxiliary_id == aux.id)).all()
    kept = None if stored.place_lat is None else {"lat": stored.place_lat, "lon": stored.place_lon}
    assert kept == place  # the exact position never reaches the database
    [alert] = _alerts(client, _admin(client, db, city["district"]))["items"]
    assert (alert["channel"], alert["place"]) == ("number", place)


def test_a_valid_badge_scan_keeps_nothing(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    r = client.get(f"/api/public/badges/{aux.badge_no}", params={"lat": 32.04, "lon": 118.78})
    assert r.json()["status"] == "valid"
    assert db.scalar(select(DeadBadgeScan).where(DeadBadgeScan.auxiliary_id == aux.id)) is None
