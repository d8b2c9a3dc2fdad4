"""Signing keys every host shares (one service on many hosts): badge and checkpoint keys in the database,
their private halves sealed with a key derived from ``AUXDUTY_SECRET_KEY`` (which the database never holds), so
that a key rotated on one host signs on all.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("serial", SEQ, autoincrement=True, nullable=False),
        sa.Column("purpose", sa.String(length=10), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("purpose", "kid", name="uq_signing_keys_purpose_kid"),
    )


def downgrade() -> None:
    op.drop_table("signing_keys")
