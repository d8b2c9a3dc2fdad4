"""When field work happened (fieldwork/timing.py): believable times, and a credential in force at that time
(第二十三条), read from the credential's lapses (staff/credential_history.py)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from api.domain.base import utcnow
from api.domain.fieldwork.context import FieldContext, TimeLimits, load_field_context
from api.domain.fieldwork.timing import check_work_times, recorded_before_suspension
from api.domain.models import Auxiliary, AuxiliaryStatus, CredentialStatus, Role, User
from api.domain.staff.credential_history import Lapse, _lapses, credential_history
from api.domain.staff.status import record_departure, reinstate_auxiliary, suspend_auxiliary
from tests.factories import make_agency, make_auxiliary, make_user
from tests.problems import refused

T0 = datetime(2026, 11, 1, tzinfo=UTC)
VALID, SUSPENDED, REVOKED, SUPERSEDED = (CredentialStatus.VALID, CredentialStatus.SUSPENDED, CredentialStatus.REVOKED,
                                        CredentialStatus.SUPERSEDED)


def _h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_a_lapse_runs_from_suspension_to_reinstatement() -> None:
    changes = [(_h(0), VALID), (_h(5), SUSPENDED), (_h(5.001), SUSPENDED), (_h(9), VALID), (_h(20), REVOKED)]
    assert _lapses(changes) == [Lapse(_h(5), _h(9)), Lapse(_h(20), None)]


def test_a_reissue_is_no_lapse_and_order_of_discovery_does_not_matter() -> None:
    assert _lapses([(_h(3), SUPERSEDED), (_h(0), VALID)]) == []
    assert _lapses([(_h(9), VALID), (_h(5), SUSPENDED)]) == [Lapse(_h(5), _h(9))]


def _limits_context(hired_on: date = date(2024, 3, 1), **limits: timedelta) -> FieldContext:
    aux = Auxiliary(hired_on=hired_on, zones=None, status=AuxiliaryStatus.ACTIVE)
    return FieldContext(user=User(role=Role.AUXILIARY), aux=aux, valid_since=T0, limits=TimeLimits(**limits))


def test_times_ahead_of_the_server_are_refused_past_the_tolerance() -> None:
    fc = _limits_context()
    check_work_times(fc, start=("at", utcnow() + timedelta(minutes=4)))
    with refused("time_in_future", None) as caught:
        check_work_times(fc, start=("started_at", utcnow()), end=("ended_at", utcnow() + timedelta(minutes=6)))
    assert caught.value.extra["field"] == "ended_at"
    with refused("time_in_future", None):
        check_work_times(_limits_context(max_future=timedelta(0)), start=("at", utcnow() + timedelta(seconds=5)))


def test_times_before_the_hire_or_past_the_accepted_age_are_refused() -> None:
    fc = _limits_context(hired_on=(utcnow() - timedelta(days=3)).date())
    with refused("time_too_old", None):
        check_work_times(fc, start=("at", utcnow() - timedelta(days=5)))
    with refused("time_too_old", None) as caught:
        check_work_times(_limits_context(), start=("started_at", utcnow() - timedelta(days=31)))
    assert caught.value.extra["field"] == "started_at"
    check_work_times(_limits_context(), start=("at", utcnow() - timedelta(days=29)))
    check_work_times(_limits_context(max_age=timedelta(days=90)), start=("at", utcnow() - timedelta(days=60)))


def test_a_correction_may_keep_its_records_time_however_old() -> None:
    old = utcnow() - timedelta(days=45)
    check_work_times(_limits_context(), start=("started_at", old), earliest=old)
    with refused("time_too_old", None):
        check_work_times(_limits_context(), start=("started_at", old - timedelta(hours=1)), earliest=old)


def test_work_is_judged_by_the_credential_at_the_time_it_was_done(db: Session) -> None:
    agency = make_agency(db)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    user, aux = make_auxiliary(db, agency)
    suspend_auxiliary(db, aux, actor=admin, reason="调查期间暂停")
    reinstate_auxiliary(db, aux, actor=admin, reason="调查结束")
    [lapse] = credential_history(db, aux.id).lapses
    assert lapse.end is not None and lapse.start < lapse.end
    fc = load_field_context(db, user)
    assert fc.may_record
    before, during, after = lapse.start - timedelta(hours=1), lapse.start + (lapse.end - lapse.start) / 2, utcnow()
    assert recorded_before_suspension(db, fc, before) is True
    with refused("credential_not_active", "第二十三条", status=403):
        recorded_before_suspension(db, fc, during)
    assert recorded_before_suspension(db, fc, after) is False


def test_after_a_departure_only_work_done_before_it_is_kept(db: Session) -> None:
    agency = make_agency(db)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    user, aux = make_auxiliary(db, agency)
    record_departure(db, aux, actor=admin, left_on=utcnow().date(), reason="辞职", items_recovered=[])
    fc = load_field_context(db, user)
    assert not fc.may_record
    assert recorded_before_suspension(db, fc, utcnow() - timedelta(hours=2)) is True
    with refused("credential_not_active", "第二十三条"):
        recorded_before_suspension(db, fc, utcnow())


@pytest.mark.parametrize("status", [AuxiliaryStatus.SUSPENDED, AuxiliaryStatus.PENDING_TRAINING])
def test_without_a_credential_in_force_at_the_time_nothing_is_kept(db: Session, status: AuxiliaryStatus) -> None:
    user, _ = make_auxiliary(db, make_agency(db), status=status)  # suspended since the hire, or never issued
    fc = load_field_context(db, user)
    with refused("credential_not_active", "第二十三条"):
        recorded_before_suspension(db, fc, utcnow() - timedelta(days=1))
