"""``/healthz`` answers while the process serves; ``/readyz`` answers 200 when what the service needs answers,
else 503 problem+json naming what is down, and within about a second even when the database slots and the
connection pool are all taken or a dependency hangs."""

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine

from api.capacity import DatabaseSlots
from api.db import make_engine
from api.health import add_readiness_check
from api.main import create_app
from tests.conftest import IN_CI, Backends, make_settings
from tests.problems import assert_problem

REDIS_URL = os.environ.get("AUXDUTY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NOBODY = "postgresql+psycopg://postgres@127.0.0.1:1/auxduty"  # a port where no database listens


@pytest.fixture
def app_without_database(tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(make_settings(tmp_path, database_url=NOBODY), migrate=False)
    yield app
    app.state.ctx.engine.dispose()


def _timed(client: TestClient, path: str) -> tuple[Any, float]:
    start = time.monotonic()
    response = client.get(path)
    return response, time.monotonic() - start


def test_healthz_answers_without_the_database(app_without_database: FastAPI) -> None:
    r = TestClient(app_without_database).get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_names_the_database_when_it_does_not_answer(app_without_database: FastAPI) -> None:
    r, seconds = _timed(TestClient(app_without_database), "/readyz")
    body = assert_problem(r, 503, "not_ready")
    assert body["down"] == ["database"] and body["checks"] == {"database": "down"}
    # Refused at once, or given up at the round's 1 s limit; the margin is for a loaded machine.
    assert r.headers["retry-after"] and seconds < 5, seconds
    assert "postgres@" not in r.text  # nothing of the connection is told


def test_readyz_is_ready_when_the_database_answers(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_a_hung_check_is_down_within_a_second_and_a_failing_one_tells_nothing(client: TestClient) -> None:
    app: Any = client.app
    hung = threading.Event()
    calls: list[str] = []

    def hangs() -> None:
        calls.append("storage")
        hung.wait(30)

    add_readiness_check(app, "storage", hangs)
    add_readiness_check(app, "broken", lambda: (_ for _ in ()).throw(RuntimeError("password=hunter2")))
    try:
        r, seconds = _timed(client, "/readyz")
        body = assert_problem(r, 503, "not_ready")
        # The round gives up on the hung check at its time limit (1 s); the margin is for a loaded machine, and
        # still far from the 30 s the check would take.
        assert seconds < 10, seconds
        assert body["checks"] == {"database": "ok", "storage": "timeout", "broken": "down"}
        assert body["down"] == ["storage", "broken"] and "hunter2" not in r.text
        # One round serves the probes of the next second: a flood of probes asks nobody.
        again = client.get("/readyz")
        assert again.json()["checks"] == body["checks"] and calls == ["storage"]
    finally:
        hung.set()


def test_a_check_added_again_under_its_name_replaces_the_first(client: TestClient) -> None:
    app: Any = client.app
    add_readiness_check(app, "database", lambda: None)
    assert [c.name for c in app.state.readiness.checks] == ["database"]


@pytest.fixture
def crowded(backends: Backends, backend: str, tmp_path: Path) -> Iterator[tuple[TestClient, Engine]]:
    """An app of one connection and one database slot, both taken."""
    url = backends.engine(backend).url.render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=30)
    app = create_app(make_settings(tmp_path, db_pool_size=1, db_pool_overflow=0), engine=engine, migrate=False)
    app.state.ctx.db_slots = DatabaseSlots(0, 10.0)  # no slot comes free: every request waits its 10 s
    held = engine.connect()
    try:
        with TestClient(app) as client:
            yield client, engine
    finally:
        held.close()
        engine.dispose()


def test_readyz_answers_at_once_while_a_crowd_waits_for_the_database(crowded: tuple[TestClient, Engine]) -> None:
    client, engine = crowded
    waiting = [threading.Thread(target=client.get, args=("/api/public/badges/NJ0",)) for _ in range(20)]
    for t in waiting:
        t.start()
    try:
        time.sleep(0.2)
        assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        r, seconds = _timed(client, "/readyz")
        assert r.status_code == 200, r.text
        # Not queued behind the crowd, which waits 10 s for a slot; the margin is for a loaded machine.
        assert seconds < 5, seconds
        assert client.get("/healthz").status_code == 200
    finally:
        for t in waiting:
            t.join(20)


def test_probes_are_never_rate_limited(connection: Connection, data_dir: Path) -> None:
    app = create_app(make_settings(data_dir, rate_limit_scale=0.01), engine=connection.engine, migrate=False)
    with TestClient(app) as c:
        assert {c.get(path).status_code for path in ("/healthz", "/readyz") for _ in range(50)} == {200}


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        reason = f"Redis not reachable at {REDIS_URL}: {exc}"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return REDIS_URL


def test_readyz_asks_redis_where_it_is_configured(connection: Connection, data_dir: Path, redis_url: str) -> None:
    for url, state in ((redis_url, "ok"), ("redis://127.0.0.1:1/0", "down")):
        app = create_app(make_settings(data_dir, redis_url=url), engine=connection.engine, migrate=False)
        with TestClient(app) as c:
            assert c.get("/readyz").json()["checks"] == {"database": "ok", "redis": state}


def test_the_probes_are_documented_and_metrics_is_not(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/healthz"]["get"]["responses"]) == {"200"}
    ready = paths["/readyz"]["get"]["responses"]
    assert list(ready["503"]["content"]["application/problem+json"]["examples"]) == ["not_ready"]
    assert "/metrics" not in paths
