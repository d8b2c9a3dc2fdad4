"""Fixtures of the desk's tests: an agency with its admin, and the justice bureau's admin."""

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from api.domain.models import Agency, Role, User
from tests.factories import make_agency, make_user


@dataclass(frozen=True)
class Desk:
    agency: Agency
    admin: User
    other_agency: Agency
    other_admin: User
    justice: User


@pytest.fixture
def desk(db: Session) -> Desk:
    agency = make_agency(db, name="玄武区城市管理局", quota=10)
    other = make_agency(db, name="秦淮区城市管理局")
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency, name="陈科长")
    other_admin = make_user(db, role=Role.AGENCY_ADMIN, agency=other, name="秦科长")
    justice = make_user(db, role=Role.JUSTICE_ADMIN, agency=None, name="司法局周主任")
    db.flush()
    return Desk(agency, admin, other, other_admin, justice)
