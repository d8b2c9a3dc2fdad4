"""Remembered badge answers: served without a query, and dropped by any change, in every worker at once."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, select, update
from sqlalchemy.orm import Session

from api.badge_cache import LOOK_EVERY_S, BadgeCache, Journal, auxiliary_key, credential_key
from api.db import leaf_info
from api.domain.models import Auxiliary, AuxiliaryStatus, Credential, Role
from api.main import create_app
from api.routes import public
from api.routes.public import read_due_answers
from tests.conftest import app_on, make_settings
from tests.factories import login, make_agency, make_auxiliary, make_user


def test_another_workers_commit_forgets_only_the_answers_it_touched(tmp_path: Path) -> None:
    cache: BadgeCache[str] = BadgeCache(Journal(tmp_path))
    for n in range(3):
        cache.put(f"t{n}", cache.ticket(), [credential_key(n), auxiliary_key(f"aux{n}")], f"answer{n}")
    other: BadgeCache[str] = BadgeCache(Journal(tmp_path))  # another worker of this host, without Redis
    other.announce({auxiliary_key("aux1")})
    assert (cache.get("t0"), cache.get("t1"), cache.get("t2")) == ("answer0", None, "answer2")
    cache.announce({auxiliary_key("aux2")})  # its own line: applied when it committed, not again
    assert cache.get("t2") == "answer2"
    other.announce({"*"})  # an agency renamed: every answer
    assert cache.get("t0") is None and len(cache) == 0


def test_a_position_read_before_another_thread_read_further_forgets_nothing(tmp_path: Path) -> None:
    """Threads look at the journal at once: one may read its size, then find the cache has already read further
    (another thread got the lock first). That smaller size is not a truncated journal: nothing is forgotten.
    (It was, several times a second under a crowd of misses, and the misses that followed made it worse.)"""
    journal = Journal(tmp_path)
    cache: BadgeCache[str] = BadgeCache(journal)
    cache.put("t0", cache.ticket(), [credential_key(0), auxiliary_key("aux0")], "answer0")
    other: BadgeCache[str] = BadgeCache(Journal(tmp_path))
    other.announce({auxiliary_key("aux1")})
    stale = journal.position()  # what a thread read before the next line and before the cache caught up
    other.announce({auxiliary_key("aux2")})
    cache.catch_up()  # another thread reads to the end
    real = Journal.position
    looks = iter([stale])
    journal.position = lambda: next(looks, None) or real(journal)  # type: ignore[method-assign]
    assert cache.get("t0") == "answer0" and cache.counts["forgotten_all"] == 0


def test_an_answer_read_before_another_workers_commit_is_not_kept(tmp_path: Path) -> None:
    cache: BadgeCache[str] = BadgeCache(Journal(tmp_path))
    ticket = cache.ticket()  # a reader starts; another worker commits a change to what it reads
    BadgeCache(Journal(tmp_path)).announce({auxiliary_key("aux1")})
    assert not cache.put("t1", ticket, [auxiliary_key("aux1")], "stale")
    assert cache.put("t2", ticket, [auxiliary_key("aux2")], "fresh")


def test_a_journal_started_afresh_forgets_everything_and_a_half_written_line_waits(tmp_path: Path) -> None:
    now = [0.0]
    journal = Journal(tmp_path)
    cache: BadgeCache[str] = BadgeCache(journal, clock=lambda: now[0])
    cache.put("t", cache.ticket(), ["a:1"], "answer")
    with open(journal.path, "ab") as f:
        f.write(b"elsewhere a:1")  # no newline yet: the writer is still at it
    journal.mark()  # (a writer marks after its whole line; a reader may still meet the line half written)
    assert cache.get("t") == "answer"
    with open(journal.path, "ab") as f:
        f.write(b"\n")  # no new stamp: the half line read last time is looked at again until it is whole
    assert cache.get("t") is None
    cache.put("u", cache.ticket(), ["a:2"], "answer")
    Journal.MAX_BYTES, saved = 10, Journal.MAX_BYTES
    try:
        BadgeCache(Journal(tmp_path)).announce({"a:3"})  # past the size: a new journal
    finally:
        Journal.MAX_BYTES = saved
    assert journal.path.stat().st_size == 0 and cache.get("u") is None
    cache.put("v", cache.ticket(), ["a:4"], "answer")
    journal.path.unlink()  # a data dir wiped under a running worker: its stamp cannot say so
    (tmp_path / "badge-changes.stamp").unlink()
    assert cache.get("v") == "answer"
    now[0] += LOOK_EVERY_S  # but the worker looks at the journal itself every LOOK_EVERY_S
    assert cache.get("v") is None


def test_a_check_reads_no_file_while_no_worker_wrote_to_the_journal(tmp_path: Path) -> None:
    """A check reads the stamp, in shared memory, not the journal's size (a system call, made without the
    interpreter lock): only another worker's line sends it to the journal, and then once."""
    journal = Journal(tmp_path)
    cache: BadgeCache[str] = BadgeCache(journal, clock=lambda: 0.0)
    cache.put("t1", cache.ticket(), [auxiliary_key("aux1")], "answer1")
    cache.put("t2", cache.ticket(), [auxiliary_key("aux2")], "answer2")
    looks: list[tuple[int, int]] = []
    real = Journal.position

    def position() -> tuple[int, int]:
        looks.append(real(journal))
        return looks[-1]

    journal.position = position  # type: ignore[method-assign]
    for _ in range(100):
        assert cache.get("t1") == "answer1"
    assert looks == []
    BadgeCache(Journal(tmp_path)).announce({auxiliary_key("aux1")})  # another worker of this host commits
    assert cache.get("t1") is None and cache.get("t2") == "answer2"
    assert cache.get("t2") == "answer2"
    assert len(looks) == 2  # looked once (outside the lock and again under it), then no more
    cache.announce({auxiliary_key("aux2")})  # its own line (applied at its own commit): read past once
    assert cache.get("t2") == "answer2"
    seen = len(looks)
    assert cache.get("t2") == "answer2" and len(looks) == seen


