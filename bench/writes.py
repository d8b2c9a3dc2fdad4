"""Task writes and offline sync under load, beside a bare endpoint measured in the same run.

    python -m bench.writes [--backend sqlite|postgresql|both] [--duration 10] [--connections 8]
                           [--batch 500] [--sync-clients 2] [--before REV]

One ``auxduty serve`` worker per database, on a fresh database, with a bureau, a district, its admin and
auxiliaries hired, trained and badged through the API (bench/crowd/seed.py; 24 of them write). wrk (2
threads, ``--connections``) then POSTs ``/api/tasks``: every request a new record with an id never sent
before (made by the Lua script), from the auxiliaries in turn. Then ``--sync-clients`` phones at once send
``/api/sync`` batches of ``--batch`` new records for ``--duration`` seconds; the figure is records stored per
second. The bare FastAPI endpoint (bench/verify/bare.py, ``async def``, one uvicorn worker) runs beside the
services and is measured with wrk again right before each service's tasks: each row shows its ratio to the bare
run just above it. ``--before REV`` also measures the service as it was at commit REV (a git worktree), running
beside this checkout's and seeded before either is measured: the two services' tasks are measured one after the
other, then their syncs in the other order, so that both meet the machine within seconds of each other.

A task answered other than 201, or a sync record other than ``created``, fails the bench (exit 1).
"""

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2

from bench import wrk
from bench.crowd.seed import FORGETFUL, TOGGLED, WRITERS, seed
from bench.crowd.serve import SERVICE_HTTP, fresh_service
from bench.verify.run import side_by_side

DATABASE = "auxduty_writes_bench"
SEEDED = WRITERS + TOGGLED + FORGETFUL + 20  # the fewest bench/crowd/seed.py makes; its WRITERS are the phones

# Each request: a new task from the next auxiliary in turn (one access token a line of the file named by the
# first argument), its id made of this run's prefix (second argument), the wrk thread and a counter, so no id
# is ever sent twice, in this run or another. The body's other fields are the third argument, with %s for the id.
NEW_TASK = """
local tokens = {}
local prefix, body, counter = "", "", 0
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_no", threads)  -- a global of that thread's own Lua state
end
init = function(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = "Bearer " .. line end
  prefix, body = args[2], args[3]
end
request = function()
  counter = counter + 1
  local id = string.format("%s-%04x-4%03x-8%03x-%012x", prefix, thread_no, math.random(0, 4095),
                           math.random(0, 4095), counter)
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = tokens[counter % #tokens + 1]}
  return wrk.format("POST", "/api/tasks", headers, string.format(body, id))
end
"""


def _task_fields(i: int, after: datetime) -> dict[str, object]:
    """A patrol record inside the seeded auxiliaries' zone, begun ``after`` their badges were issued, as a day's
    work is, so the service answers its credential check without reading the credential's history."""
    start = after + timedelta(milliseconds=i % 1000)
    lat, lon = 32.041, 118.781  # the middle of bench/crowd/seed.py's XINJIEKOU, the writers' zone
    return {"category": "patrol", "description": f"新街口商圈巡查，劝阻占道经营（{i}）",
            "started_at": start.isoformat(), "ended_at": (start + timedelta(seconds=1)).isoformat(),
            "lat": lat, "lon": lon}


@dataclass(frozen=True)
class SyncFigures:
    records_per_s: float
    batches: int
    p50_ms: float
    p99_ms: float
    wrong: int


def _sync(base: str, writers: list[dict[str, str]], *, clients: int, batch: int, duration: float,
          after: datetime) -> SyncFigures:
    """``clients`` phones, each its own auxiliary, sending batches of new records back to back."""
    latencies: list[float] = []
    stored = [0]
    wrong = [0]
    lock = threading.Lock()
    # The bodies are made before the clock starts: the client's JSON is not what is measured. Enough for
    # 10,000 records/s per phone.
    per_client = max(2, int(duration * 10_000 / batch))
    fields = [_task_fields(i, after) for i in range(batch)]
    bodies = [[json.dumps({"tasks": [{"id": str(uuid.uuid4()), **f} for f in fields]}) for _ in range(per_client)]
              for _ in range(clients)]

    def phone(k: int) -> None:
        headers = {**writers[k % len(writers)], "Content-Type": "application/json"}
        with httpx2.Client(base_url=base, timeout=120) as c:
            for body in bodies[k]:
                if time.monotonic() >= end:
                    return
                t0 = time.monotonic()
                r = c.post("/api/sync", content=body, headers=headers)
                ms = (time.monotonic() - t0) * 1000
                created = sum(t["result"] == "created" for t in r.json()["tasks"]) if r.status_code == 200 else 0
                with lock:
                    latencies.append(ms)
                    stored[0] += created
                    wrong[0] += batch - created

    threads = [threading.Thread(target=phone, args=(k,)) for k in range(clients)]
    started = time.monotonic()
    end = started + duration
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    ms = sorted(latencies) or [0.0]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    return SyncFigures(stored[0] / elapsed, len(latencies), statistics.median(ms), p99, wrong[0])


