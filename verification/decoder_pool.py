"""The worker processes that decode citizens' photos: a crash, a hang or a leak costs one process, never the service.

A worker runs one photo at a time. One that dies, or overruns ``timeout_s``, is killed; the caller gets
``DecoderUnavailable`` (the gate in ``verification.photo`` answers it as 503 ``decoder_unavailable``) and the
next photo goes to a fresh worker. A worker is also retired once its photo's answer is in hand, after
``max_images`` photos or when its resident memory after a photo (VmRSS) is above ``max_rss_mib``: native
image libraries leave memory behind (fragmented heaps, caches), and only a fresh process surely gives it
back. Each photo ends with a full garbage collection in the worker, so a decoded image caught in a reference
cycle is freed at once rather than at Python's next (rare) full collection.
The replacement is started while the retiring caller still holds its slot, so the pool never has more than
``size`` workers and the next photo does not wait for a start-up.

Hand-written rather than ``concurrent.futures.ProcessPoolExecutor`` (``max_tasks_per_child`` but no way to
kill one stuck worker without breaking the whole pool) or pebble's ``ProcessPool`` (``max_tasks`` and
timeouts, but a new dependency and still no memory ceiling): neither retires a worker by its memory.
"""

import atexit
import gc
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from typing import Any

POOL_SIZE = 2
MAX_IMAGES_PER_WORKER = 200
"""A worker starts in a few milliseconds from the preloaded fork server; recycling this often costs nothing."""
MAX_RSS_MIB = 256
"""Measured: a worker is back to 30–50 MiB after an accepted photo (its peak while decoding a 40 MP one is
220–310 MiB), so one above 256 MiB after a photo is holding what it should not."""

Outcome = tuple[str, str | None]
"""("text", decoded text or None) or ("refused", a PhotoRejected code)."""
Task = Callable[[bytes, int], Outcome]
"""What a worker runs per photo: the photo's bytes and the pixel limit in, an outcome out."""

_log = logging.getLogger(__name__)


class DecoderUnavailable(Exception):
    """No answer for this photo: its worker crashed, timed out or could not start, or every worker stayed busy."""


def process_memory_mib(pid: int) -> tuple[float, float] | None:
    """A process's resident memory now and at its highest (VmRSS, VmHWM) in MiB; None without /proc."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError, IndexError):
        return None


def _serve(conn: Connection) -> None:
    """A worker's loop: one photo in, one outcome out, until the pipe closes."""
    while True:
        try:
            task, data, max_pixels = conn.recv()
        except (EOFError, OSError):
            return
        try:
            outcome = task(data, max_pixels)
        except Exception:  # a decoder bug must not kill the worker; the caller gets a 503
            outcome = ("refused", "decoder_unavailable")
        # ~5 ms; without it, images held in reference cycles added ~17 MiB per 12 MP photo until a full
        # collection came.
        del data
        gc.collect()
        conn.send(outcome)


class _WorkerLost(Exception):
    pass


class _Worker:
    def __init__(self, context: BaseContext) -> None:
        self._conn, child = context.Pipe()
        self._process: Any = context.Process(target=_serve, args=(child,), daemon=True)  # type: ignore[attr-defined]
        self._process.start()
        child.close()
        self.pid: int = self._process.pid
        self.images = 0

    def call(self, task: Task, data: bytes, max_pixels: int, timeout_s: float) -> Outcome:
        try:
            self._conn.send((task, data, max_pixels))
            if not self._conn.poll(timeout_s):
                raise _WorkerLost("timed out")
            outcome: Outcome = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise _WorkerLost("crashed") from exc
        return outcome

    def alive(self) -> bool:
        return bool(self._process.is_alive())

    def retire(self) -> None:
        """Let the worker exit by itself (it sees its pipe close) and reap it off the caller's thread."""
        self._conn.close()
        threading.Thread(target=self.stop, name=f"decoder-reaper-{self.pid}", daemon=True).start()

    def stop(self, *, kill: bool = False) -> None:
        self._conn.close()
        if kill:
            self._process.kill()
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


@dataclass
class PoolStats:
    """What a pool has done since it was made (tests and bench/decoder.py read it)."""

    images: int = 0
    retired_after_max_images: int = 0
    retired_over_max_rss: int = 0
    lost: int = 0
    high_water_mib: float = 0.0
    """The highest resident memory (VmHWM) any worker had reached when it answered a photo."""


