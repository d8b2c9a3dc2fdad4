"""The bulk tables of bench/scale.py's fill without their indexes and keys while rows stream in, rebuilt after.

Every row COPYed into an indexed table updates each of its B-trees at a random place (the keys are random
UUIDs and hashes) and checks each foreign key with a lookup of its own; with ten million tasks the trees
outgrow the cache and the load slows as it goes. Built once over the loaded rows, each index is one sort, and
each foreign key one join that checks every row as the row-by-row checks would have: a row that breaks a key
still fails the fill. The indexes and constraints are put back exactly as the migrations made them (their own
definitions, read from the catalog before they were dropped), and the fill checks that they are.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

BULK = ("tasks", "cosignatures", "log_leaves", "log_nodes")
"""The tables the fill streams millions of rows into."""

_CONSTRAINTS = """
    SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
    FROM pg_constraint c
    WHERE c.contype IN ('p', 'u', 'f')
      AND (c.conrelid = ANY(%(tables)s::regclass[]) OR c.confrelid = ANY(%(tables)s::regclass[]))
    ORDER BY 1, 2"""
_INDEXES = """
    SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index i
    WHERE i.indrelid = ANY(%(tables)s::regclass[])
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u'))
    ORDER BY 1, 2"""

Schema = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


def schema(conn: psycopg.Connection[Any], tables: Sequence[str] = BULK) -> Schema:
    """The keys, unique and foreign-key constraints (those of ``tables`` and those naming them) and the other
    indexes of ``tables``, with their definitions."""
    params = {"tables": list(tables)}
    return (conn.execute(_CONSTRAINTS, params).fetchall(), conn.execute(_INDEXES, params).fetchall())


@contextmanager
def indexes_built_after(conn: psycopg.Connection[Any], tables: Sequence[str] = BULK) -> Iterator[None]:
    """Drop the indexes and key constraints of ``tables`` (and the foreign keys that name them) for the block,
    then build them again over what it loaded, each in one pass; raises if the schema does not come back."""
    before = schema(conn, tables)
    constraints, indexes = before
    for table, name, _, _ in sorted(constraints, key=lambda c: c[2] != "f"):  # foreign keys first
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _, name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    conn.commit()
    yield
    conn.execute("SET maintenance_work_mem = '1GB'")  # a sort in memory for each index
    for _, _, definition in indexes:
        conn.execute(definition)
    for table, name, _, definition in sorted(constraints, key=lambda c: c[2] == "f"):  # keys first
        conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    conn.execute("RESET maintenance_work_mem")
    conn.commit()
    if schema(conn, tables) != before:
        raise SystemExit("the indexes and constraints built after the load are not the migrations' own")
