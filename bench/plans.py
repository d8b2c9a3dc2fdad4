"""The statements a piece of the service's code sends, caught on their way to the database, and their plans:
so the bench prints, and the tests check, the plans of the queries the service really makes."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event


@contextmanager
def caught(bind: Engine | Connection, *, table: str) -> Iterator[list[tuple[str, Any]]]:
    """The (statement, parameters) sent through ``bind`` inside the block that read ``table``."""
    seen: list[tuple[str, Any]] = []

    def keep(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
             executemany: bool) -> None:
        if not executemany and f"FROM {table}" in statement and statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(bind, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", keep)


def explain(connection: Connection, statement: str, parameters: Any, *, analyze: bool = False) -> str:
    """PostgreSQL's plan of one caught statement (with ``analyze``: run, with times and buffers)."""
    options = "(ANALYZE, BUFFERS, TIMING OFF)" if analyze else "(COSTS OFF)"
    rows = connection.exec_driver_sql(f"EXPLAIN {options} {statement}", parameters)
    return "\n".join(str(r[0]) for r in rows)
