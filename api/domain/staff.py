"""Hiring auxiliaries (第十一条 to 第十五条) and who may see or act on one (第五条).

The eligibility rules are a table: each row names its article and item, and the check beside it. A hire
that fails any of them is refused once, listing every reason. The headcount place (员额, 第十二条) is taken
by one guarded UPDATE, so two hires racing for the last place cannot both win.
"""

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain import audit
from api.domain.accounts import HashCost, create_user
from api.domain.agencies import get_agency
from api.domain.duties import ASSISTED_CODES, INDEPENDENT_CODES
from api.domain.errors import DomainError, Forbidden, NotFound, RuleViolation
from api.domain.models import Agency, Auxiliary, AuxiliaryStatus, Role, User

# 第十三条(三): 高中以上文化程度. Vocational school (中专、职高、技校) is of high-school level.
EDUCATION_RANK: dict[str, int] = {
    "junior_high": 0,
    "high_school": 1,
    "vocational": 1,
    "college": 2,
    "bachelor": 3,
    "master": 4,
    "doctorate": 5,
}
MIN_EDUCATION = "high_school"
MIN_AGE = 18


@dataclass(frozen=True)
class Application:
    """What an agency states about a person it wants to hire."""

    name: str
    birth_date: date
    education: str
    hire_method: str
    dispatch_company: str | None
    agency_id: uuid.UUID
    hired_on: date
    categories: list[str]
    zones: dict[str, Any] | None
    record: dict[str, bool]
    preferences: dict[str, bool] = field(default_factory=dict)


def age_on(birth_date: date, day: date) -> int:
    """Full years of age on ``day``; a 29 February birthday comes of age on 1 March."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


@dataclass(frozen=True)
class EligibilityRule:
    code: str
    article: str
    item: str
    detail_zh: str
    detail_en: str
    fails: Callable[[Application], bool]


ELIGIBILITY: tuple[EligibilityRule, ...] = (
    EligibilityRule("under_18", "第十三条", "（三）", "聘用之日未年满十八周岁", "under 18 on the hiring date",
                    lambda a: age_on(a.birth_date, a.hired_on) < MIN_AGE),
    EligibilityRule("education_below_high_school", "第十三条", "（三）", "不具有高中以上文化程度",
                    "education below high-school level",
                    lambda a: EDUCATION_RANK[a.education] < EDUCATION_RANK[MIN_EDUCATION]),
    EligibilityRule("criminal_record", "第十四条", "（一）", "曾被追究刑事责任", "has a criminal record",
                    lambda a: a.record.get("criminal_record", False)),
    EligibilityRule("pending_criminal_case", "第十四条", "（一）", "涉嫌犯罪尚未结案",
                    "a criminal case is pending", lambda a: a.record.get("pending_criminal_case", False)),
    EligibilityRule("dismissed_for_violation", "第十四条", "（二）", "曾因违法违纪被开除、辞退、解除劳动合同",
                    "dismissed for violations", lambda a: a.record.get("dismissed_for_violation", False)),
    EligibilityRule("serious_dishonesty", "第十四条", "（三）", "有严重个人失信行为记录",
                    "has a serious dishonesty record", lambda a: a.record.get("serious_dishonesty", False)),
)


def check_eligibility(application: Application) -> None:
    """Refuse with every failed rule of 第十三条 and 第十四条 at once, so the agency fixes them in one go."""
    failed = [rule for rule in ELIGIBILITY if rule.fails(application)]
    if not failed:
        return
    articles = list(dict.fromkeys(rule.article for rule in failed))
    raise RuleViolation(
        "ineligible",
        "、".join(articles),
        "不符合聘用条件：" + "；".join(rule.detail_zh for rule in failed),
        "not eligible for hiring: " + "; ".join(rule.detail_en for rule in failed),
        reasons=[{"code": r.code, "article": r.article, "item": r.item} for r in failed],
    )


def check_hire_method(application: Application) -> None:
    """第十五条: a dispatched (劳务派遣) hire names its dispatch company; a direct hire has none."""
    if application.hire_method == "dispatch" and not application.dispatch_company:
        raise RuleViolation("dispatch_company_required", "第十五条", "劳务派遣方式聘用须填写劳务派遣单位",
                            "a dispatch hire must name the dispatch company")
    if application.hire_method == "direct" and application.dispatch_company:
        raise RuleViolation("dispatch_company_not_allowed", "第十五条", "直接聘用不应填写劳务派遣单位",
                            "a direct hire has no dispatch company")


def check_categories(categories: Sequence[str]) -> None:
    """第七条: only independent duties are granted; assisted ones (第八条) always need an officer."""
    assisted = [c for c in categories if c in ASSISTED_CODES]
    if assisted:
        raise RuleViolation(
            "not_an_independent_duty", "第七条",
            f"协助类工作（{'、'.join(assisted)}）须在执法人员指挥下进行，不能授权独立从事",
            f"assisted duties ({', '.join(assisted)}) always need an officer and cannot be granted",
            categories=assisted,
        )
    unknown = [c for c in categories if c not in INDEPENDENT_CODES]
    if unknown:
        raise DomainError("unknown_duty", "未知的工作类别", f"unknown duty categories: {', '.join(unknown)}",
                          categories=unknown)


def _not_your_agency() -> Forbidden:
    return Forbidden("not_your_agency", "只能由用人机关管理本机关的行政执法辅助人员",
                     "only the employing agency's admins manage its auxiliaries", article="第五条")


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


# Crockford's base32: letters and digits that cannot be misread on a printed badge (no I, L, O, U).
_BADGE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_badge_no() -> str:
    return "NJ" + "".join(secrets.choice(_BADGE_ALPHABET) for _ in range(8))


def hire_auxiliary(
    session: Session, *, actor: User, application: Application, username: str, password: str, cost: HashCost
) -> Auxiliary:
    """Hire a person into the agency's headcount, with their own login; they start ``pending_training``."""
    agency = get_agency(session, application.agency_id)
    if actor.role != Role.AGENCY_ADMIN or actor.agency_id != agency.id:
        raise _not_your_agency()
    check_categories(application.categories)
    check_hire_method(application)
    check_eligibility(application)
    # The password hash is the slow part: made before the agency row is locked by the quota UPDATE.
    user = create_user(session, username=username, password=password, role=Role.AUXILIARY,
                       agency_id=agency.id, name=application.name, cost=cost)
    take_headcount_place(session, agency)
    audit.record(session, user, "user.created", actor_id=actor.id)
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
        )
        try:
            with session.begin_nested():
                session.add(aux)
                session.flush()
        except IntegrityError:
            continue  # badge number already taken: draw another
        audit.record(session, aux, "auxiliary.hired", actor_id=actor.id)
        return aux
    raise RuntimeError("could not draw a free badge number")


