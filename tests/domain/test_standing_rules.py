"""The rules of a person's standing without HTTP: periods, the renewal rule of 第二十一条, when a term is over
and what the badge then says, and a dismissal (第二十八条) by the departure path, once per complaint."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.base import BEIJING, beijing_midnight
from api.domain.models import (
    Auxiliary,
    AuxiliaryStatus,
    ComplaintStatus,
    Credential,
    CredentialStatus,
    Role,
    Sanction,
    User,
)
from api.domain.staff.assessments import Scores, parse_period
from api.domain.staff.badge_status import BadgeStatus, _good_for, _status
from api.domain.staff.contracts import record_contract, term_over
from api.domain.staff.sanctions import record_sanction, sanction_for_complaint
from tests.factories import make_agency, make_assessment, make_auxiliary, make_complaint, make_contract, make_user
from tests.problems import refused


@pytest.mark.parametrize(("text", "first", "last"), [
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
    ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
    ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
])
def test_a_period_is_a_year_a_half_or_a_quarter(text: str, first: date, last: date) -> None:
    period = parse_period(text)
    assert (period.starts_on, period.ends_on) == (first, last)


@pytest.mark.parametrize("text", ["2026-H0", "2026-Q5", "202", "2026-", "1999", "2026-q1", "２０２６", "20２６"])
def test_anything_else_is_not_a_period(text: str) -> None:
    with refused("validation_error", None):
        parse_period(text)


def test_scores_lie_between_0_and_100() -> None:
    assert Scores(0, 100, 50, 75).training == 75
    with refused("validation_error", None) as caught:
        Scores(90, -1, 101, 80)
    errors = caught.value.extra["errors"]
    assert isinstance(errors, list) and [e["field"] for e in errors] == ["scores.performance", "scores.conduct"]


def test_a_term_is_over_only_from_the_day_after_its_last_day() -> None:
    last = date(2026, 2, 28)
    assert not term_over(last, last)
    assert term_over(last, last + timedelta(days=1))
    assert not term_over(None, date(2099, 1, 1))  # no term recorded: nothing ends


def test_the_badge_says_expired_after_revoked_and_superseded_but_before_suspended() -> None:
    assert _status("active", "valid", 1, 1, True) == BadgeStatus.EXPIRED
    assert _status("suspended", "suspended", 1, 1, True) == BadgeStatus.EXPIRED
    assert _status("dismissed", "revoked", 1, 1, True) == BadgeStatus.REVOKED
    assert _status("dismissed", "valid", 1, 1, False) == BadgeStatus.REVOKED
    assert _status("active", "valid", 1, 2, True) == BadgeStatus.SUPERSEDED
    assert _status("active", "valid", 1, 1, False) == BadgeStatus.VALID


def test_an_answer_holds_until_midnight_after_the_last_day_in_nanjing() -> None:
    last = date(2026, 2, 28)
    evening = datetime(2026, 2, 28, 23, 0, tzinfo=BEIJING)
    assert _good_for(BadgeStatus.VALID, last, evening) == 3600
    assert _good_for(BadgeStatus.SUSPENDED, last, evening) == 3600
    assert _good_for(BadgeStatus.VALID, None, evening) is None
    assert _good_for(BadgeStatus.REVOKED, last, evening) is None
    assert _good_for(BadgeStatus.VALID, last, beijing_midnight(last + timedelta(days=2))) == 0


def _employed(db: Session) -> tuple[User, Auxiliary]:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)  # hired 2024-03-01
    return make_user(db, role=Role.AGENCY_ADMIN, agency=agency), aux


def test_any_incompetent_assessment_within_the_ending_term_refuses_renewal(db: Session) -> None:
    admin, aux = _employed(db)
    make_contract(db, aux, starts_on=date(2024, 3, 1), ends_on=date(2026, 2, 28))
    make_assessment(db, aux, period="2024-Q3", grade="incompetent")
    make_assessment(db, aux, period="2025", grade="excellent")  # a later, better one does not undo it
    with refused("assessment_incompetent", "第二十一条", status=422):
        record_contract(db, aux, actor=admin, starts_on=date(2026, 3, 1), ends_on=date(2028, 2, 29))


def test_only_an_assessment_of_a_period_inside_the_ending_term_counts(db: Session) -> None:
    admin, aux = _employed(db)
    make_contract(db, aux, starts_on=date(2024, 3, 1), ends_on=date(2026, 2, 28))
    make_assessment(db, aux, period="2024")  # began before the term
    make_assessment(db, aux, period="2026-Q1")  # ends after it
    with refused("assessment_required", "第二十一条", status=422):
        record_contract(db, aux, actor=admin, starts_on=date(2026, 3, 1), ends_on=date(2028, 2, 29))
    within = make_assessment(db, aux, period="2025-H2")
    renewal = record_contract(db, aux, actor=admin, starts_on=date(2026, 3, 1), ends_on=date(2028, 2, 29))
    assert renewal.assessment_id == within.id and renewal.sequence == 2


def test_a_renewal_renews_the_latest_earlier_term_even_after_a_gap(db: Session) -> None:
    admin, aux = _employed(db)
    make_contract(db, aux, starts_on=date(2024, 3, 1), ends_on=date(2024, 12, 31))
    second = make_contract(db, aux, starts_on=date(2025, 1, 1), ends_on=date(2025, 12, 31))
    make_assessment(db, aux, period="2025-H1")
    renewal = record_contract(db, aux, actor=admin, starts_on=date(2026, 3, 1), ends_on=date(2027, 2, 28))
    assert renewal.renewal_of_id == second.id and renewal.sequence == 3


def test_the_first_term_needs_no_assessment_and_terms_never_overlap(db: Session) -> None:
    admin, aux = _employed(db)
    first = record_contract(db, aux, actor=admin, starts_on=date(2024, 3, 1), ends_on=date(2025, 2, 28))
    assert (first.sequence, first.renewal_of_id, first.assessment_id) == (1, None, None)
    for starts_on, ends_on in ((date(2025, 2, 28), date(2026, 2, 28)), (date(2024, 3, 1), date(2030, 1, 1))):
        with refused("contract_overlaps", None):
            record_contract(db, aux, actor=admin, starts_on=starts_on, ends_on=ends_on)
    with refused("validation_error", None):
        record_contract(db, aux, actor=admin, starts_on=date(2026, 3, 1), ends_on=date(2026, 2, 28))


def test_a_dismissal_takes_the_departure_path_and_is_told_apart_from_it(db: Session) -> None:
    admin, aux = _employed(db)
    sanction = record_sanction(db, aux, actor=admin, action="dismissal", reason="索要财物")
    assert aux.status == AuxiliaryStatus.DISMISSED and aux.has_left and aux.left_on is not None
    credential = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert credential is not None and credential.status == CredentialStatus.REVOKED
    assert db.get(User, aux.user_id).active is False  # type: ignore[union-attr]
    assert sanction.agency_id == aux.agency_id
    with refused("auxiliary_departed", "第二十七条", status=409):
        record_sanction(db, aux, actor=admin, action="dismissal", reason="再次")


def test_a_resolved_complaint_makes_its_sanction_once(db: Session) -> None:
    admin, aux = _employed(db)
    complaint = make_complaint(db, aux, status=ComplaintStatus.RESOLVED)
    complaint.action, complaint.finding = "discipline", "属实"
    first = sanction_for_complaint(db, complaint, actor=admin)
    again = sanction_for_complaint(db, complaint, actor=admin)
    assert first is not None and again is not None and first.id == again.id
    assert db.scalars(select(Sanction).where(Sanction.complaint_id == complaint.id)).all() == [first]
    assert aux.status == AuxiliaryStatus.ACTIVE
    nobody = make_complaint(db, None, status=ComplaintStatus.RESOLVED)
    nobody.action = "criticism"
    assert sanction_for_complaint(db, nobody, actor=admin) is None
