"""Scans of dead badges kept as alerts by one writer at a time per worker, many scans to a transaction.

A scan of a suspended, revoked, superseded or expired badge is kept for the agency (第二十四条、第二十七条), and
a dead badge shown around town is scanned often. Written one transaction per scan, those writes queued for
database slots (and, on SQLite, for the one writer's turn) in front of the checks that had to read the
database, and a citizen's answer behind them waited. Here a scan is put in a list; whoever finds no writer at
work becomes the writer and keeps everything in the list in one statement, then whatever arrived meanwhile,
until the list is empty.

A write begins at most once every ``SPACING_S``: the writer that finds the last write began less than that ago
waits out the rest before it takes the list. A lone scan after a quiet spell is therefore written at once (as
before), and a crowd's scans in at most ten transactions a second whatever their number. Without the spacing,
a write took about as long as the next scans took to arrive, so batches held one or two scans: with 20 badges
of 1,000 suspended under 4,600 scans a second (bench/verify's badges after its changes), the worker threads
took 15% of a core, from the interpreter lock the citizens' checks run under; spaced, 7%, and the same
service answered 5,300-5,600 checks a second instead of 4,600.

The scans waiting in the list are lost if the process dies before they are written, as a scan kept after its
answer always could be (the citizen's answer never waits for the write), now for up to ``SPACING_S`` more.
Beyond ``MAX_WAITING`` scans waiting (the database has been away for a while), more are counted as lost and
logged, so memory stays bounded.
"""

import asyncio
import time

import structlog
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.capacity import DatabaseSlots
from api.db import session_scope
from api.domain.staff.badge_status import DeadScan, record_dead_scans

MAX_WAITING = 10_000
SPACING_S = 0.1

_log = structlog.get_logger("auxduty.scan_alerts")


class ScanAlerts:
    """The dead-badge scans of one worker, waiting to be kept."""

    def __init__(self, sessions: sessionmaker[Session], slots: DatabaseSlots, *, spacing_s: float = SPACING_S
                 ) -> None:
        self._sessions = sessions
        self._slots = slots
        self._waiting: list[DeadScan] = []
        self._writer: asyncio.AbstractEventLoop | None = None  # the loop whose task is writing, if one is
        self.kept = 0
        self.lost = 0
        self._spacing_s = spacing_s
        self._began = float("-inf")  # when the last write began (time.monotonic)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def keep(self, scan: DeadScan) -> None:
        """Keep ``scan``: written before this returns when no other scan is being written, else by the writer
        at work, in its next transaction."""
        if len(self._waiting) >= MAX_WAITING:
            self.lost += 1
            _log.warning("dead badge scan not kept: too many waiting", waiting=len(self._waiting),
                         credential_id=str(scan.check.credential_id), channel=scan.channel)
            return
        self._waiting.append(scan)
        loop = asyncio.get_running_loop()
        if self._writer is loop:
            return  # the writer at work takes it with the next batch
        # No writer in this loop (a test client's loop that closed mid-write leaves a stale mark: ignore it).
        self._writer = loop
        try:
            while self._waiting:
                rest = self._began + self._spacing_s - time.monotonic()
                if rest > 0:
                    await asyncio.sleep(rest)
                self._began = time.monotonic()
                batch, self._waiting = self._waiting, []
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: list[DeadScan]) -> None:
        try:
            async with self._slots.hold():
                self.kept += await run_in_threadpool(self._write_now, batch)
        except Exception:  # the answers are out: say in the service's log what was not kept
            self.lost += len(batch)
            _log.exception("dead badge scans not kept", scans=len(batch),
                           credential_ids=sorted({str(s.check.credential_id) for s in batch})[:20])

    def _write_now(self, batch: list[DeadScan]) -> int:
        with session_scope(self._sessions) as session:
            return record_dead_scans(session, batch)
