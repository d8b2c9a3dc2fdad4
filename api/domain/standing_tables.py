"""The tables of a person's standing (第二十一条、第二十二条、第二十六条、第二十八条): assessments, terms of
employment, commendations and sanctions; re-exported by ``api.domain.models``.

Each is a record of what an agency decided about a person, so each is append-only (第十条(三)): the database
refuses UPDATE, DELETE and TRUNCATE on all four, and every row has its leaf in the transparency log. The words
they hold (a grade, a sanction) are defined with their rules in ``api.domain.staff``.
"""

import uuid
from datetime import date

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.domain.base import RULES_VERSION, Base, CreatedMixin, IdMixin


class _Decision:
    """Whose standing, which agency decided, who recorded it, and by which rule set."""

    auxiliary_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auxiliaries.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    rules_version: Mapped[str] = mapped_column(String(40), default=lambda: RULES_VERSION)


class Assessment(_Decision, IdMixin, CreatedMixin, Base):
    """An assessment of one period (第二十一条: 遵章守纪、工作绩效、行为规范、教育培训), by the employing agency or
    the street that commands a seconded auxiliary (第二十二条); ``agency_id`` is the one that assessed."""

    __tablename__ = "assessments"
    # One assessment of a period by each agency: a retried request cannot add a second.
    __table_args__ = (UniqueConstraint("auxiliary_id", "period", "agency_id"),)

    period: Mapped[str] = mapped_column(String(8))  # "2026", "2026-H1", "2026-Q3"
    # The period's first and last day, kept so that "an assessment within the ending term" is one query.
    period_starts_on: Mapped[date]
    period_ends_on: Mapped[date]
    grade: Mapped[str] = mapped_column(String(24))
    discipline: Mapped[int]
    performance: Mapped[int]
    conduct: Mapped[int]
    training: Mapped[int]
    note: Mapped[str | None] = mapped_column(Text)

    @property
    def scores(self) -> dict[str, int]:
        return {"discipline": self.discipline, "performance": self.performance, "conduct": self.conduct,
                "training": self.training}


class Contract(_Decision, IdMixin, CreatedMixin, Base):
    """A term of employment, ``starts_on`` to ``ends_on`` inclusive. A renewal names the term it follows and the
    assessment that allowed it (第二十一条: 考核结果作为续聘的依据)."""

    __tablename__ = "contracts"
    # The n-th term recorded for the person: two renewals racing cannot both be the next one.
    __table_args__ = (UniqueConstraint("auxiliary_id", "sequence"),)

    sequence: Mapped[int]
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    renewal_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contracts.id"))
    assessment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessments.id"))


class Commendation(_Decision, IdMixin, CreatedMixin, Base):
    """A commendation or reward for outstanding work or deeds (第二十六条)."""

    __tablename__ = "commendations"

    kind: Mapped[str] = mapped_column(String(40))  # the agency's own name for it: 嘉奖、记功、优秀辅助人员 ...
    reason: Mapped[str] = mapped_column(Text)
    awarded_on: Mapped[date]


class Sanction(_Decision, IdMixin, CreatedMixin, Base):
    """A sanction for breaking 第十条 (第二十八条). One per complaint at most: the complaint's decision made it."""

    __tablename__ = "sanctions"

    action: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    complaint_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("complaints.id"), unique=True)
