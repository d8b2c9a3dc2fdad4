"""Public endpoints are rate-limited per client; with Redis the limit holds across workers."""

import asyncio
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api.ratelimit import Limiter, RateLimited, RedisStore, Rule
from tests.api.test_public_verify import _badge
from tests.conftest import IN_CI, app_on, make_settings
from tests.factories import make_agency, make_auxiliary
from tests.problems import assert_problem

REDIS_URL = os.environ.get("AUXDUTY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def tight_client(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    app = app_on(connection, make_settings(data_dir, rate_limit_scale=0.05))
    with TestClient(app) as c:
        yield c


def test_public_verification_answers_429_with_retry_after_past_the_limit(tight_client: TestClient) -> None:
    answers = [tight_client.get("/api/public/verify/not-a-token") for _ in range(8)]  # limit 120 * 0.05 = 6
    assert [r.status_code for r in answers[:6]] == [200] * 6
    limited = answers[6]
    assert_problem(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_clients_are_counted_apart(tight_client: TestClient) -> None:
    for _ in range(7):
        tight_client.get("/api/public/verify/x")
    other = tight_client.get("/api/public/verify/x", headers={"X-Forwarded-For": "203.0.113.9"})
    # X-Forwarded-For is not trusted by default: it is still the same client.
    assert_problem(other, 429, "rate_limited")


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


def test_redis_limit_holds_across_workers(redis_url: str) -> None:
    rule = Rule(f"t{uuid.uuid4().hex[:8]}", limit=5, window_s=60)
    workers = [Limiter(RedisStore(redis_url)), Limiter(RedisStore(redis_url))]
    refused = 0
    for i in range(10):
        try:
            workers[i % 2].check(rule, "198.51.100.7")
        except RateLimited:
            refused += 1
    assert refused == 5


def test_every_public_endpoint_is_rate_limited(tight_client: TestClient) -> None:
    """Each public GET answers 429 once its client has used up the (scaled-down) limit."""
    for path in ("/api/public/verify/x", "/v/x", "/api/public/badges/NJ0", "/api/public/photos/NJ0",
                 "/.well-known/jwks.json", "/api/public/notices", "/api/public/complaints/TS1",
                 "/v/x/complaint"):
        codes = {tight_client.get(path).status_code for _ in range(8)}
        assert 429 in codes, path


def test_the_event_loop_counts_in_redis_without_a_worker_thread(redis_url: str, monkeypatch: pytest.MonkeyPatch
                                                                ) -> None:
    """From the event loop the count goes through Redis's asyncio client (the blocking one would stall the loop
    or cost a trip to the thread pool): the same counters as the worker threads', so one limit holds."""
    rule = Rule(f"t{uuid.uuid4().hex[:8]}", limit=5, window_s=60)
    on_thread, on_loop = Limiter(RedisStore(redis_url)), Limiter(RedisStore(redis_url))
    blocking = threading.get_ident()

    def no_blocking_call(*_args: object) -> tuple[int, int]:
        raise AssertionError("the blocking Redis client was asked from the event loop")

    for _ in range(3):
        on_thread.check(rule, "198.51.100.8")
    monkeypatch.setattr(on_loop.store, "hit", no_blocking_call)

    async def from_the_loop() -> list[bool]:
        assert threading.get_ident() == blocking  # asyncio.run: this thread, no pool
        refused = []
        for _ in range(4):
            try:
                await on_loop.check_async(rule, "198.51.100.8")
                refused.append(False)
            except RateLimited:
                refused.append(True)
        await on_loop.aclose()
        return refused

    assert asyncio.run(from_the_loop()) == [False, False, True, True]


def test_a_sick_redis_lets_the_event_loop_through() -> None:
    limiter = Limiter(RedisStore("redis://127.0.0.1:9/0"))  # nothing listens on the discard port
    async def count_and_close() -> None:
        await limiter.check_async(Rule("t", limit=1, window_s=60), "198.51.100.9")
        await limiter.aclose()

    asyncio.run(count_and_close())
    limiter.check(Rule("t", limit=1, window_s=60), "198.51.100.9")


def test_a_remembered_scan_counts_against_the_limit(tight_client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    token = _badge(tight_client, db, aux)
    answers = [tight_client.get(f"/api/public/verify/{token}") for _ in range(8)]  # limit 120 * 0.05 = 6
    assert [r.status_code for r in answers[:6]] == [200] * 6
    assert_problem(answers[6], 429, "rate_limited")
    assert 1 <= int(answers[6].headers["retry-after"]) <= 60
