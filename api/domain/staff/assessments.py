"""Assessments (考核, 第二十一条) of a period, by the employing agency or the street that commands a seconded
auxiliary (第二十二条). Their grade is the basis of renewal, dismissal, reward and sanction: a term is renewed
only with an assessment of it, never after an ``incompetent`` one (``contracts.py``).

A period is a year (``2026``), a half (``2026-H1``) or a quarter (``2026-Q3``); it is stored with its first and
last day. Each agency assesses a period once.
"""

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.base import beijing_date, utcnow
from api.domain.errors import Conflict, DomainError
from api.domain.models import Assessment, Auxiliary, User

AssessmentGrade = Literal["excellent", "competent", "basically_competent", "incompetent"]


@dataclass(frozen=True)
class Grade:
    code: AssessmentGrade
    name_zh: str
    name_en: str
    # 第二十一条: may the term this grade judged be renewed?
    renews: bool


GRADES: tuple[Grade, ...] = (
    Grade("excellent", "优秀", "excellent", True),
    Grade("competent", "称职", "competent", True),
    Grade("basically_competent", "基本称职", "basically competent", True),
    Grade("incompetent", "不称职", "incompetent", False),
)
GRADE_BY_CODE: dict[str, Grade] = {g.code: g for g in GRADES}

# 第二十一条's four heads of assessment: 遵章守纪、工作绩效、行为规范、教育培训.
SCORE_HEADS: dict[str, str] = {
    "discipline": "遵章守纪", "performance": "工作绩效", "conduct": "行为规范", "training": "教育培训",
}
SCORE_RANGE = (0, 100)
PERIOD_PATTERN = r"^(20[0-9]{2})(?:-(H[12]|Q[1-4]))?$"
_PERIOD = re.compile(PERIOD_PATTERN)
# The first and last month of a year, a half and a quarter.
_MONTHS: dict[str | None, tuple[int, int]] = {
    None: (1, 12), "H1": (1, 6), "H2": (7, 12), "Q1": (1, 3), "Q2": (4, 6), "Q3": (7, 9), "Q4": (10, 12),
}


@dataclass(frozen=True)
class Period:
    text: str
    starts_on: date
    ends_on: date


def parse_period(text: str) -> Period:
    """``2026`` → the year; ``2026-H1`` → January to June; ``2026-Q3`` → July to September."""
    match = _PERIOD.match(text)
    if match is None:
        raise DomainError("validation_error", "考核期间应为年度（2026）、半年（2026-H1）或季度（2026-Q3）",
                          "period must be a year (2026), a half (2026-H1) or a quarter (2026-Q3)",
                          errors=[{"field": "period", "message": "not a period", "type": "value_error"}])
    year, (first, last) = int(match[1]), _MONTHS[match[2]]
    return Period(text, date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1]))


@dataclass(frozen=True)
class Scores:
    """第二十一条's four heads, each 0 to 100."""

    discipline: int
    performance: int
    conduct: int
    training: int

    def __post_init__(self) -> None:
        low, high = SCORE_RANGE
        bad = [head for head in SCORE_HEADS if not low <= getattr(self, head) <= high]
        if bad:
            raise DomainError("validation_error", "考核分数应在0到100之间", "scores must lie between 0 and 100",
                              errors=[{"field": f"scores.{h}", "message": "out of range", "type": "value_error"}
                                      for h in bad])


def assessments_within(session: Session, auxiliary_id: object, *, starts_on: date, ends_on: date
                       ) -> list[Assessment]:
    """The assessments of periods that lie within ``starts_on`` .. ``ends_on``, the latest period first."""
    return list(session.scalars(
        select(Assessment)
        .where(Assessment.auxiliary_id == auxiliary_id, Assessment.period_starts_on >= starts_on,
               Assessment.period_ends_on <= ends_on)
        .order_by(Assessment.period_ends_on.desc(), Assessment.created_at.desc())
    ))


def record_assessment(
    session: Session, aux: Auxiliary, *, actor: User, period: str, grade: str, scores: Scores, note: str | None
) -> Assessment:
    """Record the actor's agency's assessment of ``period`` (第二十一条、第二十二条). The caller has checked that
    the actor's agency employs or commands the auxiliary (``access.require_managed``)."""
    if actor.agency_id is None:
        raise DomainError("validation_error", "考核须由行政执法机关作出", "an assessment is made by an agency")
    if grade not in GRADE_BY_CODE:
        raise DomainError("validation_error", "未知的考核等次", f"unknown grade {grade!r}",
                          errors=[{"field": "grade", "message": "unknown grade", "type": "value_error"}])
    span = parse_period(period)
    if span.starts_on > beijing_date(utcnow()):
        raise DomainError("period_not_started", "考核期间尚未开始", "the period has not begun yet")
    if span.ends_on < aux.hired_on:
        raise DomainError("period_before_hire", "考核期间早于聘用日期", "the period ended before the hire")
    earlier = session.scalar(select(Assessment.id).where(
        Assessment.auxiliary_id == aux.id, Assessment.period == span.text, Assessment.agency_id == actor.agency_id))
    if earlier is not None:
        raise Conflict("assessment_exists", "本机关已对该期间作出考核", "this agency has already assessed that period",
                       assessment_id=str(earlier))
    assessment = Assessment(
        auxiliary_id=aux.id, agency_id=actor.agency_id, recorded_by=actor.id, period=span.text,
        period_starts_on=span.starts_on, period_ends_on=span.ends_on, grade=grade,
        discipline=scores.discipline, performance=scores.performance, conduct=scores.conduct,
        training=scores.training, note=note,
    )
    session.add(assessment)
    audit.record(session, assessment, "assessment.recorded", actor_id=actor.id)
    return assessment