@dataclass
class Served:
    """One service under measurement, seeded, with its writers' tokens and the task script."""

    backend: str
    label: str
    base: str
    seeded_at: datetime
    writers: list[dict[str, str]]
    tokens: Path
    script: Path


@contextmanager
def serving(args: argparse.Namespace, backend: str, tmp: Path, source: Path | None, label: str) -> Iterator[Served]:
    """One service (this checkout, or ``source``) on a fresh database of its own, seeded, until the block ends."""
    with fresh_service(backend, tmp, DATABASE, source) as (base, key):
        world = seed(base, badges=SEEDED, tag=os.urandom(3).hex())
        writers = [headers for _, headers in world.writers]
        tokens = tmp / f"tokens-{key}.txt"
        tokens.write_text("\n".join(h["Authorization"].removeprefix("Bearer ") for h in writers) + "\n")
        yield Served(backend, label, base, datetime.now(UTC), writers, tokens,
                     wrk.write_script(tmp, "new_task.lua", NEW_TASK))


def measure_tasks(args: argparse.Namespace, served: Served, lines: list[str]) -> bool:
    bare = args.yardstick.measure()  # the machine as it is now: the ratio is to the bare run just before
    lines.append(wrk.row("bare endpoint (async def), just before", bare, bare))
    body = json.dumps({"id": "%s", **_task_fields(0, served.seeded_at)}, ensure_ascii=False)
    tasks = wrk.run(served.base + "/api/tasks", duration=args.duration, connections=args.connections,
                    script=served.script, script_args=(str(served.tokens), secrets.token_hex(4), body))
    lines.append(wrk.row(f"POST /api/tasks {served.backend} {served.label}", tasks, bare))
    return tasks.non2xx == 0 and tasks.errors == 0


def measure_sync(args: argparse.Namespace, served: Served, lines: list[str]) -> bool:
    sync = _sync(served.base, served.writers, clients=args.sync_clients, batch=args.batch, duration=args.duration,
                 after=served.seeded_at)
    lines.append(f"{f'/api/sync {served.backend} {served.label}':<44}{sync.records_per_s:>9,.0f} records/s in "
                 f"{sync.batches} batches of {args.batch}, {args.sync_clients} phones at once; per batch "
                 f"p50 {sync.p50_ms:,.0f} ms, p99 {sync.p99_ms:,.0f} ms; not created: {sync.wrong}")
    return sync.wrong == 0


def measure_backend(args: argparse.Namespace, backend: str, tmp: Path, lines: list[str]) -> bool:
    """This checkout's service, and with ``--before`` the one at that commit beside it, both running at once and
    seeded before either is measured; then the tasks of each, then the syncs of each, the later-measured one
    first, so neither always goes first and the two meet the same machine within seconds of each other."""
    with side_by_side(args.before, tmp, lambda source, label: serving(args, backend, tmp, source, label)) as services:
        for served in services:  # warm-up: pools, caches, the JIT of wrk
            body = json.dumps({"id": "%s", **_task_fields(0, served.seeded_at)}, ensure_ascii=False)
            wrk.run(served.base + "/api/tasks", duration=2, connections=args.connections, script=served.script,
                    script_args=(str(served.tokens), secrets.token_hex(4), body))
        ok = all([measure_tasks(args, served, lines) for served in services])
        return all([measure_sync(args, served, lines) for served in services[::-1]]) and ok


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", default="both", choices=["sqlite", "postgresql", "both"])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500, help="records per /api/sync batch")
    parser.add_argument("--sync-clients", type=int, default=2, help="phones sending batches at once")
    parser.add_argument("--before", default="", help="also measure the service as it was at this commit")
    args = parser.parse_args()
    wrk.need_wrk()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    lines: list[str] = []
    ok = True
    load_before = _load()
    with tempfile.TemporaryDirectory(prefix="auxduty-writes-") as tmp_name:
        tmp = Path(tmp_name)
        with wrk.yardstick(tmp, duration=args.duration, connections=args.connections, paths=100,
                           path_bytes=16) as args.yardstick:
            bare = args.yardstick.measure()
            lines.append(wrk.row("bare endpoint (async def)", bare, bare))
            # For reading the ratios: the same bare endpoint on the HTTP protocol the service runs
            # (api/http_protocol.py).
            lines.append(wrk.row("bare endpoint, the service's HTTP protocol", wrk.bare_figures(
                tmp, duration=args.duration, connections=args.connections, paths=100, path_bytes=16,
                http=SERVICE_HTTP), bare))
            for backend in backends:
                ok &= measure_backend(args, backend, tmp, lines)
    print(f"\nwrk -t2 -c{args.connections} -d{args.duration}s, one uvicorn worker each, {os.cpu_count()} cores shared "
          f"with wrk and the clients; {load_before} at the start, {_load()} at the end")
    print(wrk.HEADER)
    print("\n".join(lines))
    print("target: POST /api/tasks ratio ≥ 0.06 with p99 ≤ 50 ms on both databases; /api/sync ≥ 5,000 records/s "
          "on PostgreSQL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
