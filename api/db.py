"""Engines and sessions for SQLite (embedded default) and PostgreSQL (production)."""

import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.domain.audit.log import LEAF_KEY

READ_ONLY = "auxduty_read_only"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10, busy_timeout: float = 30.0,
                **kwargs: Any) -> Engine:
    """Build an engine; SQLite gets WAL, a busy timeout and write-locking transactions that queue in the
    process (``WriterLane``); PostgreSQL's pooled connections are pinged when they sat idle (``ping_when_idle``).

    Requests take a database slot before a session (api/capacity.py), so the pool is never waited on
    for long; its timeout is a backstop that answers 503, not a queue."""
    kwargs.setdefault("pool_timeout", 5)
    if not is_sqlite(url):
        engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow, **kwargs)
        if not kwargs.get("pool_pre_ping"):
            ping_when_idle(engine, IDLE_PING_S)
        return engine
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout},
                           pool_size=pool_size, max_overflow=max_overflow, **kwargs)
    _serialize_sqlite_writers(engine, busy_timeout)
    return engine


# A pooled connection that sat unused this long is pinged before it is handed out (``ping_when_idle``).
IDLE_PING_S = 2.0


def ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection before handing it out only when it sat unused for ``idle_s`` or longer; one that
    fails is replaced by a fresh one before anyone uses it (SQLAlchemy's DisconnectionError at checkout).

    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: a round trip before every short read, a tenth of
    a cold badge check's time. A connection of a busy pool was in use a moment ago; one that has sat idle is
    the one a server restart, a failover or a firewall's idle timeout may have cut. A connection cut while in
    constant use fails its statement (503 ``database_unavailable``) and SQLAlchemy replaces every connection
    of the pool that is older, as it does whenever it meets a disconnect."""

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["auxduty_returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _handed_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("auxduty_returned")
        if returned is None or time.monotonic() - returned < idle_s:
            return  # new, or in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            if engine.dialect.is_disconnect(exc, dbapi_conn, None):
                raise DisconnectionError(str(exc)) from exc
            raise


class WriterLane:
    """The one writer SQLite allows, queued first come first served inside the process.

    SQLite has one write lock per database file. A writer that finds it taken sleeps in SQLite's busy
    handler (1, 2, 5 ... 100 ms naps, whoever wakes first wins), so under load a write waits many times
    longer than the writes ahead of it take, and an unlucky one may wait out the whole timeout. Writers of
    one process instead wait here, each woken by the one before as it commits or rolls back. The lane is
    held by a DBAPI connection, not a thread: a request's session may be used from several threads of
    the pool. Writers of other processes still meet the busy handler."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._holder: object | None = None
        self._queue: deque[tuple[threading.Lock, object]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._queue)

    def holds(self, owner: object) -> bool:
        return self._holder is owner

    def acquire(self, owner: object, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the lane; False if it did not come (the waiter leaves the queue)."""
        with self._mutex:
            if self._holder is None or self._holder is owner:
                self._holder = owner
                return True
            gate = threading.Lock()
            gate.acquire()
            entry = (gate, owner)
            self._queue.append(entry)
        if gate.acquire(timeout=timeout):
            return True
        with self._mutex:
            if self._holder is owner:  # handed over just as the wait ran out
                return True
            self._queue.remove(entry)
            return False

    def release(self, owner: object) -> None:
        """Hand the lane to the longest waiter; nothing if ``owner`` does not hold it."""
        with self._mutex:
            if self._holder is not owner:
                return
            if self._queue:
                gate, self._holder = self._queue.popleft()
                gate.release()
            else:
                self._holder = None


_LANES: dict[str, WriterLane] = {}
_LANES_MUTEX = threading.Lock()


def writer_lane(engine: Engine) -> WriterLane:
    """The lane of the engine's database file, shared by every engine of this process on that file (the
    signing keys' own pool writes to the same file as the requests). An in-memory database has its own."""
    database = engine.url.database or ""
    key = os.path.abspath(database) if database and database != ":memory:" else f"engine:{id(engine)}"
    with _LANES_MUTEX:
        return _LANES.setdefault(key, WriterLane())


def _driver_connection(conn: Any) -> Any:
    # Pool proxies and SQLAlchemy connections both lead to the sqlite3 connection, which owns the lane.
    return getattr(conn, "dbapi_connection", conn)


def _serialize_sqlite_writers(engine: Engine, busy_timeout: float) -> None:
    # pysqlite opens transactions lazily and lets two writers read the same snapshot, which would
    # make read-then-write rules (the last quota place) racy. BEGIN IMMEDIATE takes the write lock
    # up front, after the writer's turn in the process's WriterLane; the busy timeout makes a writer of
    # another process wait instead of failing. Read-only requests (READ_ONLY on the connection) begin
    # DEFERRED and take no turn, so reads never queue behind writers (WAL).
    lane = writer_lane(engine)
    lane_wait = max(busy_timeout, LANE_WAIT_S)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY, False):
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        owner = _driver_connection(conn.connection)
        if not lane.acquire(owner, lane_wait):
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError(
                f"database is locked: no turn to write within {lane_wait:g} s"))
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            lane.release(owner)
            raise

    # SQLAlchemy announces a commit or rollback before it happens and never after; the lane is handed on
    # after, once SQLite has let go of the write lock, so the next writer never meets the busy handler.
    dialect = engine.dialect
    dialect.do_commit = _then_release(dialect.do_commit, lane)  # type: ignore[method-assign, assignment]
    dialect.do_rollback = _then_release(dialect.do_rollback, lane)  # type: ignore[method-assign, assignment]

    # A connection closed or thrown away has no transaction left: its turn ends with it.
    @event.listens_for(engine, "close")
    def _on_close(dbapi_conn: Any, _record: Any) -> None:
        lane.release(dbapi_conn)

    @event.listens_for(engine, "invalidate")
    def _on_invalidate(dbapi_conn: Any, _record: Any, _exc: Any) -> None:
        lane.release(dbapi_conn)


# How long a writer waits for its turn in the lane before the request is answered 503 (at least the busy
# timeout: a queue that is moving is never the reason to give up sooner than SQLite would).
LANE_WAIT_S = 30.0


def _then_release(end: Callable[[Any], None], lane: WriterLane) -> Callable[[Any], None]:
    def end_then_release(dbapi_conn: Any) -> None:
        driver = _driver_connection(dbapi_conn)
        try:
            end(dbapi_conn)
        finally:
            if not driver.in_transaction:
                lane.release(driver)

    return end_then_release


def make_sessionmaker(engine: Engine, leaf_key: bytes) -> sessionmaker[Session]:
    """Sessions of the service: they carry the key that MACs the log's leaves (``audit.log.LEAF_KEY``)."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=True, info=leaf_info(leaf_key))


def leaf_info(leaf_key: bytes) -> dict[str, Any]:
    return {LEAF_KEY: leaf_key}


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A bare connection for a read that needs no session (a badge scan: one statement). On PostgreSQL in
    autocommit, so the read is one round trip, without BEGIN and COMMIT (one statement sees one snapshot); on
    SQLite in a read transaction (``READ_ONLY``: no writer's turn), ended when the connection goes back."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{READ_ONLY: True})
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


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
