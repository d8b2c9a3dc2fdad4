"""The tables of the transparency log (第十条(三)) and of the signing keys every host shares; re-exported by
``api.domain.models``."""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.domain.base import Base, utcnow

_SEQ = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit counter (SQLite's rowid alias must be INTEGER to count by itself)."""


class _Leaf:
    """A leaf's bytes and what they name: the record (table, id), the action, the row's hash, when."""

    leaf: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    row_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
    mac: Mapped[bytes | None] = mapped_column(LargeBinary(32), default=None)
    """HMAC-SHA256 of ``leaf_hash`` under a key only the service's hosts hold (``audit.log.leaf_mac``): a leaf
    slipped into the queue by whoever owns the database has none that checks. None only on leaves older than
    the MAC (see ``LogLegacy``)."""


class LogPending(_Leaf, Base):
    """A leaf of the transparency log written with its record, in the record's own transaction, waiting for
    the integrator to give it its place in the tree (第十条(三)). Writers never lock anything shared: the
    queue's order is the database's, and the integrator empties it in that order."""

    __tablename__ = "log_pending"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)


class LogLeaf(_Leaf, Base):
    """A leaf at its place in the tree: ``idx`` is its index, ``leaf`` the exact bytes hashed (RFC 6962)."""

    __tablename__ = "log_leaves"
    __table_args__ = (Index("ix_log_leaves_entity", "entity", "entity_id", "idx"),
                      Index("ix_log_leaves_leaf_hash", "leaf_hash"))

    idx: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)


class LogNode(Base):
    """The hash of a perfect subtree: ``level`` L, ``idx`` i covers leaves [i·2^L, (i+1)·2^L). Derived from the
    leaves and kept so a proof costs one query; the check recomputes the tree without trusting them."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogRejected(_Leaf, Base):
    """A queued leaf the integrator refused (its MAC does not check, or its bytes do not hash to it): kept as
    evidence of who wrote behind the service's back, never given a place in the tree."""

    __tablename__ = "log_rejected"

    seq: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(String(40))
    rejected_at: Mapped[datetime] = mapped_column(default=utcnow)


class LogLegacy(Base):
    """Written once by the migration that brought leaf MACs: the leaves and queued leaves older than it, which
    carry no MAC and are taken as that migration found them."""

    __tablename__ = "log_legacy"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    leaves_below: Mapped[int] = mapped_column(_SEQ)
    pending_through: Mapped[int] = mapped_column(_SEQ)


class SigningKey(Base):
    """A signing key that every host of one service shares: badge keys (``purpose`` "badge", named by JWS
    ``kid``) and checkpoint keys ("log", named by their note key hash). The private key is sealed (AES-GCM
    under a key derived from ``AUXDUTY_SECRET_KEY``, which the database never holds); the newest key of a
    purpose that is not retired signs."""

    __tablename__ = "signing_keys"
    __table_args__ = (UniqueConstraint("purpose", "kid", name="uq_signing_keys_purpose_kid"),)

    serial: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(10))
    kid: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(default=None)


class LogCheckpoint(Base):
    """A signed checkpoint as published (a C2SP signed note); also kept outside the database."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(_SEQ, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
