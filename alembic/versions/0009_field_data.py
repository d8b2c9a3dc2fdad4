"""Trustworthy field data (issue 9): a check-out names the check-in it closes (one check-out per check-in),
work received after a suspension but done before it is flagged, and a co-signature keeps how far the officer
was from the task and how long after it they decided.

Only nullable columns are added, so the append-only tables need no rewrite and keep their triggers; rows logged
before this migration have none of them and hash as they did (``__audit_late__``, api/domain/audit/log.py).

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COSIGNATURE_COLUMNS = {
    "accuracy_m": sa.Double,
    "distance_m": sa.Double,
    "seconds_after_task": sa.Integer,
    "far_from_task": sa.Boolean,
    "position_missing": sa.Boolean,
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("shift_events", sa.Column("check_in_id", sa.Uuid(), nullable=True))
        op.create_foreign_key("fk_shift_events_check_in_id_shift_events", "shift_events", "shift_events",
                              ["check_in_id"], ["id"])
    else:
        # SQLite adds no constraint to a table, but takes one written into a new column (Uuid is CHAR(32)).
        op.execute("ALTER TABLE shift_events ADD COLUMN check_in_id CHAR(32) "
                   "CONSTRAINT fk_shift_events_check_in_id_shift_events REFERENCES shift_events (id)")
    op.add_column("shift_events", sa.Column("recorded_before_suspension", sa.Boolean(), nullable=True))
    op.create_index("uq_shift_events_check_in_id", "shift_events", ["check_in_id"], unique=True)
    op.create_index("ix_shift_events_auxiliary_at", "shift_events", ["auxiliary_id", "at"])
    op.add_column("tasks", sa.Column("recorded_before_suspension", sa.Boolean(), nullable=True))
    for name, kind in COSIGNATURE_COLUMNS.items():
        op.add_column("cosignatures", sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    for name in COSIGNATURE_COLUMNS:
        op.drop_column("cosignatures", name)
    op.drop_column("tasks", "recorded_before_suspension")
    op.drop_index("ix_shift_events_auxiliary_at", table_name="shift_events")
    op.drop_index("uq_shift_events_check_in_id", table_name="shift_events")
    op.drop_column("shift_events", "recorded_before_suspension")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("shift_events", "check_in_id")
        return
    # SQLite drops no column a foreign key uses: the table is rebuilt, which drops its triggers (0002).
    with op.batch_alter_table("shift_events", recreate="always") as batch:
        batch.drop_column("check_in_id")
    for operation in ("DELETE", "UPDATE"):
        op.execute(f"CREATE TRIGGER shift_events_no_{operation.lower()} BEFORE {operation} ON shift_events "
                   f"BEGIN SELECT RAISE(ABORT, 'append-only table shift_events: {operation} refused'); END")
