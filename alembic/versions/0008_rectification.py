"""Rectification orders (第二十九条) and reassigned co-signatures.

The justice bureau's order to the agency whose staff asked for forbidden work, with its steps as an
append-only history; and the record of each pending task handed to another officer (a deactivated officer's
work). Orders are never deleted (their status moves); their steps and the reassignments are never changed
either (第十条(三)): the database refuses it, on both backends.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_DELETE = ("rectification_orders", "rectification_events", "task_reassignments")
NO_UPDATE = ("rectification_events", "task_reassignments")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    op.create_table(
        "rectification_orders",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("issued_by", sa.Uuid(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rules_version", sa.String(length=40), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f("fk_rectification_orders_agency_id_agencies")),
        sa.ForeignKeyConstraint(["case_id"], ["article19_cases.id"], name=op.f("fk_rectification_orders_case_id_article19_cases")),
        sa.ForeignKeyConstraint(["issued_by"], ["users.id"], name=op.f("fk_rectification_orders_issued_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_orders")),
        sa.UniqueConstraint("case_id", name=op.f("uq_rectification_orders_case_id")),
    )
    op.create_index("ix_rectification_orders_agency_status", "rectification_orders", ["agency_id", "status"])

    op.create_table(
        "rectification_events",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_rectification_events_actor_id_users")),
        sa.ForeignKeyConstraint(["order_id"], ["rectification_orders.id"], name=op.f("fk_rectification_events_order_id_rectification_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_events")),
    )
    op.create_index(op.f("ix_rectification_events_order_id"), "rectification_events", ["order_id"])

    op.create_table(
        "task_reassignments",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("from_officer_id", sa.Uuid(), nullable=False),
        sa.Column("to_officer_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_task_reassignments_actor_id_users")),
        sa.ForeignKeyConstraint(["from_officer_id"], ["officers.id"], name=op.f("fk_task_reassignments_from_officer_id_officers")),
        sa.ForeignKeyConstraint(["task_id"], ["tasks.id"], name=op.f("fk_task_reassignments_task_id_tasks")),
        sa.ForeignKeyConstraint(["to_officer_id"], ["officers.id"], name=op.f("fk_task_reassignments_to_officer_id_officers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_reassignments")),
    )
    op.create_index(op.f("ix_task_reassignments_task_id"), "task_reassignments", ["task_id"])

    _append_only()


def _append_only() -> None:
    # auxduty_append_only() comes from 0002.
    refused = [(table, "DELETE") for table in NO_DELETE] + [(table, "UPDATE") for table in NO_UPDATE]
    for table, verb in refused:
        if _pg():
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()")
        else:
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {verb} refused'); END")
    if _pg():
        for table in NO_DELETE:
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION auxduty_append_only()")


def downgrade() -> None:
    # A table's triggers go with it, on both backends.
    op.drop_table("task_reassignments")
    op.drop_table("rectification_events")
    op.drop_table("rectification_orders")
