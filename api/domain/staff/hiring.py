"""Hiring auxiliaries (第十一条 to 第十五条): within the headcount quota (员额, 第十二条), taken by one
guarded UPDATE so two hires racing for the last place cannot both win; a badge number for each hire; one person
city-wide, matched by their 居民身份证号码 (第十四条, identity.py), employed by one agency at a time."""

import uuid

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.access import require_managed
from api.domain.audit import log as audit
from api.domain.errors import RuleViolation
from api.domain.models import Agency, Auxiliary, AuxiliaryStatus, Role, User
from api.domain.organisation.accounts import HashCost, create_user
from api.domain.organisation.agencies import get_agency
from api.domain.staff.badge_numbers import new_badge_no
from api.domain.staff.eligibility import Application, check_categories, check_eligibility, check_hire_method
from api.domain.staff.identity import check_not_employed, identify, on_record


def take_headcount_place(session: Session, agency: Agency) -> None:
    """第十二条: one guarded UPDATE; the database decides who gets the last place, never a read in Python."""
    taken = session.execute(
        update(Agency)
        .where(Agency.id == agency.id, Agency.headcount_used < Agency.headcount_quota)
        .values(headcount_used=Agency.headcount_used + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise RuleViolation(
            "headcount_quota_full", "第十二条", "本机关核定的辅助人员员额已满，不能再聘用",
            "the agency's approved headcount is full", status=409,
        )
    session.expire(agency, ["headcount_used"])


def free_headcount_place(session: Session, agency_id: uuid.UUID) -> None:
    session.execute(
        update(Agency)
        .where(Agency.id == agency_id, Agency.headcount_used > 0)
        .values(headcount_used=Agency.headcount_used - 1)
        .execution_options(synchronize_session=False)
    )
    agency = session.get(Agency, agency_id)
    if agency is not None:
        session.expire(agency, ["headcount_used"])


def hire_auxiliary(
    session: Session,
    *,
    actor: User,
    application: Application,
    username: str,
    password: str,
    cost: HashCost,
    id_key: bytes,
) -> Auxiliary:
    """Hire a person into the agency's headcount, with their own login; they start ``pending_training``.
    ``id_key`` keys the hash their 居民身份证号码 is matched by (identity.derive_id_key)."""
    agency = get_agency(session, application.agency_id)
    require_managed(actor, agency.id)
    check_categories(application.categories)
    check_hire_method(application)
    person = identify(application.id_number, birth_date=application.birth_date, key=id_key)
    check_eligibility(application, on_record=on_record(session, person))
    check_not_employed(session, person, actor=actor)
    # The password hash is the slow part: made before the agency row is locked by the quota UPDATE.
    user = create_user(session, username=username, password=password, role=Role.AUXILIARY,
                       agency_id=agency.id, name=application.name, cost=cost, actor_id=actor.id)
    take_headcount_place(session, agency)
    for _ in range(8):
        aux = Auxiliary(
            user_id=user.id,
            agency_id=agency.id,
            badge_no=new_badge_no(),
            name=application.name,
            birth_date=application.birth_date,
            education=application.education,
            hire_method=application.hire_method,
            dispatch_company=application.dispatch_company,
            hired_on=application.hired_on,
            status=AuxiliaryStatus.PENDING_TRAINING,
            categories=list(dict.fromkeys(application.categories)),
            zones=application.zones,
            background=dict(application.record),
            preferences=dict(application.preferences),
            id_number_hash=person.digest,
            id_number_masked=person.masked,
        )
        try:
            with session.begin_nested():
                session.add(aux)
                session.flush()
        except IntegrityError:
            # Another hire of this person won the race (the database's one-current-employment index): 409. Else
            # the badge number was taken: draw another.
            check_not_employed(session, person, actor=actor)
            continue
        audit.record(session, aux, "auxiliary.hired", actor_id=actor.id)
        return aux
    raise RuntimeError("could not draw a free badge number")
