"""Database admission (api/capacity.py): waiting for a slot holds nothing and ends in 503 + Retry-After;
a pool that still times out (a connection held outside the slots) is a 503 problem, never a 500."""

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.capacity import DatabaseSlots, ServiceBusy
from api.db import make_engine
from api.main import create_app
from tests.conftest import Backends, make_settings
from tests.problems import assert_problem


def test_a_request_that_finds_no_slot_in_time_is_told_to_retry() -> None:
    async def scenario() -> tuple[int, int]:
        slots = DatabaseSlots(1, wait_s=0.05)
        async with slots.hold():
            assert slots.in_use == 1
            with pytest.raises(ServiceBusy) as refused:
                async with slots.hold():
                    pytest.fail("a second holder got the only slot")
        # The slot is free again once its holder is done, and a refused waiter took nothing.
        async with slots.hold():
            pass
        return refused.value.retry_after, slots.in_use + slots.waiting

    retry_after, left = asyncio.run(scenario())
    assert retry_after >= 1 and left == 0


def test_waiters_are_served_in_turn_when_slots_free_up() -> None:
    async def scenario() -> list[int]:
        slots = DatabaseSlots(2, wait_s=5)
        done: list[int] = []

        async def work(i: int) -> None:
            async with slots.hold():
                assert slots.in_use <= 2
                await asyncio.sleep(0.01)
                done.append(i)

        await asyncio.gather(*(work(i) for i in range(20)))
        return done

    assert sorted(asyncio.run(scenario())) == list(range(20))


def test_an_exhausted_pool_answers_503_problem_with_retry_after(backends: Backends, tmp_path: Path) -> None:
    url = backends.engine("sqlite").url.render_as_string(hide_password=False)
    engine = make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    app = create_app(make_settings(tmp_path, db_pool_size=1, db_pool_overflow=0), engine=engine, migrate=False)
    try:
        with TestClient(app) as client, engine.connect():  # the test holds the pool's only connection
            r = client.get("/api/me", headers={"Authorization": "Bearer x"})
        assert_problem(r, 503, "database_unavailable")
        assert r.headers["retry-after"] == "2"
    finally:
        engine.dispose()
