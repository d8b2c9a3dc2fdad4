"""Badge checks as a city makes them: many distinct badges, while an agency changes statuses, beside a bare endpoint.

    python -m bench.verify.run [--backend sqlite|postgresql|both] [--badges 1000] [--changes 20]
                               [--duration 10] [--connections 32] [--redis URL] [--before REV]
                               [--repeat 1]

One ``auxduty serve`` worker on a fresh database holds ``--badges`` auxiliaries, hired, trained and badged through
the API. wrk (2 threads, ``--connections``) asks ``GET /api/public/verify/{token}`` for a badge picked at random
among all of them at every request, while an agency admin suspends and reinstates 40 of them ``--changes`` times a
second through the API (a dead badge's scan is kept as an alert: those checks write). The bare FastAPI endpoint
(bench/verify/bare.py, one uvicorn worker) runs beside the services with the same random paths and is measured
again right before each run of a service: each service row is divided by the bare figures of the run just above it.

With ``--redis`` the service carries changes between workers through Redis, as a deployment of many hosts does;
without, through the data dir, as a laptop or a single host does. ``--before REV`` also measures the service as
it was at commit REV (a worktree of this repository), in the same run, on the same kind of seeded data: both
services run at once and take turns run by run, so that both meet the machine as it is within seconds (with
``--redis`` each also hears the other's changes, of badges it does not have). ``--repeat N`` makes N runs with
changes per service and prints their p99s and median: on a shared machine one run's p99 moves by several
milliseconds from one minute to the next.

Each run also prints how many ticks of the service's event-loop timer ran more than 10 ms late (from its /metrics):
a scan's p99 is mostly the loop being held up, by threads holding the interpreter lock, while it waits.

After each run every changed badge is checked once more: an answer that still shows the status before the last
change is a stale answer, and the bench exits 1.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx2

from bench import wrk
from bench.crowd.seed import Badge, World, seed
from bench.crowd.serve import SERVICE_HTTP, fresh_service

DATABASE = "auxduty_verify_bench"
PATH = "/api/public/verify/"


@dataclass
class Changer:
    """Suspends and reinstates the toggled badges at ``rate`` per second in all, through the API: ``THREADS``
    admins' browsers at once, each with its own badges, so a slow answer to one does not slow the others."""

    base: str
    world: World
    rate: float
    done: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    THREADS = 8

    def run(self, badges: list[Badge]) -> None:
        rate = self.rate / self.THREADS
        with httpx2.Client(base_url=self.base, timeout=30) as c:
            start, n = time.monotonic(), 0
            while not self._stop.is_set():
                badge = badges[n % len(badges)]
                verb = "reinstate" if badge.suspended else "suspend"
                t0 = time.monotonic()
                r = c.post(f"/api/auxiliaries/{badge.aux_id}/{verb}", headers=self.world.admin,
                           json={"reason": "基准测试：状态变更"})
                self.latencies.append((time.monotonic() - t0) * 1000)
                if r.status_code == 200:
                    badge.suspended = not badge.suspended
                    self.done += 1
                else:
                    self.failed += 1
                n += 1
                self._stop.wait(max(0.0, start + n / rate - time.monotonic()))

    @contextmanager
    def running(self) -> Iterator["Changer"]:
        if self.rate <= 0:
            yield self
            return
        toggled = self.world.toggled
        threads = [threading.Thread(target=self.run, args=(toggled[k::self.THREADS],), daemon=True)
                   for k in range(self.THREADS)]
        self._stop.clear()
        for t in threads:
            t.start()
        try:
            yield self
        finally:
            self._stop.set()
            for t in threads:
                t.join(30)


