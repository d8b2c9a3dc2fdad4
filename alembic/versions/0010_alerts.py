"""Dead-badge scans keep a coarse place (the 0.01° cell the citizen's phone was in, when it said), and
complainants' photos (第二十四条) are kept, re-encoded without metadata, by their SHA-256.

Complaint photos are append-only (第十条(三)): the database refuses UPDATE, DELETE and TRUNCATE on them, as
0002–0005 do for the other records.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHOTOS = "complaint_photos"


def upgrade() -> None:
    with op.batch_alter_table("dead_badge_scans") as batch:
        batch.add_column(sa.Column("place_lat", sa.Double(), nullable=True))
        batch.add_column(sa.Column("place_lon", sa.Double(), nullable=True))
    op.create_index(op.f("ix_dead_badge_scans_scanned_at"), "dead_badge_scans", ["scanned_at"])

    op.create_table(
        PHOTOS,
        sa.Column("complaint_id", sa.Uuid(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_complaint_photos_complaint_id_complaints")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaint_photos")),
        sa.UniqueConstraint("complaint_id", "sha256", name=op.f("uq_complaint_photos_complaint_id")),
    )
    op.create_index(op.f("ix_complaint_photos_complaint_id"), PHOTOS, ["complaint_id"])
    _append_only()


def _append_only() -> None:
    if _pg():
        # auxduty_append_only() comes from 0002.
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {PHOTOS}_no_{verb.lower()} BEFORE {verb} ON {PHOTOS} "
                       "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()")
        op.execute(f"CREATE TRIGGER {PHOTOS}_no_truncate BEFORE TRUNCATE ON {PHOTOS} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION auxduty_append_only()")
        return
    # SQLite has no TRUNCATE: DELETE without WHERE fires the row triggers.
    for verb in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER {PHOTOS}_no_{verb.lower()} BEFORE {verb} ON {PHOTOS} "
                   f"BEGIN SELECT RAISE(ABORT, 'append-only table {PHOTOS}: {verb} refused'); END")


def downgrade() -> None:
    verbs = ("UPDATE", "DELETE", "TRUNCATE") if _pg() else ("UPDATE", "DELETE")
    for verb in verbs:
        op.execute(f"DROP TRIGGER {PHOTOS}_no_{verb.lower()}" + (f" ON {PHOTOS}" if _pg() else ""))
    op.drop_table(PHOTOS)
    op.drop_index(op.f("ix_dead_badge_scans_scanned_at"), table_name="dead_badge_scans")
    with op.batch_alter_table("dead_badge_scans") as batch:
        batch.drop_column("place_lon")
        batch.drop_column("place_lat")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"
