"""Keeps the transparency log moving in every running service: waiting leaves get their place about every
``AUXDUTY_INTEGRATE_SECONDS``, and a signed checkpoint is made at least every ``AUXDUTY_CHECKPOINT_SECONDS``
while there are new leaves. Hosts of one service may all run it: one integrates at a time (the others skip
their turn), and two hosts signing the same tree keep one checkpoint.

The same thread erases complainants' phone numbers whose time is up (第十条(一)), about every
``AUXDUTY_PRIVACY_SWEEP_SECONDS``: each erasure is a leaf of the log, so it belongs with the log's upkeep; hosts
sweeping at once skip each other's rows (``SKIP LOCKED`` on PostgreSQL, the write lock on SQLite).
"""

import logging
import threading
import time

from api.context import AppContext
from api.domain.audit.checkpoints import make_checkpoint, publish
from api.domain.audit.tree import integrate, integrate_all, tree_size
from api.domain.base import utcnow
from api.domain.models import LogCheckpoint
from api.domain.privacy.phones import erase_closed_complainant_phones

log = logging.getLogger("auxduty.log")


SQLITE_BATCH = 64
"""Leaves integrated per transaction on SQLite, where a transaction holds the one writer's turn (api/db.py): the
writers queued behind it wait for a batch, not for a second's leaves at once. Under bench/writes a second's 440
leaves took 44-66 ms in one transaction, and ``POST /api/tasks`` waiting behind it set its p99. PostgreSQL's
writers do not wait on it: one transaction of up to ``tree.BATCH``."""


def integrate_now(ctx: AppContext) -> int:
    """Integrate every waiting leaf; the new tree size."""
    if ctx.engine.dialect.name != "sqlite":
        with ctx.sessions.begin() as session:
            return integrate_all(session)
    while True:
        with ctx.sessions.begin() as session:
            done = integrate(session, batch=SQLITE_BATCH)
            size = tree_size(session) if done is None else done.size
        if done is None or done.added < SQLITE_BATCH:
            return size


def checkpoint_now(ctx: AppContext) -> LogCheckpoint:
    """Integrate what waits, sign the tree, keep the checkpoint in the database, then outside it."""
    integrate_now(ctx)
    with ctx.sessions.begin() as session:
        checkpoint = make_checkpoint(session, ctx.log)
        session.expunge(checkpoint)
    publish(ctx.log, checkpoint)
    return checkpoint


def erase_phones_now(ctx: AppContext) -> int:
    """Erase every complainant's phone whose time is up, a batch per short transaction of its own."""
    erased = 0
    while True:
        with ctx.sessions.begin() as session:
            done = erase_closed_complainant_phones(session, now=utcnow(), days=ctx.settings.complainant_phone_days)
        erased += done
        if not done:
            return erased


class LogKeeper:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="auxduty-log", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        settings = self.ctx.settings
        every = min(s for s in (settings.integrate_seconds, settings.checkpoint_seconds,
                                settings.privacy_sweep_seconds) if s > 0)
        next_checkpoint = next_sweep = 0.0
        while not self.stopping.is_set():
            if settings.privacy_sweep_seconds and time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + settings.privacy_sweep_seconds
                try:
                    erased = erase_phones_now(self.ctx)
                    if erased:
                        log.info("complainants' phone numbers erased: %d", erased)
                except Exception:  # as for the log: try again next sweep
                    log.exception("privacy: erasing complainants' phone numbers failed")
            try:
                if settings.checkpoint_seconds and time.monotonic() >= next_checkpoint:
                    checkpoint_now(self.ctx)
                    next_checkpoint = time.monotonic() + settings.checkpoint_seconds
                elif settings.integrate_seconds:
                    integrate_now(self.ctx)
            except Exception:  # the database may be down for a moment: try again next turn
                log.exception("transparency log: integration or checkpoint failed")
            self.stopping.wait(every)

    @staticmethod
    def wanted(ctx: AppContext) -> bool:
        settings = ctx.settings
        return bool(settings.integrate_seconds or settings.checkpoint_seconds or settings.privacy_sweep_seconds)
