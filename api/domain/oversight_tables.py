"""The tables of the justice bureau's rectification orders (第二十九条); re-exported by ``api.domain.models``.

An Article 19 case can become an order to the agency whose people asked for the forbidden work, with a
deadline; the agency answers with the measures it took; the bureau closes the order or reopens it with a new
deadline. The order's row carries where it stands; each step is also an append-only event (第十条(三)).
"""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from api.domain.base import RULES_VERSION, Base, CreatedMixin, IdMixin


class RectificationStatus(StrEnum):
    ISSUED = "issued"
    ANSWERED = "answered"
    REOPENED = "reopened"
    CLOSED = "closed"


RectificationStatusName = Literal["issued", "answered", "reopened", "closed"]
RectificationAction = Literal["issue", "answer", "close", "reopen"]
"""The steps of an order, as its events name them (``oversight/rectification.py``: ``STEPS`` and the issue)."""

AWAITING_ANSWER = frozenset({RectificationStatus.ISSUED, RectificationStatus.REOPENED})
"""The agency owes an answer: such an order past its deadline is overdue."""


class RectificationOrder(IdMixin, CreatedMixin, Base):
    """责令整改: the justice bureau's order to an agency after an Article 19 case, one per case."""

    __tablename__ = "rectification_orders"
    __table_args__ = (Index("ix_rectification_orders_agency_status", "agency_id", "status"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("article19_cases.id"), unique=True)
    # The case's agency: the one whose staff asked for the forbidden work.
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    issued_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    instructions: Mapped[str] = mapped_column(Text)
    due_on: Mapped[date]
    status: Mapped[RectificationStatus] = mapped_column(String(16), default=RectificationStatus.ISSUED)
    measures: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    rules_version: Mapped[str] = mapped_column(String(40), default=lambda: RULES_VERSION)

    def overdue(self, today: date) -> bool:
        """Past its deadline (a Beijing date) with the agency's answer still owed."""
        return self.status in AWAITING_ANSWER and today > self.due_on


class RectificationEvent(IdMixin, CreatedMixin, Base):
    """One step of an order: issued, answered, closed, reopened; by whom, with what text and deadline."""

    __tablename__ = "rectification_events"

    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("rectification_orders.id"), index=True)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    # The instructions (issue), the measures (answer), the bureau's note (close) or reason (reopen).
    text: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date | None]
