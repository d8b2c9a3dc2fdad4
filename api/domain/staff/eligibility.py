"""Who may be hired (第十三条、第十四条) and how (第十五条).

The eligibility rules are a table: each row names its article and item, and the check beside it. A hire
that fails any of them is refused once, listing every reason. A rule reads what the agency states (the
``Application``) or what the service's own rows say of the person across every agency (``OnRecord``, matched by
their 居民身份证号码: identity.py).
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from api.domain.duties import ASSISTED_CODES, INDEPENDENT_CODES
from api.domain.errors import DomainError, RuleViolation

# 第十三条(三): 高中以上文化程度. Vocational school (中专、职高、技校) is of high-school level.
Education = Literal["junior_high", "high_school", "vocational", "college", "bachelor", "master", "doctorate"]
HireMethod = Literal["direct", "dispatch"]  # 第十五条: 直接聘用, 劳务派遣
EDUCATION_RANK: dict[str, int] = {
    "junior_high": 0,
    "high_school": 1,
    "vocational": 1,
    "college": 2,
    "bachelor": 3,
    "master": 4,
    "doctorate": 5,
}
EDUCATION_ZH: dict[str, str] = {
    "junior_high": "初中",
    "high_school": "高中",
    "vocational": "中专、职高、技校",
    "college": "大专",
    "bachelor": "大学本科",
    "master": "硕士研究生",
    "doctorate": "博士研究生",
}
MIN_EDUCATION: Education = "high_school"
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
    # 居民身份证号码 as stated; identity.py checks it and keeps only its hash and masked form. Out of the repr, so
    # no traceback or debug line ever prints it.
    id_number: str = field(repr=False)
    preferences: dict[str, bool] = field(default_factory=dict)


# Preferential conditions (优先聘用): recorded with the hire, never a condition of it.
PREFERENCES_ZH: dict[str, str] = {"martyr_family": "烈士子女或配偶", "veteran": "退役军人", "heroic_deed": "见义勇为"}


@dataclass(frozen=True)
class OnRecord:
    """What the service's own rows say of the person, whatever the agency states (第十四条)."""

    # An agency of the city dismissed them for violations (第二十八条): 第十四条(二) without their word for it.
    dismissed: bool = False


NOTHING_ON_RECORD = OnRecord()


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
    fails: Callable[[Application, OnRecord], bool]


ELIGIBILITY: tuple[EligibilityRule, ...] = (
    EligibilityRule("under_18", "第十三条", "（三）", "聘用之日未年满十八周岁", "under 18 on the hiring date",
                    lambda a, _: age_on(a.birth_date, a.hired_on) < MIN_AGE),
    EligibilityRule("education_below_high_school", "第十三条", "（三）", "不具有高中以上文化程度",
                    "education below high-school level",
                    lambda a, _: EDUCATION_RANK[a.education] < EDUCATION_RANK[MIN_EDUCATION]),
    EligibilityRule("criminal_record", "第十四条", "（一）", "曾被追究刑事责任", "has a criminal record",
                    lambda a, _: a.record.get("criminal_record", False)),
    EligibilityRule("pending_criminal_case", "第十四条", "（一）", "涉嫌犯罪尚未结案",
                    "a criminal case is pending", lambda a, _: a.record.get("pending_criminal_case", False)),
    EligibilityRule("dismissed_for_violation", "第十四条", "（二）", "曾因违法违纪被开除、辞退、解除劳动合同",
                    "dismissed for violations", lambda a, _: a.record.get("dismissed_for_violation", False)),
    EligibilityRule("dismissed_on_record", "第十四条", "（二）", "曾被本市行政执法机关因违法违纪辞退（本系统记录）",
                    "dismissed for violations by an agency of the city (on this service's record)",
                    lambda _, known: known.dismissed),
    EligibilityRule("serious_dishonesty", "第十四条", "（三）", "有严重个人失信行为记录",
                    "has a serious dishonesty record", lambda a, _: a.record.get("serious_dishonesty", False)),
)


def check_eligibility(application: Application, *, on_record: OnRecord) -> None:
    """Refuse with every failed rule of 第十三条 and 第十四条 at once, so the agency fixes them in one go."""
    failed = [rule for rule in ELIGIBILITY if rule.fails(application, on_record)]
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
