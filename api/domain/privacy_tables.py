"""The table of reads of personal data (第十条(一)); imported by ``api.domain.models`` so the metadata has it.

One row per record of a person shown to someone: who read it (account and role), what (a kind and the
record's id; for a roster export, the agency, year, format and row count), when, and the request it came
with. Never the data itself. Append-only: the database refuses UPDATE, DELETE and TRUNCATE (0011).
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.domain.base import Base, IdMixin, utcnow


class ReadKind(StrEnum):
    AUXILIARY = "auxiliary"
    """An auxiliary's record (``GET /api/auxiliaries/{id}`` and each item of the list)."""
    STANDING = "standing"
    """An auxiliary's assessments, terms, commendations and sanctions."""
    COMPLAINANT_PHONE = "complainant_phone"
    """A complaint shown to an agency with the complainant's phone number in it."""
    ROSTER = "roster"
    """One export of the December roster (第十二条), in any format."""
    ID_PHOTO = "id_photo"
    """An auxiliary's ID photo (``GET /api/auxiliaries/{id}/photo``); a citizen verifying a badge is not counted."""
    BADGE_CARD = "badge_card"
    """A printed badge card, which shows the photo and name."""
    COMPLAINT_PHOTO = "complaint_photo"
    """A complainant's photo shown to the handling agency; ``record_id`` is the complaint."""


class PersonalDataRead(IdMixin, Base):
    __tablename__ = "personal_data_reads"
    __table_args__ = (Index("ix_personal_data_reads_user_id_read_at", "user_id", "read_at"),)

    read_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(32))
    # The auxiliary or complaint read; None for a roster (which names its agency, or none for the whole city).
    record_id: Mapped[uuid.UUID | None]
    agency_id: Mapped[uuid.UUID | None]
    year: Mapped[int | None]
    format: Mapped[str | None] = mapped_column(String(8))
    row_count: Mapped[int | None]
    request_id: Mapped[str | None] = mapped_column(String(64))
