"""A citizen's complaints (第二十四条): the complaint, each step of its handling, the anonymised case notice and
the photos attached to it. Kept apart from models.py for length; models.py re-exports them."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import BigInteger, ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, and_
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from api.domain.base import RULES_VERSION, Base, CreatedMixin, IdMixin, utcnow


class ComplaintStatus(StrEnum):
    RECEIVED = "received"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class Complaint(IdMixin, Base):
    """A citizen's complaint (第二十四条). Never deleted; only ``status`` and the decision move, and each
    move is also kept as a ComplaintEvent."""

    __tablename__ = "complaints"
    __audit_late__ = ("contact_phone_digest",)
    __audit_keyed__: ClassVar[dict[str, str]] = {"contact_phone": "contact_phone_digest"}
    __table_args__ = (Index("ix_complaints_agency_status", "agency_id", "status"),)

    tracking_no: Mapped[str] = mapped_column(String(16), unique=True)
    access_code_hash: Mapped[str] = mapped_column(String(64))
    # None: nobody could be identified, so the justice bureau handles it.
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"))
    auxiliary_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auxiliaries.id"), index=True)
    # As the citizen gave it (upper-cased), kept even when no auxiliary has that number.
    badge_no: Mapped[str | None] = mapped_column(String(32))
    identified_by: Mapped[str | None] = mapped_column(String(20))  # token | badge_no | unverified_token
    category: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    location: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    # Its keyed digest (``audit.log.personal_digest``): what the log hashes instead of the phone, which is erased
    # a set time after the complaint closes (api/domain/privacy/phones.py). None on complaints filed before 0013.
    contact_phone_digest: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ComplaintStatus] = mapped_column(String(16), default=ComplaintStatus.RECEIVED)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    due_at: Mapped[datetime]
    finding: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(String(20))
    decided_at: Mapped[datetime | None]
    rules_version: Mapped[str] = mapped_column(String(40), default=lambda: RULES_VERSION)

    @hybrid_property
    def overdue(self) -> bool:
        """Past its handling deadline and neither resolved nor dismissed."""
        return self.status in OPEN_COMPLAINT_STATUSES and self.due_at < utcnow()

    @overdue.inplace.expression
    @classmethod
    def _overdue_condition(cls) -> ColumnElement[bool]:
        return and_(cls.status.in_(OPEN_COMPLAINT_STATUSES), cls.due_at < utcnow())


OPEN_COMPLAINT_STATUSES = (ComplaintStatus.RECEIVED, ComplaintStatus.INVESTIGATING)
"""Not yet resolved or dismissed (``catalogue.OPEN_STATUSES``)."""


class ComplaintEvent(IdMixin, CreatedMixin, Base):
    """One step of a complaint's handling: who moved it from which status to which, and what they found."""

    __tablename__ = "complaint_events"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    finding: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(String(20))


class CaseNotice(IdMixin, Base):
    """An anonymised case notice (违法违纪案例通报, 第二十四条) published when a complaint is resolved."""

    __tablename__ = "case_notices"

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), unique=True)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    category: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    published_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ComplaintPhoto(IdMixin, CreatedMixin, Base):
    """A photo the complainant attached (第二十四条), re-encoded from its pixels so that no EXIF (position,
    time, device) or other metadata is kept; the stored bytes are named by their SHA-256. Never altered."""

    __tablename__ = "complaint_photos"
    __table_args__ = (UniqueConstraint("complaint_id", "sha256"),)

    complaint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("complaints.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    bytes: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
