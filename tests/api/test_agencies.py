"""Agencies and the accounts of their admins and officers: what the database cannot store is a 422."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.models import Agency, Role, User
from tests.factories import PASSWORD, login, make_agency, make_user
from tests.problems import assert_problem


def _justice(client: TestClient, db: Session) -> dict[str, str]:
    return login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))


def _count(db: Session, model: type[Agency] | type[User]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("name", ["\x00", "玄武区\x00城管局"])
def test_an_agency_name_with_a_nul_character_is_422_and_stores_nothing(
    client: TestClient, db: Session, name: str
) -> None:
    headers = _justice(client, db)
    before = _count(db, Agency)
    r = client.post("/api/agencies", headers=headers, json={
        "name": name, "code": "XW-NUL", "level": "district", "parent_id": str(make_agency(db, level="municipal").id),
        "headcount_quota": 5})
    assert [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]] == ["name"]
    assert _count(db, Agency) == before + 1  # the parent made above, nothing else


@pytest.mark.parametrize(
    "override", [{"name": "王\x00警官"}, {"officer_cert_no": "JS\x00123"}], ids=["name", "officer_cert_no"]
)
def test_an_account_field_with_a_nul_character_is_422_and_stores_nothing(
    client: TestClient, db: Session, override: dict[str, Any]
) -> None:
    headers = _justice(client, db)
    agency = make_agency(db)
    before = _count(db, User)
    body = {"username": "officer.nul", "password": PASSWORD, "role": "officer", "agency_id": str(agency.id),
            "name": "王警官", **override}
    r = client.post("/api/users", headers=headers, json=body)
    assert [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]] == list(override)
    assert _count(db, User) == before
