"""Admission to the database, so a crowd queues in the event loop instead of starving the pool.

FastAPI runs a request's sync dependencies and its sync endpoint as separate trips to the thread pool. A
request that has checked out a connection (its session began in one trip) then waits for a thread for the
next trip. With more requests than connections, threads that wait for a connection can hold every thread
while the requests that hold the connections wait for a thread: nobody moves until the pool times out.

The cure is an order: a request takes a *database slot* (an asyncio wait, holding nothing) before it may
open a session, and there are never more slots than connections in the pool, nor more than the threads
left for them. A request holding a connection therefore always finds a connection was free for it and a
thread to continue on. A request that cannot get a slot within ``db_queue_seconds`` is answered 503
``service_busy`` with ``Retry-After``: a crowd is told to come back, it is never left hanging.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from api.domain.errors import DomainError

# Threads beyond the database slots, for work that holds no connection (Redis, uploads, rendering).
SPARE_THREADS = 16


class ServiceBusy(DomainError):
    status = 503

    def __init__(self, retry_after: int, what_zh: str = "服务繁忙", what_en: str = "the service is busy") -> None:
        super().__init__("service_busy", f"{what_zh}，请{retry_after}秒后重试", f"{what_en}; retry in {retry_after} s")
        self.retry_after = retry_after


class DatabaseSlots:
    """At most ``size`` requests hold a database session at once; the rest wait here, up to ``wait_s``."""

    def __init__(self, size: int, wait_s: float) -> None:
        self.size = size
        self.wait_s = wait_s
        self._sem: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.waiting = 0
        self.in_use = 0

    def _semaphore(self) -> asyncio.Semaphore:
        # Made on first use in the serving loop (a test client runs each app in a loop of its own).
        loop = asyncio.get_running_loop()
        if self._sem is None or self._loop is not loop:
            self._sem, self._loop = asyncio.Semaphore(self.size), loop
        return self._sem

    def free(self) -> bool:
        """Whether ``hold`` would take a slot at once, with nobody waiting before it."""
        return not self._semaphore().locked()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        sem = self._semaphore()
        self.waiting += 1
        try:
            async with asyncio.timeout(self.wait_s):
                await sem.acquire()
        except TimeoutError:
            raise ServiceBusy(max(1, round(self.wait_s))) from None
        finally:
            self.waiting -= 1
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            sem.release()
