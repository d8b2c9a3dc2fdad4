"""bench/scale.py loads its bulk tables without their indexes and keys and builds them after: they come back as
the migrations made them, and a row that breaks one still fails the load. PostgreSQL only."""

from collections.abc import Iterator

import psycopg
import pytest

from bench.scale_indexes import BULK, indexes_built_after, schema
from tests.conftest import Backends


@pytest.fixture
def conn(backends: Backends, backend: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    if backend != "postgresql":
        pytest.skip("the fill is PostgreSQL's")
    url = backends.engine(backend, "bulk").url.set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False)) as c:
        yield c


def test_the_bulk_tables_get_back_the_indexes_and_keys_the_migrations_made(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    migrated = schema(conn)
    constraints, indexes = migrated
    assert {c[0] for c in constraints} >= set(BULK) and {i[0] for i in indexes} >= {"tasks", "log_leaves"}
    with indexes_built_after(conn):
        assert schema(conn) == ([], [])  # nothing left for each row to update or check
    assert schema(conn) == migrated


def test_a_row_that_breaks_a_key_still_fails_the_load(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    conn.execute("CREATE TABLE scratch (id int PRIMARY KEY, parent int REFERENCES scratch (id))")
    conn.commit()
    try:
        with pytest.raises(psycopg.errors.ForeignKeyViolation), indexes_built_after(conn, ["scratch"]):
            conn.execute("INSERT INTO scratch VALUES (1, NULL), (2, 3)")
    finally:
        conn.rollback()
        conn.execute("DROP TABLE scratch")
        conn.commit()
