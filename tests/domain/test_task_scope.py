"""What an auxiliary may record, without HTTP: a granted independent duty alone (第七条), an assisted one only
with an available officer of the commanding agency (第八条), never forbidden work (第十九条), and nothing at
all without a valid credential (第二十三条)."""

import uuid
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.duties import ASSISTED_CODES, FORBIDDEN_FLAGS, INDEPENDENT_CODES
from api.domain.errors import ForbiddenWork
from api.domain.fieldwork.context import FieldContext, load_field_context
from api.domain.fieldwork.records import TaskDraft
from api.domain.fieldwork.tasks import check_task_scope, record_task
from api.domain.models import Agency, Article19Case, AuxiliaryStatus, Officer, Task, TaskStatus, User
from schemas.tasks import TaskCreate
from tests.factories import make_agency, make_auxiliary, make_officer, task_payload
from tests.problems import refused


def _field(db: Session, agency: Agency | None = None, **kw: Any) -> FieldContext:
    user, _ = make_auxiliary(db, agency or make_agency(db), **kw)
    return load_field_context(db, user)


def _task(**overrides: Any) -> TaskDraft:
    return TaskCreate.model_validate(task_payload(**overrides)).to_draft()


def _officer(db: Session, agency: Agency, *, active: bool = True) -> tuple[User, Officer]:
    return make_officer(db, agency, active=active)


def _cases(db: Session, attempt_id: uuid.UUID) -> list[Article19Case]:
    return list(db.scalars(select(Article19Case).where(Article19Case.attempt_id == attempt_id)))


# --- 第七条: independent duties ------------------------------------------------------------------------

def test_independent_category_not_granted_cites_article_7(db: Session) -> None:
    fc = _field(db, categories=["patrol"])
    with refused("category_not_granted", "第七条", status=422):
        check_task_scope(db, fc, _task(category="technical"))


@pytest.mark.parametrize("category", sorted(INDEPENDENT_CODES - {"assigned"}))
def test_a_granted_independent_duty_needs_no_officer(db: Session, category: str) -> None:
    fc = _field(db, categories=[category])
    scope = check_task_scope(db, fc, _task(category=category))
    assert (scope.duty.code, scope.duty.assisted, scope.officer) == (category, False, None)


def test_assigned_work_without_a_written_assignment_cites_article_7(db: Session) -> None:
    fc = _field(db, categories=["assigned"])
    for ref in (None, "   "):
        with refused("assignment_required", "第七条"):
            check_task_scope(db, fc, _task(category="assigned", assignment_ref=ref))
    assert check_task_scope(db, fc, _task(category="assigned", assignment_ref="玄城管交〔2026〕3号")).officer is None


# --- 第八条: assisted duties -----------------------------------------------------------------------------

@pytest.mark.parametrize("category", sorted(ASSISTED_CODES - {"statutory_other"}))
def test_assisted_task_without_officer_cites_article_8(db: Session, category: str) -> None:
    fc = _field(db)
    with refused("officer_required", "第八条", status=422):
        check_task_scope(db, fc, _task(category=category))


def test_statutory_other_work_without_its_legal_basis_cites_article_8(db: Session) -> None:
    agency = make_agency(db)
    _, officer = _officer(db, agency)
    fc = _field(db, agency)
    with refused("legal_basis_required", "第八条"):
        check_task_scope(db, fc, _task(category="statutory_other", officer_id=str(officer.id)))


def test_assisted_task_with_an_officer_of_the_agency_is_in_scope(db: Session) -> None:
    agency = make_agency(db)
    _, officer = _officer(db, agency)
    fc = _field(db, agency)
    scope = check_task_scope(db, fc, _task(category="inspection", officer_id=str(officer.id)))
    assert scope.duty.assisted and scope.officer is not None and scope.officer.id == officer.id


def test_assisted_task_with_an_inactive_officer_cites_article_8(db: Session) -> None:
    agency = make_agency(db)
    _, officer = _officer(db, agency, active=False)
    fc = _field(db, agency)
    with refused("officer_not_available", "第八条", status=422):
        check_task_scope(db, fc, _task(category="inspection", officer_id=str(officer.id)))


def test_assisted_task_with_an_officer_whose_account_is_disabled_cites_article_8(db: Session) -> None:
    agency = make_agency(db)
    officer_user, officer = _officer(db, agency)
    officer_user.active = False
    db.flush()
    fc = _field(db, agency)
    with refused("officer_not_available", "第八条"):
        check_task_scope(db, fc, _task(category="inspection", officer_id=str(officer.id)))