def remember_all(base: str, badges: list[Badge]) -> None:
    """Ask every badge once (eight at a time), so that the runs measure a city whose badges are scanned all
    day, not the first reads after a start: a 2 s warm-up with wrk left a third of 1,000 badges unread on a
    slow machine, and their first reads fell inside the measured run."""
    def ask(part: list[Badge]) -> None:
        with httpx2.Client(base_url=base, timeout=30) as c:
            for b in part:
                c.get(PATH + b.token).raise_for_status()

    threads = [threading.Thread(target=ask, args=(badges[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def answer_counts(text: str) -> dict[str, float]:
    """The service's remembered answers by outcome, from its /metrics ``text``; empty where it does not count them."""
    prefix = 'auxduty_badge_answers_total{outcome="'
    return {line[len(prefix):].split('"', 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines() if line.startswith(prefix)}


LATE_S = "0.01"
"""A tick of the service's event-loop timer (api/event_loop.py, every 0.1 s) later than this is counted late."""


def loop_ticks(text: str) -> tuple[float, float]:
    """(ticks, ticks more than ``LATE_S`` late) of the service's event-loop timer so far, from its /metrics
    ``text``; (0, 0) where the service does not measure it. Every request waiting on the loop then waited too,
    so the share of late ticks estimates (a sample every 0.1 s) how much of the run the loop was held up that long."""
    name = "auxduty_event_loop_lag_seconds"
    values = {line.split(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
              if line.startswith(name)}
    ticks = values.get(f"{name}_count", 0.0)
    return ticks, ticks - values.get(f'{name}_bucket{{le="{LATE_S}"}}', ticks)


def metrics_text(base: str) -> str:
    return httpx2.get(base + "/metrics", timeout=30).text


def stale_answers(base: str, badges: list[Badge]) -> list[str]:
    wrong = []
    with httpx2.Client(base_url=base, timeout=30) as c:
        for b in badges:
            status = c.get(PATH + b.token).json()["status"]
            if status != ("suspended" if b.suspended else "valid"):
                wrong.append(f"{b.badge_no}: {status}, expected {'suspended' if b.suspended else 'valid'}")
    return wrong


@contextmanager
def before_checkout(rev: str, tmp: Path) -> Iterator[Path]:
    where = tmp / "before"
    subprocess.run(["git", "worktree", "add", "--detach", str(where), rev], check=True, capture_output=True)
    try:
        yield where
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(where)], check=False, capture_output=True)


T = TypeVar("T")


@contextmanager
def side_by_side(before: str, tmp: Path, serve: Callable[[Path | None, str], AbstractContextManager[T]]
                 ) -> Iterator[list[T]]:
    """``serve(None, "now")`` for this checkout, and with ``before`` also ``serve(source, label)`` for that commit
    (a worktree), all running at once until the block ends."""
    with ExitStack() as stack:
        services = [stack.enter_context(serve(None, "now"))]
        if before:
            source = stack.enter_context(before_checkout(before, tmp))
            services.append(stack.enter_context(serve(source, f"at {before[:10]}")))
        yield services


@dataclass
class Served:
    """One service under measurement, seeded and warmed, and what its runs with changes gave."""

    backend: str
    label: str
    base: str
    world: World
    tokens: Path
    script: Path
    p99s: list[float] = field(default_factory=list)
    ok: bool = True


@contextmanager
def serving(args: argparse.Namespace, backend: str, tmp: Path, source: Path | None, label: str) -> Iterator[Served]:
    """One service (this checkout, or ``source``) on a fresh database of its own, its badges seeded, until the
    block ends."""
    with fresh_service(backend, tmp, DATABASE, source, redis_url=args.redis, metrics=True) as (base, key):
        world = seed(base, badges=args.badges, tag=os.urandom(3).hex())
        tokens = tmp / f"tokens-{key}.txt"
        tokens.write_text("\n".join(b.token for b in world.badges) + "\n")
        yield Served(backend, label, base, world, tokens, wrk.write_script(tmp, "pick.lua", wrk.PICK_LINE))


def warm(args: argparse.Namespace, served: Served) -> None:
    """2 s of wrk before the clock starts: pools, caches, the JIT of wrk (each run then asks every badge once)."""
    wrk.run(served.base + PATH, duration=2, connections=args.connections, script=served.script,
            script_args=(str(served.tokens), PATH))


def measure(args: argparse.Namespace, served: Served, changes: float, lines: list[str]) -> None:
    """One run of wrk against ``served`` while ``changes`` statuses change a second; its rows in ``lines``."""
    base, world = served.base, served.world
    bare = args.yardstick.measure()  # the machine as it is now: each ratio is to the bare run just before
    lines.append(wrk.row("bare endpoint (async def), just before", bare, bare))
    # Every badge asked once before the clock starts: a city's are scanned all day, but this service heard nothing
    # while it was seeded or the other runs went on, and the answers that ran out meanwhile would all be read
    # again at the start of this run.
    remember_all(base, world.badges)
    text_before = metrics_text(base)
    counted, ticked = answer_counts(text_before), loop_ticks(text_before)
    with Changer(base, world, changes).running() as changer:
        figures = wrk.run(base + PATH, duration=args.duration, connections=args.connections, script=served.script,
                          script_args=(str(served.tokens), PATH))
    text_after = metrics_text(base)
    after, ticks_after = answer_counts(text_after), loop_ticks(text_after)
    again = after.get("read_again", 0) - counted.get("read_again", 0)
    reads = after.get("stored", 0) - counted.get("stored", 0) - again
    stale = stale_answers(base, world.toggled)
    served.ok = served.ok and not stale and changer.failed == 0
    lines.append(wrk.row(f"verify {served.backend} {served.label}, {changes:g} changes/s", figures, bare))
    if counted:
        lines.append(f"    {reads:.0f} answers read from the database by scans "
                     f"({reads / args.duration:.1f}/s), {again:.0f} read again in batches before they ran out")
    ticks, late = ticks_after[0] - ticked[0], ticks_after[1] - ticked[1]
    if ticks:
        lines.append(f"    event loop: {late:.0f} of {ticks:.0f} timer ticks ran more than "
                     f"{float(LATE_S) * 1000:g} ms late ({late / ticks:.0%})")
    if changes:
        served.p99s.append(figures.p99_ms)
        ms = sorted(changer.latencies) or [0.0]
        lines.append(f"    {changer.done} changes made ({changer.done / args.duration:.1f}/s, "
                     f"{changer.failed} refused, p50 {ms[len(ms) // 2]:.0f} ms); "
                     f"stale answers after: {len(stale)} {stale[:3]}")


def measure_backend(args: argparse.Namespace, backend: str, tmp: Path, lines: list[str]) -> bool:
    """This checkout's service, and with ``--before`` the one at that commit beside it, both running at once:
    their runs take turns (each goes first every other time), so the two meet the same machine within seconds
    of each other. Idle, a service only listens."""
    with side_by_side(args.before, tmp, lambda source, label: serving(args, backend, tmp, source, label)) as services:
        for served in services:
            warm(args, served)
        for k, changes in enumerate([0.0] + [args.changes] * (args.repeat if args.changes else 0)):
            for served in services if k % 2 == 0 else services[::-1]:  # neither always goes first
                measure(args, served, changes, lines)
    for served in services:
        if len(served.p99s) > 1:
            lines.append(f"    p99 of {backend} {served.label} at {args.changes:g} changes/s over {len(served.p99s)} "
                         f"runs: {', '.join(f'{v:.1f}' for v in served.p99s)} ms "
                         f"(median {statistics.median(served.p99s):.1f})")
    return all(served.ok for served in services)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--badges", type=int, default=1000)
    parser.add_argument("--changes", type=float, default=20.0, help="status changes per second during the run")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--redis", default="", help="e.g. redis://127.0.0.1:6379/3; '' for none")
    parser.add_argument("--before", default="", help="also measure the service as it was at this commit")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs with changes per service, one after another (this machine's p99 drifts)")
    args = parser.parse_args()
    wrk.need_wrk()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    lines: list[str] = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="auxduty-verify-") as tmp_name:
        tmp = Path(tmp_name)
        with wrk.yardstick(tmp, duration=args.duration, connections=args.connections, paths=args.badges,
                           path_bytes=40) as args.yardstick:
            bare = args.yardstick.measure()
            lines.append(wrk.row("bare endpoint (async def)", bare, bare))
            # For reading the ratios: the same bare endpoint on the HTTP protocol the service runs (one write per
            # connection per turn of the loop, api/http_protocol.py); its ratio is to the yardstick just before it.
            lines.append(wrk.row("bare endpoint, the service's HTTP protocol", wrk.bare_figures(
                tmp, duration=args.duration, connections=args.connections, paths=args.badges, path_bytes=40,
                http=SERVICE_HTTP), bare))
            for backend in backends:
                ok &= measure_backend(args, backend, tmp, lines)
    print(f"\nwrk -t2 -c{args.connections} -d{args.duration}s over {args.badges} distinct badges, one uvicorn worker "
          f"each, {os.cpu_count()} cores shared with wrk; changes through "
          f"{'Redis' if args.redis else 'the data dir (no Redis)'}")
    print(wrk.HEADER)
    print("\n".join(lines))
    print("target: ratio ≥ 0.5 and p99 ≤ 20 ms at 20 changes/s, on both databases (ratio: req/s over the bare's)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
