"""Leaf MACs (第十条(三)): a leaf slipped into the log's queue by whoever owns the database is refused.

Every leaf carries HMAC-SHA256 of its leaf hash under a key derived from the service's secret
(``AUXDUTY_SECRET_KEY``), which the database never holds. The integrator moves a queued leaf whose MAC does not
check to ``log_rejected`` instead of the tree, and the oversight check refuses a leaf in the tree without one.
Leaves and queued leaves older than this migration have no MAC: ``log_legacy`` records where they end.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NEW = ("log_rejected", "log_legacy")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    # A plain ADD COLUMN: SQLite keeps the tables' triggers (a batch rebuild would drop them).
    for table in ("log_pending", "log_leaves"):
        op.add_column(table, sa.Column("mac", sa.LargeBinary(length=32), nullable=True))
    op.create_table(
        "log_rejected",
        sa.Column("seq", SEQ, autoincrement=False, nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("entity", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mac", sa.LargeBinary(length=32), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_log_rejected")),
    )
    op.create_table(
        "log_legacy",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("leaves_below", SEQ, nullable=False),
        sa.Column("pending_through", SEQ, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_legacy")),
    )
    op.execute("INSERT INTO log_legacy (id, leaves_below, pending_through) SELECT 1, "
               "(SELECT count(*) FROM log_leaves), (SELECT coalesce(max(seq), 0) FROM log_pending)")
    for table in NEW:
        for verb in ("UPDATE", "DELETE"):
            if _pg():
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()")
            else:
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {verb} refused'); END")
        if _pg():
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION auxduty_append_only()")


def downgrade() -> None:
    for table in NEW:
        op.drop_table(table)
    for table in ("log_pending", "log_leaves"):
        op.drop_column(table, "mac")
