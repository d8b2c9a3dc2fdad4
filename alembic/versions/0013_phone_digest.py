"""The complainant's phone as a keyed digest in the logged row (第十条(一)): the log hashes the digest instead
of the number, so no leaf can be searched for it and erasing the number later changes nothing logged.
Complaints filed before this keep hashing the number itself (their leaves are already written).

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("contact_phone_digest", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy, which would lose the table's triggers.
    op.drop_column("complaints", "contact_phone_digest")
