"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from api.domain.audit.log import LEAF_KEY

READ_ONLY = "auxduty_read_only"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10, **kwargs: Any) -> Engine:
    """Build an engine; SQLite gets WAL, a busy timeout and write-locking transactions.

    Requests take a database slot before a session (api/capacity.py), so the pool is never waited on
    for long; its timeout is a backstop that answers 503, not a queue."""
    kwargs.setdefault("pool_timeout", 5)
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, pool_size=pool_size, max_overflow=max_overflow, **kwargs)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                           pool_size=pool_size, max_overflow=max_overflow, **kwargs)
    _serialize_sqlite_writers(engine)
    return engine


def _serialize_sqlite_writers(engine: Engine) -> None:
    # pysqlite opens transactions lazily and lets two writers read the same snapshot, which would
    # make read-then-write rules (the last quota place) racy. BEGIN IMMEDIATE takes the write lock
    # up front; the busy timeout makes the second writer wait instead of failing. Read-only requests
    # (READ_ONLY on the connection) begin DEFERRED, so reads never queue behind writers (WAL).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine, leaf_key: bytes) -> sessionmaker[Session]:
    """Sessions of the service: they carry the key that MACs the log's leaves (``audit.log.LEAF_KEY``)."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=True, info=leaf_info(leaf_key))


def leaf_info(leaf_key: bytes) -> dict[str, Any]:
    return {LEAF_KEY: leaf_key}


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction for scripts (CLI, demo): commit on success, roll back on error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
