"""GET /api/shifts: each check-in with the check-out that closed it, its length and in_zone at either end; who
sees whose (第五条、第二十二条); filters and pages."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.domain.models import Agency, Auxiliary, Role
from tests.factories import (
    OUT_OF_ZONE,
    beijing,
    in_utc,
    login,
    make_agency,
    make_auxiliary,
    make_officer,
    make_user,
    shift_payload,
)
from tests.problems import assert_problem

SHIFTS = "/api/shifts"


def _worked(client: TestClient, db: Session, agency: Agency, **kw: Any) -> tuple[Auxiliary, dict[str, str], str]:
    """An auxiliary with a closed shift (08:00 to 17:30, out of the zone at the end) and an open one (18:00)."""
    user, aux = make_auxiliary(db, agency, **kw)
    headers = login(client, user)
    first = shift_payload(at=beijing(8))
    for path, body in (("/api/shifts/check-in", first),
                       ("/api/shifts/check-out", shift_payload(at=beijing(17, 30), lat=OUT_OF_ZONE[0],
                                                               lon=OUT_OF_ZONE[1])),
                       ("/api/shifts/check-in", shift_payload(at=beijing(18)))):
        assert client.post(path, json=body, headers=headers).status_code == 201
    return aux, headers, first["id"]


def _ids(client: TestClient, headers: dict[str, str], **params: str) -> list[str]:
    r = client.get(SHIFTS, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return [item["id"] for item in r.json()["items"]]


def test_an_auxiliary_sees_their_shifts_paired_newest_first(client: TestClient, db: Session) -> None:
    aux, headers, first_id = _worked(client, db, make_agency(db))
    _worked(client, db, make_agency(db))  # someone else's
    items = client.get(SHIFTS, headers=headers).json()["items"]
    assert len(items) == 2
    open_shift, closed = items
    assert (open_shift["check_out"], open_shift["duration_s"]) == (None, None)
    assert closed["id"] == first_id and closed["auxiliary_id"] == str(aux.id)
    assert closed["duration_s"] == 9.5 * 3600
    assert (closed["check_in"]["in_zone"], closed["check_out"]["in_zone"]) == (True, False)
    assert closed["check_out"]["check_in_id"] == first_id
    assert closed["check_in"]["at"] == in_utc(beijing(8))


def test_agency_admins_see_their_staff_and_the_staff_seconded_to_them(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, _, seconded = _worked(client, db, district, command_agency=street)
    _, _, own = _worked(client, db, district)
    _, _, elsewhere = _worked(client, db, make_agency(db))
    district_admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=district))
    street_admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=street))
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    assert {seconded, own} <= set(_ids(client, district_admin)) and elsewhere not in _ids(client, district_admin)
    assert seconded in _ids(client, street_admin) and own not in _ids(client, street_admin)
    assert {seconded, own, elsewhere} <= set(_ids(client, justice))


def test_an_officer_sees_no_ones_shifts(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _worked(client, db, agency)
    officer_user, _ = make_officer(db, agency)
    assert _ids(client, login(client, officer_user)) == []
    assert_problem(client.get(SHIFTS), 401, "unauthenticated")


def test_filters_by_auxiliary_and_check_in_time(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    aux, _, first_id = _worked(client, db, agency)
    other, _, _ = _worked(client, db, agency)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    mine = client.get(SHIFTS, params={"auxiliary_id": str(aux.id)}, headers=admin).json()["items"]
    assert {i["auxiliary_id"] for i in mine} == {str(aux.id)} and len(mine) == 2
    morning = {"auxiliary_id": str(aux.id), "from": beijing(7), "to": beijing(9)}
    assert _ids(client, admin, **morning) == [first_id]
    assert client.get(SHIFTS, params={"auxiliary_id": str(other.id), "from": beijing(19)},
                      headers=admin).json()["items"] == []


def test_pages_through_shifts_without_repeats(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    for _ in range(2):
        _worked(client, db, agency)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = client.get(SHIFTS, params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=admin).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 4


def test_bad_filters_are_422(client: TestClient, db: Session) -> None:
    _, headers, _ = _worked(client, db, make_agency(db))
    assert_problem(client.get(SHIFTS, params={"cursor": "junk"}, headers=headers), 422, "invalid_cursor")
    assert_problem(client.get(SHIFTS, params={"from": "2026-11-26T08:00:00"}, headers=headers), 422,
                   "validation_error")
    assert_problem(client.get(SHIFTS, params={"auxiliary_id": "x"}, headers=headers), 422, "validation_error")
