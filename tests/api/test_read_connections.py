"""Connections for short reads: a badge scan's read is one round trip on PostgreSQL and takes no writer's turn on
SQLite; a pooled PostgreSQL connection is pinged only after it sat idle, and one the server cut meanwhile is
replaced before anyone uses it (api/db.py)."""

import threading
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import Engine, text
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.orm import Session

import api.db
from api.db import make_engine, read_connection
from tests.conftest import Backends


@pytest.fixture
def pg_url(backends: Backends) -> str:
    return backends.engine("postgresql", purpose="race").url.render_as_string(hide_password=False)


@pytest.fixture
def counted_pings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Every ping of a PostgreSQL connection, whoever asks for it (this module's or SQLAlchemy's pre_ping)."""
    pings: list[int] = []
    ping = PGDialect_psycopg.do_ping

    def do_ping(self: PGDialect_psycopg, dbapi_conn: object) -> bool:
        pings.append(1)
        return bool(ping(self, dbapi_conn))  # type: ignore[no-untyped-call]

    monkeypatch.setattr(PGDialect_psycopg, "do_ping", do_ping)
    yield pings


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_in_use_a_moment_ago_is_handed_out_without_a_ping(pg_url: str, counted_pings: list[int]) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        pids = {_backend_pid(engine) for _ in range(5)}
        assert len(pids) == 1  # the same pooled connection every time
        assert counted_pings == []  # pre_ping would have pinged it at each of the 5 checkouts
    finally:
        engine.dispose()


def test_an_idle_connection_the_server_cut_is_replaced_before_use(
    pg_url: str, counted_pings: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api.db, "IDLE_PING_S", 0.05)
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        first = _backend_pid(engine)
        admin = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(admin, autocommit=True) as killer:  # a restart, a failover, a firewall's timeout
            killer.execute("SELECT pg_terminate_backend(%s)", (first,))
        threading.Event().wait(0.1)  # idle longer than IDLE_PING_S
        second = _backend_pid(engine)  # no error reaches the reader
        assert second != first
        assert counted_pings == [1]
    finally:
        engine.dispose()


def test_a_read_on_postgresql_opens_no_transaction(pg_url: str) -> None:
    engine = make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        with read_connection(engine) as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
            # In a transaction this would be INTRANS: BEGIN and COMMIT would be two more round trips.
            assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.IDLE  # type: ignore[union-attr]
        with engine.connect() as conn:  # the pooled connection is handed to the next user as it was
            conn.execute(text("SELECT 1"))
            assert conn.connection.dbapi_connection.info.transaction_status == TransactionStatus.INTRANS  # type: ignore[union-attr]
            conn.rollback()
    finally:
        engine.dispose()


def test_a_read_on_sqlite_waits_for_no_writer(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'reads.db'}", busy_timeout=5)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (n INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        seen: list[int] = []
        with Session(engine) as writer:
            writer.execute(text("INSERT INTO t VALUES (2)"))  # holds the writer's turn and the write lock

            def read() -> None:
                with read_connection(engine) as conn:
                    seen.append(conn.execute(text("SELECT count(*) FROM t")).scalar_one())

            reader = threading.Thread(target=read)
            reader.start()
            reader.join(3)  # a reader that queued for the turn would wait out the 5 s busy timeout
            assert seen == [1]  # the writer's row is not committed yet
            writer.commit()
    finally:
        engine.dispose()
