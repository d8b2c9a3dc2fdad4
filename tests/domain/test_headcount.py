"""The headcount quota (员额, 第十二条): a place is taken by one guarded UPDATE, never past the quota."""

import uuid

from sqlalchemy.orm import Session

from api.domain.models import Agency, Role
from api.domain.staff.hiring import free_headcount_place, hire_auxiliary, take_headcount_place
from tests.conftest import TEST_ID_KEY
from tests.factories import CHEAP, PASSWORD, application, make_agency, make_auxiliary, make_user
from tests.problems import refused


def _used(db: Session, agency_id: uuid.UUID) -> int:
    db.expire_all()
    agency = db.get(Agency, agency_id)
    assert agency is not None
    return agency.headcount_used


def test_the_last_place_is_taken_and_the_next_is_refused_citing_article_12(db: Session) -> None:
    agency = make_agency(db, quota=2)
    take_headcount_place(db, agency)
    take_headcount_place(db, agency)
    assert _used(db, agency.id) == 2
    with refused("headcount_quota_full", "第十二条", status=409):
        take_headcount_place(db, agency)
    assert _used(db, agency.id) == 2


def test_an_agency_with_no_quota_takes_no_place_article_12(db: Session) -> None:
    agency = make_agency(db, quota=0)
    with refused("headcount_quota_full", "第十二条", status=409):
        take_headcount_place(db, agency)
    assert _used(db, agency.id) == 0


def test_a_freed_place_can_be_taken_again(db: Session) -> None:
    agency = make_agency(db, quota=1)
    make_auxiliary(db, agency)
    with refused("headcount_quota_full", "第十二条"):
        take_headcount_place(db, agency)
    free_headcount_place(db, agency.id)
    assert _used(db, agency.id) == 0
    take_headcount_place(db, agency)
    assert _used(db, agency.id) == 1


def test_freeing_a_place_never_goes_below_zero(db: Session) -> None:
    agency = make_agency(db, quota=1)
    free_headcount_place(db, agency.id)
    assert _used(db, agency.id) == 0


def test_a_hire_into_a_full_agency_is_refused_citing_article_12(db: Session) -> None:
    agency = make_agency(db, quota=1)
    make_auxiliary(db, agency)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    with refused("headcount_quota_full", "第十二条", status=409):
        hire_auxiliary(db, actor=admin, application=application(agency), username="aux.overquota",
                       password=PASSWORD, cost=CHEAP, id_key=TEST_ID_KEY)
    assert _used(db, agency.id) == 1