def test_a_change_forgets_only_the_answers_that_read_it() -> None:
    cache: BadgeCache[str] = BadgeCache(None)
    for n in range(3):
        assert cache.put(f"token{n}", cache.ticket(), [credential_key(n), auxiliary_key(f"aux{n}")], f"answer{n}")
    cache.invalidate([auxiliary_key("aux1")])
    assert (cache.get("token0"), cache.get("token1"), cache.get("token2")) == ("answer0", None, "answer2")
    cache.invalidate([credential_key(2)])
    assert cache.get("token2") is None and cache.get("token0") == "answer0"
    cache.invalidate(["*"])
    assert cache.get("token0") is None and len(cache) == 0


def test_an_answer_read_while_a_change_landed_is_not_remembered() -> None:
    cache: BadgeCache[str] = BadgeCache(None)
    ticket = cache.ticket()  # a reader starts...
    cache.invalidate([auxiliary_key("aux1")])  # ...a commit touching what it reads lands...
    assert not cache.put("token1", ticket, [auxiliary_key("aux1")], "stale")  # ...its answer may be stale
    assert cache.get("token1") is None
    assert cache.put("token2", ticket, [auxiliary_key("aux2")], "fresh")  # what was not touched is kept


def test_every_answer_is_forgotten_within_its_time_to_live_and_not_all_in_the_same_second() -> None:
    now = [100.0]
    cache: BadgeCache[str] = BadgeCache(None, ttl=30, clock=lambda: now[0])
    for n in range(200):  # remembered together, as after a restart
        cache.put(f"t{n}", cache.ticket(), [f"c:{n}"], "answer")
    now[0] += 22.4  # three quarters of the time to live: every answer is still kept
    assert all(cache.get(f"t{n}") == "answer" for n in range(200))
    now[0] += 3.8
    half_way = sum(cache.get(f"t{n}") is not None for n in range(200))
    assert 40 < half_way < 160, half_way  # forgotten over the last quarter, not at once
    now[0] += 3.9  # the whole time to live: none is left
    assert all(cache.get(f"t{n}") is None for n in range(200)) and len(cache) == 0


def test_an_answer_that_stops_being_true_sooner_is_kept_only_until_then() -> None:
    now = [100.0]
    cache: BadgeCache[str] = BadgeCache(None, ttl=30, clock=lambda: now[0])
    cache.put("t", cache.ticket(), ["c:1"], "valid until midnight", ttl=5)
    cache.put("u", cache.ticket(), ["c:2"], "no end of its own", ttl=None)
    assert not cache.put("v", cache.ticket(), ["c:3"], "already over", ttl=0)
    now[0] += 5.1
    assert (cache.get("t"), cache.get("u"), cache.get("v")) == (None, "no end of its own", None)


@pytest.fixture
def second_worker(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    """Another app (worker) on the same database and data dir, with its own memory."""
    app = app_on(connection, make_settings(data_dir))
    with TestClient(app) as c:
        yield c


def test_cached_answer_needs_no_query_and_a_suspension_elsewhere_shows_at_once(
    client: TestClient, second_worker: TestClient, db: Session, connection: Connection
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = client.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=1)  # type: ignore[attr-defined]
    db.commit()
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "valid"
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(connection.engine, "before_cursor_execute", listener)
    try:
        assert client.get(f"/api/public/verify/{token}").json()["status"] == "valid"
    finally:
        event.remove(connection.engine, "before_cursor_execute", listener)
    assert statements == []
    r = second_worker.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "调查期间暂停"},
                           headers=login(second_worker, admin))
    assert r.status_code == 200, r.text
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "suspended"


