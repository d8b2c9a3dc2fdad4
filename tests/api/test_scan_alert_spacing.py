"""Dead-badge scans kept as alerts (api/scan_alerts.py): a write begins at most once every ``spacing_s``, so a
crowd's scans go in a few transactions a second, while a lone scan after a quiet spell is written at once."""

import asyncio
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