def test_assisted_task_with_an_officer_of_another_agency_cites_article_8(db: Session) -> None:
    _, stranger = _officer(db, make_agency(db))
    fc = _field(db)
    with refused("officer_not_available", "第八条"):
        check_task_scope(db, fc, _task(category="inspection", officer_id=str(stranger.id)))
    with refused("officer_not_available", "第八条"):
        check_task_scope(db, fc, _task(category="inspection", officer_id=str(uuid.uuid4())))


def test_a_seconded_auxiliary_is_directed_by_the_street_not_the_employer_article_8(db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, employer_officer = _officer(db, district)
    _, street_officer = _officer(db, street)
    fc = _field(db, district, command_agency=street)
    scope = check_task_scope(db, fc, _task(category="inspection", officer_id=str(street_officer.id)))
    assert scope.officer is not None and scope.officer.id == street_officer.id
    with refused("officer_not_available", "第八条"):
        check_task_scope(db, fc, _task(category="inspection", officer_id=str(employer_officer.id)))


def test_an_assisted_record_waits_for_its_officer(db: Session) -> None:
    agency = make_agency(db)
    _, officer = _officer(db, agency)
    fc = _field(db, agency)
    task, created = record_task(db, fc, _task(category="inspection", officer_id=str(officer.id)))
    assert created and task.status == TaskStatus.PENDING_COSIGN and task.officer_id == officer.id


# --- 第十九条: forbidden work ----------------------------------------------------------------------------

@pytest.mark.parametrize("flag", FORBIDDEN_FLAGS)
def test_each_forbidden_flag_cites_article_19_and_opens_a_case(db: Session, flag: str) -> None:
    fc = _field(db)
    payload = _task(flags={flag: True})
    with refused("forbidden_work", "第十九条", status=422) as caught:
        check_task_scope(db, fc, payload)
    assert isinstance(caught.value, ForbiddenWork) and caught.value.keep_writes
    assert caught.value.extra["flags"] == [flag]
    [case] = _cases(db, payload.id)
    assert caught.value.extra["case_id"] == str(case.id)
    assert (case.flags, case.requested_by, case.reported_by, case.auxiliary_id) == (
        [flag], fc.user.id, fc.user.id, fc.aux.id)
    assert db.get(Task, payload.id) is None


def test_forbidden_work_is_refused_before_the_duty_rules(db: Session) -> None:
    fc = _field(db, categories=["patrol"])
    payload = _task(category="technical", flags={"needs_professional_qualification": True})
    with refused("forbidden_work", "第十九条"):
        check_task_scope(db, fc, payload)
    assert len(_cases(db, payload.id)) == 1


def test_forbidden_work_asked_through_an_available_officer_is_the_officers_case(db: Session) -> None:
    agency = make_agency(db)
    officer_user, officer = _officer(db, agency)
    fc = _field(db, agency)
    payload = _task(category="inspection", officer_id=str(officer.id), flags={"in_officer_name": True})
    with refused("forbidden_work", "第十九条"):
        check_task_scope(db, fc, payload)
    [case] = _cases(db, payload.id)
    assert (case.requested_by, case.reported_by) == (officer_user.id, fc.user.id)


def test_a_forbidden_attempt_retried_is_one_case(db: Session) -> None:
    fc = _field(db)
    payload = _task(flags={"fine_quota": True, "state_secret": True})
    for _ in range(3):
        with refused("forbidden_work", "第十九条"):
            check_task_scope(db, fc, payload)
    [case] = _cases(db, payload.id)
    assert sorted(case.flags) == ["fine_quota", "state_secret"]


# --- 第二十三条: no credential, no field work ---------------------------------------------------------------

@pytest.mark.parametrize("status", [AuxiliaryStatus.SUSPENDED, AuxiliaryStatus.DEPARTED,
                                    AuxiliaryStatus.PENDING_TRAINING])
def test_without_a_valid_credential_nothing_is_recorded_article_23(db: Session, status: AuxiliaryStatus) -> None:
    fc = _field(db, status=status)
    payload = _task(flags={"fine_quota": True})
    with refused("credential_not_active", "第二十三条", status=403):
        record_task(db, fc, payload)
    assert db.get(Task, payload.id) is None and _cases(db, payload.id) == []