def can_read(user: User, aux: Auxiliary) -> bool:
    """第五条: the employer, the street it is seconded to, the justice bureau, and the person themself."""
    if user.role == Role.JUSTICE_ADMIN:
        return True
    if user.role == Role.AGENCY_ADMIN:
        return user.agency_id is not None and user.agency_id in (aux.agency_id, aux.command_agency_id)
    return user.role == Role.AUXILIARY and aux.user_id == user.id


def _load(session: Session, aux_id: uuid.UUID, *, lock: bool) -> Auxiliary | None:
    stmt = select(Auxiliary).where(Auxiliary.id == aux_id).execution_options(populate_existing=True)
    if lock:
        # NO KEY UPDATE: serialises writes on this auxiliary without blocking inserts that reference it.
        stmt = stmt.with_for_update(key_share=True)
    return session.scalars(stmt).one_or_none()


def visible_auxiliary(session: Session, aux_id: uuid.UUID, *, user: User) -> Auxiliary:
    """The auxiliary, if ``user`` may know of them; anyone else learns nothing, not even that they exist."""
    aux = _load(session, aux_id, lock=False)
    if aux is None or not can_read(user, aux):
        raise NotFound("auxiliary", "辅助人员")
    return aux


def managed_auxiliary(session: Session, aux_id: uuid.UUID, *, user: User) -> Auxiliary:
    """The auxiliary, locked for a write by an admin of their employing agency."""
    aux = _load(session, aux_id, lock=True)
    if aux is None or not can_read(user, aux):
        raise NotFound("auxiliary", "辅助人员")
    if user.role != Role.AGENCY_ADMIN or user.agency_id != aux.agency_id:
        raise _not_your_agency()
    return aux


def auxiliaries_query(
    *, user: User, agency_id: uuid.UUID | None, status: AuxiliaryStatus | None
) -> Select[Auxiliary]:
    """The auxiliaries ``user`` may list: an admin sees their own staff and those seconded to them."""
    stmt = select(Auxiliary)
    if user.role == Role.AGENCY_ADMIN:
        mine = user.agency_id
        stmt = stmt.where(or_(Auxiliary.agency_id == mine, Auxiliary.command_agency_id == mine))
    elif user.role != Role.JUSTICE_ADMIN:
        stmt = stmt.where(Auxiliary.user_id == user.id)
    if agency_id is not None:
        stmt = stmt.where(Auxiliary.agency_id == agency_id)
    if status is not None:
        stmt = stmt.where(Auxiliary.status == status)
    return stmt
