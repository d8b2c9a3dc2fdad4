"""The table of Web Push subscriptions (RFC 8030): where a user's browsers want to be told that something waits
for them, such as a record waiting for an officer's co-signature (第八条). Imported by ``api.domain.models`` so
the metadata has it.

A subscription is neither a record of work nor of a person's standing: it is not logged, and it is deleted when
its browser lets go of it, when the push service says it is gone (404/410), or when the user has registered too
many (``api/domain/organisation/push.py``).
"""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from api.domain.base import Base, IdMixin, utcnow


class PushSubscription(IdMixin, Base):
    __tablename__ = "push_subscriptions"
    __table_args__ = (Index("ix_push_subscriptions_user_id_updated_at", "user_id", "updated_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    # The push service's URL for this browser: it says whom to deliver to, so one endpoint is one row.
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    # The browser's ECDH public key (65-byte uncompressed P-256 point) and its 16-byte auth secret, unpadded
    # base64url as PushSubscription.toJSON() gives them (RFC 8291).
    p256dh: Mapped[str] = mapped_column(String(100))
    auth: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Registered again (a phone re-subscribes when the app starts): the user's least recently registered go first.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The browser's expirationTime: nothing is sent after it.
    expires_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime | None]
    # Sends that failed since the last one that was accepted (a 404 or 410 deletes the row instead).
    failures: Mapped[int] = mapped_column(default=0)
