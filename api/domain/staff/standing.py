"""A person's standing as one record (第二十一条、第二十六条、第二十八条): their assessments, terms,
commendations and sanctions, newest first, and where their term stands today."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.base import beijing_date, utcnow
from api.domain.models import Assessment, Auxiliary, Commendation, Contract, Sanction
from api.domain.staff.contracts import term_over


@dataclass(frozen=True)
class Standing:
    auxiliary: Auxiliary
    assessments: list[Assessment]
    contracts: list[Contract]
    commendations: list[Commendation]
    sanctions: list[Sanction]
    today: date

    @property
    def term_ends_on(self) -> date | None:
        """The last day of the latest term (None: no term recorded, so none ends)."""
        return max((c.ends_on for c in self.contracts), default=None)

    @property
    def term_expired(self) -> bool:
        return term_over(self.term_ends_on, self.today)

    @property
    def current_contract(self) -> Contract | None:
        return next((c for c in self.contracts if c.starts_on <= self.today <= c.ends_on), None)


def standing_of(session: Session, aux: Auxiliary) -> Standing:
    """Everything recorded about ``aux``'s standing, each kind newest first (assessments by their period,
    terms by their start, commendations by their day, sanctions as recorded)."""
    return Standing(
        auxiliary=aux,
        assessments=list(session.scalars(
            select(Assessment).where(Assessment.auxiliary_id == aux.id)
            .order_by(Assessment.period_ends_on.desc(), Assessment.created_at.desc()))),
        contracts=list(session.scalars(
            select(Contract).where(Contract.auxiliary_id == aux.id).order_by(Contract.starts_on.desc()))),
        commendations=list(session.scalars(
            select(Commendation).where(Commendation.auxiliary_id == aux.id)
            .order_by(Commendation.awarded_on.desc(), Commendation.created_at.desc()))),
        sanctions=list(session.scalars(
            select(Sanction).where(Sanction.auxiliary_id == aux.id).order_by(Sanction.created_at.desc()))),
        today=beijing_date(utcnow()),
    )
