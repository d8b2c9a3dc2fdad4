"""Reads of personal data are kept (第十条(一)): who read which auxiliary's record, standing, complainant's phone
or roster export, and when; never the data itself.

The table is append-only: the database refuses UPDATE, DELETE and TRUNCATE on it, as 0002–0010 do for the
records, and the service role may only SELECT and INSERT (``api.migrations.INSERT_ONLY``).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READS = "personal_data_reads"


def upgrade() -> None:
    op.create_table(
        READS,
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("format", sa.String(length=8), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_personal_data_reads_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_reads")),
    )
    op.create_index(op.f("ix_personal_data_reads_read_at"), READS, ["read_at"])
    op.create_index("ix_personal_data_reads_user_id_read_at", READS, ["user_id", "read_at"])
    _append_only()


def _append_only() -> None:
    if _pg():
        # auxduty_append_only() comes from 0002.
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {READS}_no_{verb.lower()} BEFORE {verb} ON {READS} "
                       "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()")
        op.execute(f"CREATE TRIGGER {READS}_no_truncate BEFORE TRUNCATE ON {READS} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION auxduty_append_only()")
        return
    # SQLite has no TRUNCATE: DELETE without WHERE fires the row triggers.
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER {READS}_no_{verb.lower()} BEFORE {verb} ON {READS} "
                   f"BEGIN SELECT RAISE(ABORT, 'append-only table {READS}: {verb} refused'); END")


def downgrade() -> None:
    verbs = ("UPDATE", "DELETE", "TRUNCATE") if _pg() else ("UPDATE", "DELETE")
    for verb in verbs:
        op.execute(f"DROP TRIGGER {READS}_no_{verb.lower()}" + (f" ON {READS}" if _pg() else ""))
    op.drop_table(READS)


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"
