"""Complaints from the public, their handling and anonymised case notices (第二十四条、第二十八条).

Complaints and their handling are append-only (第十条(三)): the database refuses DELETE on all three
tables and UPDATE on the handling events and the published notices.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NO_DELETE = ("complaints", "complaint_events", "case_notices")
NO_UPDATE = ("complaint_events", "case_notices")


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("tracking_no", sa.String(length=16), nullable=False),
        sa.Column("access_code_hash", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("auxiliary_id", sa.Uuid(), nullable=True),
        sa.Column("badge_no", sa.String(length=32), nullable=True),
        sa.Column("identified_by", sa.String(length=20), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Double(), nullable=True),
        sa.Column("lon", sa.Double(), nullable=True),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finding", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_complaints_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["auxiliary_id"], ["auxiliaries.id"], name=op.f("fk_complaints_auxiliary_id_auxiliaries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        sa.UniqueConstraint("tracking_no", name=op.f("uq_complaints_tracking_no")),
    )
    op.create_index("ix_complaints_agency_status", "complaints", ["agency_id", "status"])
    op.create_index(op.f("ix_complaints_auxiliary_id"), "complaints", ["auxiliary_id"])
    op.create_index(op.f("ix_complaints_received_at"), "complaints", ["received_at"])

    op.create_table(
        "complaint_events",
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("finding", sa.Text(), nullable=True),
        sa.Column("action", sa.String(length=20), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_complaint_events_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_events_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_events")),
    )
    op.create_index(op.f("ix_complaint_events_complaint_id"), "complaint_events", ["complaint_id"])

    op.create_table(
        "case_notices",
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("published_by", sa.Uuid(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_case_notices_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_case_notices_complaint_id_complaints")
        ),
        sa.ForeignKeyConstraint(
            ["published_by"], ["users.id"], name=op.f("fk_case_notices_published_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notices")),
        sa.UniqueConstraint("complaint_id", name=op.f("uq_case_notices_complaint_id")),
    )
    op.create_index(op.f("ix_case_notices_agency_id"), "case_notices", ["agency_id"])
    op.create_index(op.f("ix_case_notices_published_at"), "case_notices", ["published_at"])

    _append_only()


def _append_only() -> None:
    if _pg():
        # auxduty_append_only() comes from 0002.
        for table in NO_DELETE:
            op.execute(
                f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()"
            )
        for table in NO_UPDATE:
            op.execute(
                f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()"
            )
        return
    for table in NO_DELETE:
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: DELETE refused'); END"
        )
    for table in NO_UPDATE:
        op.execute(
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: UPDATE refused'); END"
        )


def downgrade() -> None:
    for table in NO_UPDATE:
        op.execute(f"DROP TRIGGER {table}_no_update" + (f" ON {table}" if _pg() else ""))
    for table in NO_DELETE:
        op.execute(f"DROP TRIGGER {table}_no_delete" + (f" ON {table}" if _pg() else ""))
    op.drop_table("case_notices")
    op.drop_table("complaint_events")
    op.drop_table("complaints")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"
