"""Who may be hired and how (第十三条、第十四条、第十五条), and which duties may be granted (第七条), without HTTP."""

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import Agency, Auxiliary, AuxiliaryStatus, Role
from api.domain.staff.eligibility import (
    NOTHING_ON_RECORD,
    age_on,
    check_categories,
    check_eligibility,
    check_hire_method,
)
from api.domain.staff.hiring import hire_auxiliary
from tests.conftest import TEST_ID_KEY
from tests.factories import CHEAP, CLEAN_RECORD, PASSWORD, application, make_agency, make_user
from tests.problems import refused

HIRED_ON = date(2026, 3, 1)


def _reasons(caught: pytest.ExceptionInfo[Any]) -> list[dict[str, str]]:
    reasons: list[dict[str, str]] = caught.value.extra["reasons"]
    return reasons


def test_under_18_on_the_hiring_date_is_ineligible_under_article_13(db: Session) -> None:
    a = application(make_agency(db), birth_date=date(2008, 3, 2), hired_on=HIRED_ON)  # 18 the day after
    with refused("ineligible", "第十三条", status=422) as caught:
        check_eligibility(a, on_record=NOTHING_ON_RECORD)
    assert _reasons(caught) == [{"code": "under_18", "article": "第十三条", "item": "（三）"}]


def test_turning_18_on_the_hiring_date_is_old_enough(db: Session) -> None:
    check_eligibility(application(make_agency(db), birth_date=date(2008, 3, 1), hired_on=HIRED_ON),
                      on_record=NOTHING_ON_RECORD)


def test_a_29_february_birthday_comes_of_age_on_1_march() -> None:
    born = date(2008, 2, 29)
    assert age_on(born, date(2026, 2, 28)) == 17
    assert age_on(born, date(2026, 3, 1)) == 18


def test_education_below_high_school_cites_article_13(db: Session) -> None:
    with refused("ineligible", "第十三条") as caught:
        check_eligibility(application(make_agency(db), education="junior_high"), on_record=NOTHING_ON_RECORD)
    assert [r["code"] for r in _reasons(caught)] == ["education_below_high_school"]


@pytest.mark.parametrize("education", ["high_school", "vocational", "college", "bachelor", "master", "doctorate"])
def test_high_school_level_or_above_is_educated_enough(db: Session, education: str) -> None:
    check_eligibility(application(make_agency(db), education=education), on_record=NOTHING_ON_RECORD)


@pytest.mark.parametrize(
    ("disqualification", "item"),
    [("criminal_record", "（一）"), ("pending_criminal_case", "（一）"), ("dismissed_for_violation", "（二）"),
     ("serious_dishonesty", "（三）")],
)
def test_each_article_14_disqualification_refuses_the_hire_naming_its_item(
    db: Session, disqualification: str, item: str
) -> None:
    a = application(make_agency(db), record={**CLEAN_RECORD, disqualification: True})
    with refused("ineligible", "第十四条", status=422) as caught:
        check_eligibility(a, on_record=NOTHING_ON_RECORD)
    assert _reasons(caught) == [{"code": disqualification, "article": "第十四条", "item": item}]


def test_every_failed_rule_is_listed_at_once_citing_both_articles(db: Session) -> None:
    a = application(make_agency(db), birth_date=date(2010, 1, 1), education="junior_high",
                    record={**CLEAN_RECORD, "criminal_record": True, "serious_dishonesty": True})
    with refused("ineligible", "第十三条、第十四条") as caught:
        check_eligibility(a, on_record=NOTHING_ON_RECORD)
    assert [r["code"] for r in _reasons(caught)] == [
        "under_18", "education_below_high_school", "criminal_record", "serious_dishonesty"]


def test_a_dispatch_hire_without_a_dispatch_company_cites_article_15(db: Session) -> None:
    for company in (None, ""):
        with refused("dispatch_company_required", "第十五条", status=422):
            check_hire_method(application(make_agency(db), hire_method="dispatch", dispatch_company=company))


def test_a_direct_hire_naming_a_dispatch_company_cites_article_15(db: Session) -> None:
    with refused("dispatch_company_not_allowed", "第十五条"):
        check_hire_method(application(make_agency(db), hire_method="direct", dispatch_company="南京某劳务公司"))


def test_a_dispatch_hire_naming_its_company_is_accepted(db: Session) -> None:
    check_hire_method(application(make_agency(db), hire_method="dispatch", dispatch_company="南京某劳务公司"))


def test_granting_an_assisted_duty_cites_article_7() -> None:
    with refused("not_an_independent_duty", "第七条") as caught:
        check_categories(["patrol", "inspection"])
    assert caught.value.extra["categories"] == ["inspection"]


def test_granting_an_unknown_duty_is_unknown_duty_citing_no_article() -> None:
    with refused("unknown_duty", None, status=422):
        check_categories(["patrol", "fine_collection"])


def test_an_ineligible_hire_creates_nobody_and_takes_no_place(db: Session) -> None:
    agency = make_agency(db, quota=5)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    with refused("ineligible", "第十四条"):
        hire_auxiliary(db, actor=admin, application=application(agency, record={**CLEAN_RECORD,
                                                                              "criminal_record": True}),
                       username="aux.refused", password=PASSWORD, cost=CHEAP, id_key=TEST_ID_KEY)
    db.expire_all()
    assert db.get(Agency, agency.id).headcount_used == 0  # type: ignore[union-attr]
    assert db.scalars(select(Auxiliary).where(Auxiliary.agency_id == agency.id)).all() == []


def test_an_eligible_hire_starts_pending_training_in_a_place_of_the_quota(db: Session) -> None:
    agency = make_agency(db, quota=5)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    aux = hire_auxiliary(db, actor=admin, application=application(agency), username="aux.hired",
                         password=PASSWORD, cost=CHEAP, id_key=TEST_ID_KEY)
    assert aux.status == AuxiliaryStatus.PENDING_TRAINING and aux.badge_no.startswith("NJ")
    db.refresh(agency)
    assert agency.headcount_used == 1


def test_another_agencys_admin_cannot_hire_into_it_article_5(db: Session) -> None:
    agency = make_agency(db)
    stranger = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    with refused("not_your_agency", "第五条", status=403):
        hire_auxiliary(db, actor=stranger, application=application(agency), username="aux.stranger",
                       password=PASSWORD, cost=CHEAP, id_key=TEST_ID_KEY)
