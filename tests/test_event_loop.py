"""The event loop's lag (api/event_loop.py): a loop kept from running is seen in /metrics."""

import asyncio
import time
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection

from api.event_loop import watch_lag
from api.main import create_app
from tests.conftest import make_settings


class Noted:
    def __init__(self) -> None:
        self.values: list[float] = []

    def observe(self, amount: float) -> None:
        self.values.append(amount)


def test_a_blocked_loop_is_noted_as_late() -> None:
    async def run() -> list[float]:
        noted = Noted()
        watcher = asyncio.create_task(watch_lag(noted, every=0.01))
        await asyncio.sleep(0.05)
        time.sleep(0.2)  # the loop held: nothing else runs
        await asyncio.sleep(0.05)
        watcher.cancel()
        return noted.values

    values = asyncio.run(run())
    assert len(values) >= 3
    assert max(values) >= 0.15  # woke about 0.2 s late, once
    assert sorted(values)[len(values) // 2] < 0.1  # the rest on time


def test_a_served_app_reports_its_loops_lag(connection: Connection, data_dir: Path) -> None:
    app = create_app(make_settings(data_dir, metrics_allow="127.0.0.1"), engine=connection.engine, migrate=False)
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        deadline = time.monotonic() + 10
        count = 0.0
        while count < 2 and time.monotonic() < deadline:  # the timer runs every 0.1 s
            time.sleep(0.1)
            samples = {s.name: s.value for family in text_string_to_metric_families(c.get("/metrics").text)
                       for s in family.samples}
            count = samples.get("auxduty_event_loop_lag_seconds_count", 0.0)
    assert count >= 2
