"""Rows written at once (``insert_rows``) read back as they were given, whichever way they travel: COPY in
PostgreSQL's binary format for rows of their columns' own types, COPY as text for others, executemany on SQLite
and for a few rows. A leaf's bytes, its instant and its text must come back byte for byte, or the log breaks."""

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from api.domain.base import _COPY_FROM, _copy_types, insert_rows
from api.domain.log_tables import LogLeaf, LogNode, LogPending
from api.domain.models import Task

AWKWARD = 'quote " backslash \\ tab \t newline \n line-sep \u2028 emoji 😀 新街口 \\N'
AT = datetime(2026, 11, 26, 3, 31, 2, 123456, tzinfo=UTC)


def _leaves(n: int) -> list[dict[str, Any]]:
    return [{"leaf": bytes(range(256)) + b"\\N\t\n" + i.to_bytes(4), "leaf_hash": bytes([i % 256]) * 32,
             "entity": "tasks", "entity_id": f"{AWKWARD}{i}", "action": "test.insert_rows", "row_hash": "ab" * 32,
             "at": AT + timedelta(microseconds=i), "mac": None if i % 3 else b"\x00" * 32} for i in range(n)]


@pytest.mark.parametrize("typed", [True, False])
@pytest.mark.parametrize("n", [_COPY_FROM - 1, _COPY_FROM + 3])
def test_leaves_read_back_as_given(db: Session, typed: bool, n: int) -> None:
    rows = _leaves(n)
    insert_rows(db, cast(Table, LogPending.__table__), rows, typed=typed)
    columns = [getattr(LogPending, key) for key in rows[0]]
    stored = db.execute(select(*columns).where(LogPending.action == "test.insert_rows").order_by(LogPending.seq))
    assert [{key: bytes(v) if isinstance(v, memoryview) else v for key, v in zip(rows[0], row, strict=True)}
            for row in stored] == rows


def test_nodes_read_back_as_given(db: Session) -> None:
    # A sync batch's tasks travel the same way; test_sync's full batch checks them against their leaves.
    nodes = [{"level": 40 + i, "idx": 2**40 + i, "hash": bytes([i]) * 32} for i in range(_COPY_FROM)]
    insert_rows(db, cast(Table, LogNode.__table__), nodes, typed=True)
    stored = db.execute(select(LogNode.level, LogNode.idx, LogNode.hash).where(LogNode.level >= 40)
                        .order_by(LogNode.level))
    assert [{"level": level, "idx": idx, "hash": bytes(digest)} for level, idx, digest in stored] == nodes


def test_the_tables_a_sync_batch_fills_are_copied_in_binary_on_postgresql(db: Session) -> None:
    connection = db.connection()
    if connection.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's")
    for model in (LogPending, LogLeaf, LogNode, Task):
        table = cast(Table, model.__table__)
        columns = [c.name for c in table.c if c.name != "seq"]
        assert _copy_types(connection, table, columns) is not None, model
