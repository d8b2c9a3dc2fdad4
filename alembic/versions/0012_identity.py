"""One person city-wide (第十四条): an auxiliary's 居民身份证号码, kept as a keyed hash and a masked form.

``id_number_hash`` (HMAC-SHA256, hex) matches the person across agencies, through an index; ``id_number_masked``
(``110105********1234``) is what is shown. The number itself is never stored. Both are NULL for people hired
before hiring asked for the number. A partial unique index on the hash over the rows of current staff (not
departed, not dismissed) lets a person be employed by one agency at a time, also when two hires race; SQLite and
PostgreSQL both have partial indexes. Plain ADD COLUMN on SQLite (no batch copy), so the table keeps its triggers.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("status NOT IN ('departed', 'dismissed')")


def upgrade() -> None:
    op.add_column("auxiliaries", sa.Column("id_number_hash", sa.String(length=64), nullable=True))
    op.add_column("auxiliaries", sa.Column("id_number_masked", sa.String(length=18), nullable=True))
    op.create_index(op.f("ix_auxiliaries_id_number_hash"), "auxiliaries", ["id_number_hash"])
    op.create_index("uq_auxiliaries_current_id_number_hash", "auxiliaries", ["id_number_hash"], unique=True,
                    postgresql_where=CURRENT, sqlite_where=CURRENT)


def downgrade() -> None:
    op.drop_index("uq_auxiliaries_current_id_number_hash", table_name="auxiliaries")
    op.drop_index(op.f("ix_auxiliaries_id_number_hash"), table_name="auxiliaries")
    # Plain DROP COLUMN (SQLite 3.35+), not a batch copy: other tables' foreign keys point at auxiliaries.
    op.drop_column("auxiliaries", "id_number_masked")
    op.drop_column("auxiliaries", "id_number_hash")