class DecoderPool:
    """At most ``size`` worker processes, started on demand, each retired after ``max_images`` photos or
    when above ``max_rss_mib`` after one."""

    def __init__(
        self, size: int = POOL_SIZE, *, max_images: int = MAX_IMAGES_PER_WORKER, max_rss_mib: float = MAX_RSS_MIB
    ) -> None:
        if size < 1 or max_images < 1 or max_rss_mib <= 0:
            raise ValueError("size, max_images and max_rss_mib must be positive")
        methods = multiprocessing.get_all_start_methods()
        # Never plain fork: the service's threads and locks must not be copied into a worker.
        self._context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if "forkserver" in methods:
            self._context.set_forkserver_preload(["verification.photo", "verification.qr"])
        self.size = size
        self.max_images = max_images
        self.max_rss_mib = max_rss_mib
        self.stats = PoolStats()
        self._slots = threading.BoundedSemaphore(size)
        self._idle: queue.LifoQueue[_Worker] = queue.LifoQueue()
        self._live: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False

    def run(self, task: Task, data: bytes, max_pixels: int, timeout_s: float) -> Outcome:
        """``task(data, max_pixels)`` in a worker; raises ``DecoderUnavailable`` when no outcome came."""
        if self._closed or not self._slots.acquire(timeout=timeout_s):
            raise DecoderUnavailable("every decoder worker stayed busy")
        try:
            worker = self._idle_worker() or self._new_worker()
            try:
                outcome = worker.call(task, data, max_pixels, timeout_s)
            except _WorkerLost as lost:
                _log.warning("QR decoder worker %s; replacing it", lost)
                self._drop(worker, kill=True)
                with self._lock:
                    self.stats.lost += 1
                raise DecoderUnavailable(f"the decoder worker {lost}") from lost
            self._put_back(worker)
            return outcome
        finally:
            self._slots.release()

    def _put_back(self, worker: _Worker) -> None:
        """Back among the idle workers, unless it has done its share or grown too big: then it goes (its
        answer is already in hand) and a fresh one takes its place while this caller holds the slot."""
        worker.images += 1
        memory = process_memory_mib(worker.pid)
        rss, high_water = memory or (0.0, 0.0)
        over_rss = rss > self.max_rss_mib
        retiring = not self._closed and (over_rss or worker.images >= self.max_images)
        with self._lock:
            self.stats.images += 1
            self.stats.high_water_mib = max(self.stats.high_water_mib, high_water)
            if retiring and over_rss:
                self.stats.retired_over_max_rss += 1
            elif retiring:
                self.stats.retired_after_max_images += 1
        if self._closed:
            self._drop(worker)
        elif retiring:
            _log.info("QR decoder worker %d retired after %d photos at %.0f MiB", worker.pid, worker.images, rss)
            self._drop(worker, retire=True)
            with suppress(DecoderUnavailable):  # then the next photo starts one
                self._idle.put(self._new_worker())
        else:
            self._idle.put(worker)

    def _new_worker(self) -> _Worker:
        try:
            worker = _Worker(self._context)
        except OSError as exc:  # out of processes or memory: a 503 like a lost worker, never a 500
            _log.warning("QR decoder worker could not start: %s", exc)
            raise DecoderUnavailable("a decoder worker could not start") from exc
        with self._lock:
            self._live.add(worker)
        return worker

    def _drop(self, worker: _Worker, *, kill: bool = False, retire: bool = False) -> None:
        with self._lock:
            self._live.discard(worker)
        if retire:
            worker.retire()
        else:
            worker.stop(kill=kill)

    def _idle_worker(self) -> "_Worker | None":
        """An idle worker still alive; one that died idle (out of memory, say) is dropped, not used."""
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return None
            if worker.alive():
                return worker
            self._drop(worker, kill=True)

    def worker_pids(self) -> list[int]:
        """The process ids of the workers alive now, idle or busy."""
        with self._lock:
            return sorted(worker.pid for worker in self._live)

    def start(self) -> None:
        """Start idle workers now, so the first photos do not wait for process start-up."""
        for _ in range(self.size - self._idle.qsize()):
            self._idle.put(self._new_worker())

    def shutdown(self) -> None:
        """Stop the idle workers; a busy one finishes its photo, then stops."""
        self._closed = True
        while True:
            try:
                self._drop(self._idle.get_nowait())
            except queue.Empty:
                return


_pool: DecoderPool | None = None
_limits: tuple[int, int, float] = (POOL_SIZE, MAX_IMAGES_PER_WORKER, MAX_RSS_MIB)
_pool_lock = threading.Lock()


def configure_decoder_pool(
    *, workers: int = POOL_SIZE, max_images: int = MAX_IMAGES_PER_WORKER, max_rss_mib: float = MAX_RSS_MIB
) -> None:
    """Set the limits of the process-wide pool (call from the app's lifespan startup, before the first photo).

    A pool running under other limits is shut down; the next photo starts one under these.
    """
    global _pool, _limits
    if workers < 1 or max_images < 1 or max_rss_mib <= 0:
        raise ValueError("workers, max_images and max_rss_mib must be positive")
    with _pool_lock:
        limits, stale = (workers, max_images, max_rss_mib), None
        if limits != _limits:
            _limits, stale, _pool = limits, _pool, None
    if stale is not None:
        stale.shutdown()


def decoder_pool() -> DecoderPool:
    """The process-wide pool, created on first use so that importing this module stays cheap."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers, max_images, max_rss_mib = _limits
            _pool = DecoderPool(workers, max_images=max_images, max_rss_mib=max_rss_mib)
            atexit.register(shutdown_decoder_pool)
        return _pool


def start_decoder_pool() -> None:
    """Start the workers ahead of the first photo (call from the app's lifespan startup)."""
    decoder_pool().start()


def shutdown_decoder_pool() -> None:
    """Stop every idle worker; the next photo starts a new pool under the same limits. Safe to call twice."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown()
