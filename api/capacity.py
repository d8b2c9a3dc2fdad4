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
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

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


T = TypeVar("T")
R = TypeVar("R")


class Batches(Generic[T, R]):
    """Work taken a batch at a time, at most ``size`` batches at once: what arrives while they run waits here
    (an asyncio wait, holding nothing) and goes together in the next batch, up to ``most`` items. Each item is
    answered with its own result. An item no batch has taken within ``wait_s`` raises ``ServiceBusy``; one that
    a batch has taken is always waited for, since its work may be done already."""

    def __init__(self, size: int, wait_s: float, most: int = 32) -> None:
        self.size = size
        self.wait_s = wait_s
        self.most = most
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[_Item[T, R]] = []
        self._running = 0
        self._batches: set[asyncio.Task[None]] = set()

    async def run(self, item: T, work: Callable[[list[T]], Awaitable[list[R]]]) -> R:
        """``item``'s result from ``work``, which takes a batch of items and answers each, in order; an
        exception from ``work`` is raised for every item of its batch."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # made on first use in the serving loop (a test client's app has its own)
            self._loop, self._waiting, self._running = loop, [], 0
        entry = _Item[T, R](item, loop.create_future())
        self._waiting.append(entry)
        self._start(work)
        try:
            return await asyncio.wait_for(asyncio.shield(entry.result), self.wait_s)
        except TimeoutError:
            if entry.taken:
                return await entry.result
            self._waiting.remove(entry)
            raise ServiceBusy(max(1, round(self.wait_s))) from None
        except asyncio.CancelledError:  # nobody waits for it any more: not begun, it is not done at all
            if not entry.taken:
                self._waiting.remove(entry)
            raise

    def _start(self, work: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        while self._running < self.size and self._waiting:
            batch, self._waiting = self._waiting[:self.most], self._waiting[self.most:]
            for entry in batch:
                entry.taken = True
            self._running += 1
            task = asyncio.ensure_future(self._one(batch, work))
            self._batches.add(task)  # held until done: the loop keeps only weak references to tasks
            task.add_done_callback(self._batches.discard)

    async def _one(self, batch: list["_Item[T, R]"], work: Callable[[list[T]], Awaitable[list[R]]]) -> None:
        try:
            results = await work([entry.item for entry in batch])
        except Exception as exc:  # every item of the batch is answered with it
            for entry in batch:
                if not entry.result.done():
                    entry.result.set_exception(exc)
        else:
            for entry, result in zip(batch, results, strict=True):
                if not entry.result.done():
                    entry.result.set_result(result)
        finally:
            self._running -= 1
            self._start(work)


@dataclass(eq=False)
class _Item(Generic[T, R]):
    item: T
    result: asyncio.Future[R]
    taken: bool = False
