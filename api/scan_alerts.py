"""Scans of dead badges kept as alerts by one writer at a time per worker, many scans to a transaction.

A scan of a suspended, revoked, superseded or expired badge is kept for the agency (第二十四条、第二十七条), and
a dead badge shown around town is scanned often. Written one transaction per scan, those writes queued for
database slots (and, on SQLite, for the one writer's turn) in front of the checks that had to read the
database, and a citizen's answer behind them waited. Here a scan is put in a list; whoever finds no writer at
work becomes the writer and keeps everything in the list in one statement, then whatever arrived meanwhile,
until the list is empty. A lone scan is therefore written at once (as before), and a crowd's scans are
written in a few transactions a second whatever their number.

The scans waiting in the list are lost if the process dies before they are written, as a scan kept after its
answer always could be (the citizen's answer never waits for the write). Beyond ``MAX_WAITING`` scans waiting
(the database has been away for a while), more are counted as lost and logged, so memory stays bounded.
"""

import asyncio

import structlog
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.capacity import DatabaseSlots
from api.db import session_scope
from api.domain.staff.badge_status import DeadScan, record_dead_scans

MAX_WAITING = 10_000

_log = structlog.get_logger("auxduty.scan_alerts")


class ScanAlerts:
    """The dead-badge scans of one worker, waiting to be kept."""

    def __init__(self, sessions: sessionmaker[Session], slots: DatabaseSlots) -> None:
        self._sessions = sessions
        self._slots = slots
        self._waiting: list[DeadScan] = []
        self._writer: asyncio.AbstractEventLoop | None = None  # the loop whose task is writing, if one is
        self.kept = 0
        self.lost = 0

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
