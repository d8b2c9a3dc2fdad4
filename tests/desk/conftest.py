"""Fixtures of the desk's tests: an agency with its admin, and the justice bureau's admin."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import Agency, Article19Case, Credential, DeadBadgeScan, RectificationOrder, Role, User
from api.domain.models import AuxiliaryStatus as Status
from api.domain.oversight.rectification import answer_order, beijing_today, issue_order
from tests.factories import make_agency, make_auxiliary, make_officer, make_user


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


def make_case(db: Session, agency: Agency, *, description: str = "每人每天罚款指标二十单") -> Article19Case:
    """An Article 19 case (第十九条(一): a fine quota) asked of one of ``agency``'s auxiliaries by its officer."""
    officer, _ = make_officer(db, agency)
    _, aux = make_auxiliary(db, agency)
    case = Article19Case(attempt_id=uuid.uuid4(), agency_id=agency.id, auxiliary_id=aux.id, requested_by=officer.id,
                         reported_by=aux.user_id, flags=["fine_quota"],
                         request={"category": "patrol", "description": description})
    db.add(case)
    db.flush()
    return case


def make_order(db: Session, desk: Desk, *, answered: bool = False) -> RectificationOrder:
    """A rectification order to ``desk.agency`` from the bureau, as the domain issues it (and answers it)."""
    case = make_case(db, desk.agency, description="以执法人员名义开具文书")
    order = issue_order(db, actor=desk.justice, case_id=case.id, instructions="停止违规指派并书面报告",
                        due_on=beijing_today() + timedelta(days=7))
    if answered:
        answer_order(db, actor=desk.admin, order_id=order.id, measures="已停止并组织学习第十九条")
    db.flush()
    return order


def make_dead_badge_scan(db: Session, agency: Agency) -> DeadBadgeScan:
    """A citizen's scan of a suspended badge of ``agency``'s staff."""
    _, aux = make_auxiliary(db, agency, status=Status.SUSPENDED, name="停用证件者")
    credential = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert credential is not None
    scan = DeadBadgeScan(credential_id=credential.id, auxiliary_id=aux.id, status="suspended", channel="page",
                         place_lat=32.04, place_lon=118.78)
    db.add(scan)
    db.flush()
    return scan
