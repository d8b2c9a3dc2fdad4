"""Scans of dead badges kept as alerts by one writer at a time per worker, many scans to a transaction.

A scan of a suspended, revoked, superseded or expired badge is kept for the agency (第二十四条、第二十七条), and
a dead badge shown around town is scanned often. Written one transaction per scan, those writes queued for
database slots (and, on SQLite, for the one writer's turn) in front of the checks that had to read the
database, and a citizen's answer behind them waited. Here a scan is put in a list, and one writer task per
worker keeps everything in the list in one statement, then whatever arrived meanwhile, until the list is empty.

A write begins at most once every ``SPACING_S``: the writer that finds the last write began less than that ago
waits out the rest before it takes the list. A lone scan after a quiet spell is therefore written at once (as
before), and a crowd's scans in at most ten transactions a second whatever their number. Without the spacing,
a write took about as long as the next scans took to arrive, so batches held one or two scans: with 20 badges
of 1,000 suspended under 4,600 scans a second (bench/verify's badges after its changes), the worker threads
took 15% of a core, from the interpreter lock the citizens' checks run under; spaced, 7%, and the same
service answered 5,300-5,600 checks a second instead of 4,600.

The writer is a task of its own, not the request whose scan found no writer at work: that request used to stay
the writer for as long as dead scans kept coming, which under a steady stream is as long as the stream: with 20
of 1,000 badges suspended under bench/verify's crowd, scans answered at once were counted in the service's
figures at up to 3.8 s, and a badge-number lookup or a photo of a dead badge, which keep the alert before they
answer, waited as long. ``keep`` now waits only for the write that holds
its own scan: at most the spacing's rest and one write. ``drain`` writes what is left when the worker stops.

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
        self._written: asyncio.Future[None] | None = None  # done when the scans now waiting are written
        self._writer: asyncio.Task[None] | None = None
        self.kept = 0
        self.lost = 0
        self._spacing_s = spacing_s
        self._began = float("-inf")  # when the last write began (time.monotonic)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    async def keep(self, scan: DeadScan) -> None:
        """Keep ``scan``: return once the write that holds it is done (or has failed: the service's log says
        so), however many scans keep arriving meanwhile."""
        if len(self._waiting) >= MAX_WAITING:
            self.lost += 1
            _log.warning("dead badge scan not kept: too many waiting", waiting=len(self._waiting),
                         credential_id=str(scan.check.credential_id), channel=scan.channel)
            return
        loop = asyncio.get_running_loop()
        # A test client's loop that closed leaves its writer and future behind: this loop makes its own.
        if self._written is None or self._written.get_loop() is not loop:
            self._written = loop.create_future()
        written = self._written
        self._waiting.append(scan)
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = loop.create_task(self._write_all())
        await asyncio.shield(written)  # a caller cancelled leaves its scan to the writer

    async def drain(self) -> None:
        """Wait for the writer at work, if any, to write what is waiting (the worker is stopping)."""
        writer = self._writer
        if writer is not None and not writer.done() and writer.get_loop() is asyncio.get_running_loop():
            await asyncio.shield(writer)

    async def _write_all(self) -> None:
        while self._waiting:
            rest = self._began + self._spacing_s - time.monotonic()
            if rest > 0:
                await asyncio.sleep(rest)
            self._began = time.monotonic()
            batch, self._waiting = self._waiting, []
            written, self._written = self._written, None
            try:
                await self._write(batch)
            finally:
                if written is not None and not written.done():
                    written.set_result(None)

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
