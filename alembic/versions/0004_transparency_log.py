"""The transparency log (第十条(三)): an RFC 6962 Merkle tree replaces the hash chain.

Writers append leaves to ``log_pending`` in their own transaction; the integrator moves them, in order, to
``log_leaves`` with their index and writes the perfect-subtree hashes to ``log_nodes``; signed checkpoints go
to ``log_checkpoints``. The entries of the old chain become the first leaves, in their order. The database
refuses UPDATE, DELETE and TRUNCATE on the log (``log_pending`` may be emptied by the integrator) and
TRUNCATE on every append-only table. Tasks, Article 19 cases and complaints name their ``rules_version``.

Revision ID: 0004
Revises: 0003
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES_VERSION = "宁政发〔2021〕12号/2026.1"
LOG = ("log_leaves", "log_nodes", "log_checkpoints")
# Every table that refuses DELETE (0002, 0003) refuses TRUNCATE too: row triggers do not fire on TRUNCATE.
APPEND_ONLY = ("tasks", "cosignatures", "evidence", "article19_cases", "shift_events", "complaints",
               "complaint_events", "case_notices", *LOG, "log_pending")
SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    def common() -> list[sa.Column[object]]:
        return [
            sa.Column("leaf", sa.LargeBinary(), nullable=False),
            sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
            sa.Column("entity", sa.String(length=40), nullable=False),
            sa.Column("entity_id", sa.String(length=64), nullable=False),
            sa.Column("action", sa.String(length=60), nullable=False),
            sa.Column("row_hash", sa.String(length=64), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        ]

    op.create_table(
        "log_pending",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        *common(),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_log_pending")),
    )
    op.create_table(
        "log_leaves",
        sa.Column("idx", SEQ, autoincrement=False, nullable=False),
        *common(),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_log_leaves")),
    )
    op.create_index("ix_log_leaves_entity", "log_leaves", ["entity", "entity_id", "idx"])
    op.create_index(op.f("ix_log_leaves_leaf_hash"), "log_leaves", ["leaf_hash"])
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", SEQ, autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_nodes")),
    )
    op.create_table(
        "log_checkpoints",
        sa.Column("size", SEQ, autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_log_checkpoints")),
    )
    for table in ("tasks", "article19_cases", "complaints"):
        # A plain ADD COLUMN: SQLite's batch mode would rebuild the table and lose its append-only triggers.
        # Rows written before this rule set was named were judged by it all the same.
        op.add_column(table, sa.Column("rules_version", sa.String(length=40), nullable=False,
                                       server_default=RULES_VERSION))
        if _pg():
            op.alter_column(table, "rules_version", server_default=None)
    _carry_over_the_chain()
    _drop_the_chain()
    _refuse_changes()


def _carry_over_the_chain() -> None:
    """The old chain's entries, in order, become leaves waiting for the integrator (leaf format v1)."""
    bind = op.get_bind()
    pending = sa.table("log_pending", *[sa.column(n) for n in
                                        ("leaf", "leaf_hash", "entity", "entity_id", "action", "row_hash", "at")])
    rows = bind.execute(sa.text(
        "SELECT at, actor_id, action, entity, entity_id, row_hash FROM audit_log ORDER BY seq"
    )).mappings()
    batch: list[dict[str, object]] = []
    for row in rows:
        at = row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(str(row["at"]))
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        actor = row["actor_id"]
        content = {
            "v": 1, "action": row["action"], "entity": row["entity"], "id": row["entity_id"],
            "row_sha256": row["row_hash"] or "", "at": at.isoformat().replace("+00:00", "Z"),
            "actor": None if actor is None else str(actor) if not isinstance(actor, bytes) else actor.hex(),
            "rules_version": RULES_VERSION,
        }
        leaf = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        batch.append({"leaf": leaf, "leaf_hash": hashlib.sha256(b"\x00" + leaf).digest(), "entity": row["entity"],
                      "entity_id": row["entity_id"], "action": row["action"], "row_hash": row["row_hash"] or "",
                      "at": at})
    if batch:
        op.bulk_insert(pending, batch)  # type: ignore[arg-type]


def _drop_the_chain() -> None:
    for trigger in ("audit_log_no_delete", "audit_log_no_update"):
        op.execute(f"DROP TRIGGER {trigger}" + (" ON audit_log" if _pg() else ""))
    op.drop_table("audit_log")


def _refuse_changes() -> None:
    if _pg():
        for table in LOG:
            for verb in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                           "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()")
        op.execute("CREATE TRIGGER log_pending_no_update BEFORE UPDATE ON log_pending "
                   "FOR EACH ROW EXECUTE FUNCTION auxduty_append_only()")
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       "FOR EACH STATEMENT EXECUTE FUNCTION auxduty_append_only()")
        return
    # SQLite has no TRUNCATE: DELETE without WHERE fires the row triggers.
    for table in LOG:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, 'append-only table {table}: {verb} refused'); END")
    op.execute("CREATE TRIGGER log_pending_no_update BEFORE UPDATE ON log_pending "
               "BEGIN SELECT RAISE(ABORT, 'append-only table log_pending: UPDATE refused'); END")


def downgrade() -> None:
    raise NotImplementedError("the transparency log cannot be turned back into the hash chain")
