"""Terms of employment and their renewal (第二十一条: 考核结果作为续聘……的依据).

A term runs from ``starts_on`` to ``ends_on``, both days included, in Nanjing's calendar. Terms of one person
never overlap. A term that starts after an earlier one renews the latest of those (the ending term), and needs
an assessment of a period that lies within the ending term; an ``incompetent`` one there refuses it.

When the person's latest term has ended, their badge verifies as ``expired`` and they record no field work
(``badge_status.py``, ``fieldwork/context.py``): nothing is written when a term runs out, the day is read at
every check. A person with no term recorded keeps no end date.
"""

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import ScalarSelect, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.domain.audit import log as audit
from api.domain.base import beijing_midnight
from api.domain.errors import DomainError, RuleViolation
from api.domain.models import Assessment, Auxiliary, Contract, User
from api.domain.staff.assessments import GRADE_BY_CODE, assessments_within
from api.domain.staff.credentials import departed_refusal

ARTICLE = "第二十一条"


def latest_term_end(auxiliary_id: InstrumentedAttribute[uuid.UUID]) -> ScalarSelect[date]:
    """The last day of the person's latest term, as a column of a query about them (NULL: no term)."""
    return (select(func.max(Contract.ends_on)).where(Contract.auxiliary_id == auxiliary_id)
            .correlate_except(Contract).scalar_subquery())


def term_over(ends_on: date | None, today: date) -> bool:
    """The latest term ended before ``today``; without any term, nothing ends."""
    return ends_on is not None and ends_on < today


def term_good_until(ends_on: date | None) -> datetime | None:
    """The instant the latest term runs out: the start of the day after its last day, in Nanjing."""
    return None if ends_on is None else beijing_midnight(ends_on + timedelta(days=1))


def contracts_of(session: Session, auxiliary_id: uuid.UUID) -> list[Contract]:
    return list(session.scalars(select(Contract).where(Contract.auxiliary_id == auxiliary_id)
                                .order_by(Contract.starts_on)))


def renewal_basis(session: Session, ending: Contract) -> Assessment:
    """第二十一条: the assessment a renewal of ``ending`` rests on, the latest of those within it."""
    within = assessments_within(session, ending.auxiliary_id, starts_on=ending.starts_on, ends_on=ending.ends_on)
    if not within:
        raise RuleViolation(
            "assessment_required", ARTICLE,
            f"续聘须有对即将届满聘期（{ending.starts_on}至{ending.ends_on}）内某一期间的考核",
            f"a renewal needs an assessment of a period within the ending term ({ending.starts_on} to "
            f"{ending.ends_on})",
            ending_contract_id=str(ending.id),
        )
    failed = [a for a in within if not GRADE_BY_CODE[a.grade].renews]
    if failed:
        raise RuleViolation(
            "assessment_incompetent", ARTICLE,
            f"即将届满聘期内的考核（{failed[0].period}）为不称职，不得续聘",
            f"an assessment within the ending term ({failed[0].period}) is incompetent: no renewal",
            assessment_id=str(failed[0].id),
        )
    return within[0]


def record_contract(
    session: Session, aux: Auxiliary, *, actor: User, starts_on: date, ends_on: date
) -> Contract:
    """Record a term of employment; a renewal only on an assessment of the ending term (第二十一条). The caller
    holds the auxiliary's row lock, so two terms recorded at once are checked one after the other."""
    if aux.has_left:
        raise departed_refusal()
    if ends_on < starts_on:
        raise DomainError("validation_error", "聘期结束日期不能早于开始日期", "ends_on is before starts_on",
                          errors=[{"field": "ends_on", "message": "before starts_on", "type": "value_error"}])
    if starts_on < aux.hired_on:
        raise DomainError("contract_before_hire", "聘期不能早于聘用日期", "the term starts before the hire date")
    terms = contracts_of(session, aux.id)
    clash = next((c for c in terms if c.starts_on <= ends_on and starts_on <= c.ends_on), None)
    if clash is not None:
        raise DomainError(
            "contract_overlaps", f"与已有聘期（{clash.starts_on}至{clash.ends_on}）重叠",
            f"overlaps the term {clash.starts_on} to {clash.ends_on}", contract_id=str(clash.id),
        )
    earlier = [c for c in terms if c.ends_on < starts_on]
    ending = max(earlier, key=lambda c: c.ends_on) if earlier else None
    basis = renewal_basis(session, ending) if ending is not None else None
    contract = Contract(
        auxiliary_id=aux.id, agency_id=aux.agency_id, recorded_by=actor.id, sequence=len(terms) + 1,
        starts_on=starts_on, ends_on=ends_on, renewal_of_id=ending.id if ending else None,
        assessment_id=basis.id if basis else None,
    )
    session.add(contract)
    audit.record(session, contract, "contract.renewed" if ending else "contract.recorded", actor_id=actor.id)
    return contract