def test_answers_asked_for_again_are_due_before_they_run_out_and_once() -> None:
    now = [100.0]
    cache: BadgeCache[str] = BadgeCache(None, ttl=30, clock=lambda: now[0])
    for n in range(3):
        cache.put(f"t{n}", cache.ticket(), [f"c:{n}"], f"answer{n}", ttl=10 if n == 2 else None)
    assert cache.get("t0") == "answer0" and cache.get("t2") == "answer2"  # t1 is never asked for again
    assert cache.due(3, 100) == []  # nothing runs out within 3 s yet
    now[0] += 7.5
    assert cache.due(3, 100) == [("t2", "answer2")]  # its term ends in 2.5 s; t0 lives on
    assert cache.due(3, 100) == []  # handed out once
    now[0] += 12.0  # 19.5 s in: t0 and t1 run out within 11 s (their lives end from 22.5 to 30 s)
    assert cache.due(11, 100) == [("t0", "answer0")]  # t1 nobody asked for again: it runs out
    cache.get("t0")
    cache.get("t1")
    first = [token for token, _ in cache.due(11, 1)]  # at most the limit at a time, the soonest to run out first
    assert len(first) == 1 and [token for token, _ in cache.due(11, 1)] == [({"t0", "t1"} - set(first)).pop()]


def reads(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_an_answer_asked_for_again_is_read_again_in_one_statement_before_it_runs_out(
    client: TestClient, db: Session, connection: Connection
) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    now = [1000.0]
    ctx.badge_cache = BadgeCache(None, ttl=30, clock=lambda: now[0])
    agency = make_agency(db)
    tokens = {}
    for who in ("scanned all day", "also scanned all day", "scanned once"):
        _, aux = make_auxiliary(db, agency)
        cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
        assert cred is not None
        tokens[who], _ = ctx.keyring.sign_badge(credential_id=cred.id, version=1)
        if who == "scanned all day":
            busy = aux
    db.commit()
    for token in (*[tokens["scanned all day"], tokens["also scanned all day"]] * 2, tokens["scanned once"]):
        assert client.get(f"/api/public/verify/{token}").json()["status"] == "valid"
    # The status changes with no message to this worker (the bound the time to live keeps).
    connection.execute(update(Auxiliary).where(Auxiliary.id == busy.id).values(status=AuxiliaryStatus.SUSPENDED))
    now[0] += 28.0  # within 3 s of the longest life
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(connection.engine, "before_cursor_execute", listener)
    try:
        assert asyncio.run(read_due_answers(ctx)) == 2
        assert len(statements) == 1  # one statement, however many are due
        statements.clear()
        now[0] += 5.0  # past the first answer's whole life: the one read again holds
        assert client.get(f"/api/public/verify/{tokens['scanned all day']}").json()["status"] == "suspended"
        assert reads(statements) == []  # remembered, as read again (the dead badge's scan alert is a write)
        assert client.get(f"/api/public/verify/{tokens['scanned once']}").json()["status"] == "valid"
        assert len(reads(statements)) == 1  # not asked for again: it ran out, and this scan read it
    finally:
        event.remove(connection.engine, "before_cursor_execute", listener)
    assert ctx.badge_cache.counts["read_again"] == 2


def test_a_served_app_reads_due_answers_again_by_itself(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "READ_AGAIN_EVERY_S", 0.05)
    app = create_app(make_settings(tmp_path, database_url=f"sqlite:///{tmp_path / 'served.db'}"))
    with TestClient(app) as c:  # the app's own engine, as `auxduty serve` runs it
        ctx = app.state.ctx
        now = [1000.0]
        ctx.badge_cache = BadgeCache(None, ttl=30, clock=lambda: now[0])
        with Session(ctx.engine, info=leaf_info(ctx.leaf_key)) as db:
            _, aux = make_auxiliary(db, make_agency(db))
            cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
            assert cred is not None
            token, _ = ctx.keyring.sign_badge(credential_id=cred.id, version=1)
            db.commit()
        for _ in range(2):
            assert c.get(f"/api/public/verify/{token}").json()["status"] == "valid"
        now[0] += 28.0
        deadline = time.monotonic() + 10
        while ctx.badge_cache.counts["read_again"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ctx.badge_cache.counts["read_again"] == 1


def test_an_answer_first_asked_for_close_to_its_end_is_still_read_ahead() -> None:
    """Only answers that run out soon are looked at, in order of their end; one not yet asked for when first
    looked at is looked at again at the next tick, and one stored afresh meanwhile is due by its new end."""
    now = [100.0]
    cache: BadgeCache[str] = BadgeCache(None, ttl=30, clock=lambda: now[0])
    for n in range(50):
        cache.put(f"t{n}", cache.ticket(), [f"c:{n}"], f"answer{n}", ttl=10 + n)
    now[0] += 8.0  # t0 ends in 2 s, t1 in 3 s: within the horizon, neither asked for yet
    assert cache.due(3, 100) == []
    cache.get("t0")
    cache.get("t1")
    cache.get("t40")  # asked for, but far from its end
    assert [token for token, _ in cache.due(3, 100)] == ["t0", "t1"]
    cache.put("t0", cache.ticket(), ["c:0"], "fresh", ttl=20)  # read again: due by its new end only
    cache.get("t0")
    now[0] += 1.0
    assert cache.due(3, 100) == []
    now[0] += 18.0
    assert ("t0", "fresh") in cache.due(3, 100)
