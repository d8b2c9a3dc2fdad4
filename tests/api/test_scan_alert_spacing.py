"""Dead-badge scans kept as alerts (api/scan_alerts.py): a write begins at most once every ``spacing_s``, so a
crowd's scans go in a few transactions a second, while a lone scan after a quiet spell is written at once."""

import asyncio
import itertools
import time
import uuid
from typing import Any

import pytest

from api.capacity import DatabaseSlots
from api.domain.staff.badge_status import BadgeCheck, BadgeStatus, DeadScan
from api.scan_alerts import ScanAlerts


def _scan() -> DeadScan:
    check = BadgeCheck(status=BadgeStatus.SUSPENDED, credential_id=uuid.uuid4(), auxiliary_id=uuid.uuid4())
    return DeadScan(check, "api")


class _Written:
    """Stands for the transaction: when each write began (time.monotonic) and how many scans it held."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, int]] = []

    def write(self, batch: list[Any]) -> int:
        self.writes.append((time.monotonic(), len(batch)))
        time.sleep(0.01)
        return len(batch)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> _Written:
    spy = _Written()
    monkeypatch.setattr(ScanAlerts, "_write_now", lambda _alerts, batch: spy.write(batch))
    return spy


def test_scans_arriving_during_a_write_wait_out_the_spacing_and_go_together(written: _Written) -> None:
    async def crowd() -> ScanAlerts:
        alerts = ScanAlerts(None, DatabaseSlots(4, 5.0), spacing_s=0.3)  # type: ignore[arg-type]
        first = asyncio.ensure_future(alerts.keep(_scan()))
        await asyncio.sleep(0.005)  # the first write has begun
        await asyncio.gather(first, *(alerts.keep(_scan()) for _ in range(20)))
        return alerts

    alerts = asyncio.run(crowd())
    assert [n for _, n in written.writes] == [1, 20]  # the twenty in one transaction, not one each
    assert written.writes[1][0] - written.writes[0][0] >= 0.3 - 0.005
    assert (alerts.kept, alerts.lost, alerts.waiting) == (21, 0, 0)


def test_a_lone_scan_after_a_quiet_spell_is_written_at_once(written: _Written) -> None:
    async def two_apart() -> list[float]:
        alerts = ScanAlerts(None, DatabaseSlots(4, 5.0), spacing_s=0.5)  # type: ignore[arg-type]
        began = []
        for _ in range(2):
            began.append(time.monotonic())
            await alerts.keep(_scan())
            await asyncio.sleep(0.6)  # longer than the spacing
        return began

    began = asyncio.run(two_apart())
    assert [n for _, n in written.writes] == [1, 1]
    # Written at once: well before the spacing would have run out (a loaded machine's thread handoff aside).
    assert all(w - b < 0.4 for (w, _), b in zip(written.writes, began, strict=True))



def test_under_a_steady_stream_each_scan_waits_only_for_its_own_write(written: _Written) -> None:
    """The writer is a task of its own: the scan that found no writer at work is not kept waiting for as long as
    dead scans keep arriving (it used to write every batch until the list ran empty)."""
    async def stream() -> list[float]:
        alerts = ScanAlerts(None, DatabaseSlots(4, 5.0), spacing_s=0.1)  # type: ignore[arg-type]
        waits: list[float] = []

        async def one() -> None:
            began = time.monotonic()
            await alerts.keep(_scan())
            waits.append(time.monotonic() - began)

        keeps = []
        for _ in range(300):  # one scan every 5 ms for 1.5 s: some arrive during every write
            keeps.append(asyncio.ensure_future(one()))
            await asyncio.sleep(0.005)
        await asyncio.gather(*keeps)
        assert (alerts.kept, alerts.lost, alerts.waiting) == (300, 0, 0)
        return waits

    waits = asyncio.run(stream())
    assert sum(n for _, n in written.writes) == 300
    assert all(b - a >= 0.1 - 0.005 for (a, _), (b, _) in itertools.pairwise(written.writes))  # still spaced
    # Each waited for the spacing's rest and one write (0.01 s), not for the stream (1.5 s) to end.
    assert max(waits) < 0.6, sorted(waits)[-5:]


def test_a_scan_whose_caller_went_away_is_still_written_and_drain_waits_for_it(written: _Written) -> None:
    async def gone() -> ScanAlerts:
        alerts = ScanAlerts(None, DatabaseSlots(4, 5.0), spacing_s=0.3)  # type: ignore[arg-type]
        await alerts.keep(_scan())  # the last write began now: the next waits 0.3 s
        caller = asyncio.ensure_future(alerts.keep(_scan()))
        await asyncio.sleep(0.01)
        caller.cancel()  # a request cancelled while its scan waits for the spacing
        await alerts.drain()  # as a stopping worker does
        return alerts

    alerts = asyncio.run(gone())
    assert [n for _, n in written.writes] == [1, 1]
    assert (alerts.kept, alerts.lost, alerts.waiting) == (2, 0, 0)
