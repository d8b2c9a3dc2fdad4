"""第十九条: nobody may make an auxiliary act in an officer's name, collect fines against a quota, handle
state secrets or do work that needs a professional qualification. Every such request is refused and kept as an
Article 19 case naming who asked, for the justice bureau (第二十九条)."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.access import visible_agencies
from api.domain.audit import log as audit
from api.domain.duties import FORBIDDEN_WORK, ForbiddenFlag
from api.domain.errors import ForbiddenWork
from api.domain.fieldwork.context import FieldContext, available_officer
from api.domain.fieldwork.phone_ids import _canonical
from api.domain.models import (
    Article19Case,
    Auxiliary,
    User,
)

FLAG_BY_NAME: dict[str, ForbiddenFlag] = {f.flag: f for f in FORBIDDEN_WORK}


def open_article19_case(
    session: Session,
    fc: FieldContext,
    *,
    attempt_id: uuid.UUID,
    flags: list[str],
    request: dict[str, Any],
    officer_id: uuid.UUID | None,
) -> Article19Case:
    """Keep the attempt against whoever asked: the named officer when one is available to direct this
    auxiliary, else the auxiliary themself. A retried attempt finds the case already open."""
    existing = session.scalar(select(Article19Case).where(Article19Case.attempt_id == attempt_id))
    if existing is not None:
        return existing
    officer = available_officer(session, fc, officer_id) if officer_id else None
    case = Article19Case(
        attempt_id=attempt_id,
        agency_id=fc.aux.commanding_agency_id,
        auxiliary_id=fc.aux.id,
        requested_by=officer.user_id if officer else fc.user.id,
        reported_by=fc.user.id,
        flags=flags,
        request=_canonical(request),
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError:
        stored = session.scalar(select(Article19Case).where(Article19Case.attempt_id == attempt_id))
        if stored is None:
            raise
        return stored
    audit.record(session, case, "article19_case.opened", actor_id=fc.user.id)
    return case


def forbidden_work(flags: list[str], case: Article19Case) -> ForbiddenWork:
    items = "、".join(f"第十九条{FLAG_BY_NAME[f].item}{FLAG_BY_NAME[f].name_zh}" for f in flags)
    names = "; ".join(FLAG_BY_NAME[f].name_en for f in flags)
    return ForbiddenWork(
        "forbidden_work",
        "第十九条",
        f"辅助人员不得从事下列工作：{items}。本次要求已记录备查",
        f"auxiliaries may not be made to do this ({names}); the attempt has been kept as a case",
        flags=flags,
        case_id=str(case.id),
    )


def article19_cases_visible_to(user: User) -> Select[Article19Case]:
    """The justice bureau sees every case (第二十九条); an agency admin those of the agency that commanded
    the work or that employs the auxiliary."""
    scope = visible_agencies(user)
    if scope.everything or not scope.any:
        return select(Article19Case).where(scope.where(Article19Case.agency_id))
    employed = select(Auxiliary.id).where(scope.where(Auxiliary.agency_id))
    return select(Article19Case).where(
        or_(scope.where(Article19Case.agency_id), Article19Case.auxiliary_id.in_(employed))
    )


def case_parties(
    session: Session, cases: Sequence[Article19Case]
) -> tuple[dict[uuid.UUID, User], dict[uuid.UUID, Auxiliary]]:
    """The users and auxiliaries a page of cases names, in two queries."""
    user_ids = {c.requested_by for c in cases} | {c.reported_by for c in cases}
    aux_ids = {c.auxiliary_id for c in cases if c.auxiliary_id}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))}
    auxes = {a.id: a for a in session.scalars(select(Auxiliary).where(Auxiliary.id.in_(aux_ids)))}
    return users, auxes
