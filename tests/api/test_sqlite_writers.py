"""SQLite writers of one process queue in the WriterLane (api/db.py) instead of sleeping in the busy handler:
with a busy timeout far shorter than the queue, every writer still gets its turn, in the order it came, and
readers never wait for it."""

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from api.db import READ_ONLY, make_engine, writer_lane

WRITERS = 16
HOLD_S = 0.02  # each writer keeps the write lock this long: the queue is ~0.3 s, six busy timeouts


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'lane.db'}", pool_size=WRITERS + 2, busy_timeout=0.05)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE turns (seq INTEGER PRIMARY KEY AUTOINCREMENT, writer INTEGER NOT NULL)")
    yield engine
    engine.dispose()


def _write(engine: Engine, writer: int, errors: list[BaseException]) -> None:
    try:
        with Session(engine) as session:
            session.execute(text("INSERT INTO turns (writer) VALUES (:w)"), {"w": writer})
            time.sleep(HOLD_S)
            session.commit()
    except BaseException as exc:  # collected, and asserted empty by the test
        errors.append(exc)


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.001)


def test_writers_queue_in_order_and_none_meets_database_is_locked(engine: Engine) -> None:
    lane = writer_lane(engine)
    errors: list[BaseException] = []
    first = Session(engine)
    first.execute(text("INSERT INTO turns (writer) VALUES (0)"))  # holds the lane until it commits
    threads = []
    for writer in range(1, WRITERS):
        t = threading.Thread(target=_write, args=(engine, writer, errors))
        t.start()
        threads.append(t)
        _wait_for(lambda: lane.waiting == len(threads), f"writer {writer} to queue")
    first.commit()
    first.close()
    for t in threads:
        t.join(10)
    assert errors == []
    with engine.connect() as conn:
        order = [row[0] for row in conn.execute(text("SELECT writer FROM turns ORDER BY seq"))]
    assert order == list(range(WRITERS))
    assert lane.waiting == 0


def test_a_rolled_back_or_closed_writer_hands_on_its_turn(engine: Engine) -> None:
    errors: list[BaseException] = []
    with Session(engine) as session:
        session.execute(text("INSERT INTO turns (writer) VALUES (1)"))
        session.rollback()
    with Session(engine) as session:
        session.execute(text("INSERT INTO turns (writer) VALUES (2)"))
    _write(engine, 3, errors)  # would wait out the lane's wait if either had kept its turn
    assert errors == []
    with engine.connect() as conn:
        assert [row[0] for row in conn.execute(text("SELECT writer FROM turns"))] == [3]


def test_a_reader_is_not_held_up_by_a_writer(engine: Engine) -> None:
    with Session(engine) as writer:
        writer.execute(text("INSERT INTO turns (writer) VALUES (1)"))  # holds the lane and the write lock
        started = time.monotonic()
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            seen = conn.execute(text("SELECT count(*) FROM turns")).scalar_one()
        assert seen == 0  # the writer's row is not committed yet
        assert time.monotonic() - started < 0.05
        writer.commit()
