"""Records of enforcement work are append-only (第十条(三)): the database itself refuses deletes.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Tables whose rows may never be deleted; the audit log may not be updated either.
NO_DELETE = ("tasks", "cosignatures", "evidence", "article19_cases", "shift_events", "audit_log")
NO_UPDATE = ("audit_log", "evidence", "cosignatures", "shift_events")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION auxduty_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              RAISE EXCEPTION 'append-only table %: % refused (第十条)', TG_TABLE_NAME, TG_OP
                USING ERRCODE = 'raise_exception';
            END $$;
            """
        )
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
    for table in NO_DELETE:
        op.execute(f"DROP TRIGGER {table}_no_delete" + (f" ON {table}" if _pg() else ""))
    for table in NO_UPDATE:
        op.execute(f"DROP TRIGGER {table}_no_update" + (f" ON {table}" if _pg() else ""))
    if _pg():
        op.execute("DROP FUNCTION auxduty_append_only()")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"
