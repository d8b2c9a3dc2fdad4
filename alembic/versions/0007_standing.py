"""A person's standing (第二十一条、第二十二条、第二十六条、第二十八条): assessments, terms of employment,
commendations and sanctions.

All four are records of what an agency decided about a person, so all four are append-only (第十条(三)): the
database refuses UPDATE and DELETE on them (and TRUNCATE on PostgreSQL), as 0002–0005 do for the records of
enforcement work. An auxiliary's status may now also be ``dismissed`` (a string column: no DDL).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("assessments", "contracts", "commendations", "sanctions")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _decision(table: str) -> list[Any]:
    """The columns and keys every standing record shares: whose, which agency decided, who recorded it."""
    return [
        sa.Column("auxiliary_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_by", sa.Uuid(), nullable=False),
        sa.Column("rules_version", sa.String(length=40), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"], name=op.f(f"fk_{table}_agency_id_agencies")),
        sa.ForeignKeyConstraint(["auxiliary_id"], ["auxiliaries.id"],
                                name=op.f(f"fk_{table}_auxiliary_id_auxiliaries")),
        sa.ForeignKeyConstraint(["recorded_by"], ["users.id"], name=op.f(f"fk_{table}_recorded_by_users")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("period_starts_on", sa.Date(), nullable=False),
        sa.Column("period_ends_on", sa.Date(), nullable=False),
        sa.Column("grade", sa.String(length=24), nullable=False),
        sa.Column("discipline", sa.Integer(), nullable=False),
        sa.Column("performance", sa.Integer(), nullable=False),
        sa.Column("conduct", sa.Integer(), nullable=False),
        sa.Column("training", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *_decision("assessments"),
        sa.UniqueConstraint("auxiliary_id", "period", "agency_id", name=op.f("uq_assessments_auxiliary_id")),
    )
    op.create_table(
        "contracts",
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("renewal_of_id", sa.Uuid(), nullable=True),
        sa.Column("assessment_id", sa.Uuid(), nullable=True),
        *_decision("contracts"),
        sa.ForeignKeyConstraint(["assessment_id"], ["assessments.id"],
                                name=op.f("fk_contracts_assessment_id_assessments")),
        sa.ForeignKeyConstraint(["renewal_of_id"], ["contracts.id"], name=op.f("fk_contracts_renewal_of_id_contracts")),
        sa.UniqueConstraint("auxiliary_id", "sequence", name=op.f("uq_contracts_auxiliary_id")),
    )
    op.create_table(
        "commendations",
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("awarded_on", sa.Date(), nullable=False),
        *_decision("commendations"),
    )
    op.create_table(
        "sanctions",
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("complaint_id", sa.Uuid(), nullable=True),
        *_decision("sanctions"),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], name=op.f("fk_sanctions_complaint_id_complaints")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_sanctions_complaint_id")),
    )
    for table in APPEND_ONLY:
        op.create_index(op.f(f"ix_{table}_auxiliary_id"), table, ["auxiliary_id"])
    _append_only()


def _append_only() -> None:
    for table in APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            if _pg():
                # auxduty_append_only() comes from 0002.
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()")
            else:
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {verb} refused'); END")
        if _pg():
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION auxduty_append_only()")


def downgrade() -> None:
    # A table's triggers go with it, on both databases.
    for table in reversed(APPEND_ONLY):
        op.drop_table(table)
