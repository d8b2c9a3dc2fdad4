"""A crowd of 100, 300 and 1,000 simultaneous clients against one worker, beside a bare endpoint.

    python -m bench.crowd [--sizes 100,300,1000] [--waves 3] [--backend postgresql|sqlite] [--badges 300]

One ``auxduty serve`` worker on a fresh database (Redis for rate limits and lockouts, production Argon2 unless
--light-hashes) meets waves of simultaneous clients (bench/crowd/mix.py: badge checks over every badge while
some are suspended and reinstated, badge-number lookups and a scraper, logins right and wrong, task writes
with phone-made ids, sync batches, lists), each client on a connection of its own, all released at once.
bench/verify/bare.py, under one uvicorn worker, meets a crowd of the same size in the same run, wave for wave.
After every wave the task writes are counted back through the API (bench/crowd/check.py).

Exits 1 when any answer was a 5xx other than a 503 with problem+json and Retry-After, when any client got no
answer, when a kind of request got a status it may not give, or when a check after a wave failed.
"""

import argparse
import os
import random
import re
import secrets
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bench.crowd import check
from bench.crowd.fire import Answer, fire
from bench.crowd.mix import Crowd, Ledger, bare_wave
from bench.crowd.seed import JUSTICE, PASSWORD, seed
from bench.crowd.serve import DATABASE, cli, running_bare, running_service, service_env
from bench.databases import drop_database, fresh_database

BANDS = ("2xx", "4xx", "429", "503", "5xx", "none")


def band(a: Answer) -> str:
    if a.status == 0:
        return "none"
    if a.status in (429, 503):
        return str(a.status)
    return f"{a.status // 100}xx"


@dataclass
class Tally:
    answers: list[Answer] = field(default_factory=list)
    walls: list[float] = field(default_factory=list)

    def row(self, name: str, size: int) -> str:
        bands = Counter(band(a) for a in self.answers)
        n = len(self.answers)
        ms = sorted(a.ms for a in self.answers)
        shares = "".join(f"{100 * bands[b] / n:>7.1f}" for b in BANDS)
        return (f"{name:<22}{size:>7}{n:>7}{shares}{ms[len(ms) // 2]:>9.0f}{ms[min(n - 1, int(0.99 * n))]:>9.0f}"
                f"{statistics.mean(self.walls):>8.2f}{max(self.walls):>8.2f}")


HEADER = (f"{'endpoint':<22}{'clients':>7}{'reqs':>7}" + "".join(f"{b + ' %':>7}" for b in BANDS)
          + f"{'p50 ms':>9}{'p99 ms':>9}{'wall s':>8}{'max s':>8}")


def _kinds(calls_answers: list[tuple[str, Answer]]) -> list[str]:
    lines = [f"{'kind':<14}{'reqs':>6}" + "".join(f"{b:>6}" for b in BANDS) + f"{'p50 ms':>9}{'p99 ms':>9}"]
    for kind in sorted({k for k, _ in calls_answers}):
        mine = [a for k, a in calls_answers if k == kind]
        bands = Counter(band(a) for a in mine)
        ms = sorted(a.ms for a in mine)
        lines.append(f"{kind:<14}{len(mine):>6}" + "".join(f"{bands[b]:>6}" for b in BANDS)
                     + f"{ms[len(ms) // 2]:>9.0f}{ms[min(len(ms) - 1, int(0.99 * len(ms)))]:>9.0f}")
    return lines


def run(args: argparse.Namespace, tmp: Path) -> int:
    rng = random.Random(args.seed)
    env = service_env(fresh_database(args.backend, DATABASE, tmp), tmp / "data", redis_url=args.redis,
                      light_hashes=args.light_hashes)
    cli(env, "create-admin", "--username", JUSTICE, "--password", PASSWORD)
    sizes = [int(s) for s in args.sizes.split(",")]
    tallies = {(name, size): Tally() for size in sizes for name in ("service", "bare")}
    by_kind: dict[int, list[tuple[str, Answer]]] = {size: [] for size in sizes}
    found: Counter[str] = Counter()
    problems: list[str] = []
    with running_service(env, tmp / "serve.log") as base, running_bare(tmp / "bare.log") as bare:
        world = seed(base, badges=args.badges, tag=secrets.token_hex(3))
        print(f"seeded {len(world.badges)} badges through the API; {len(world.writers)} phones on duty", flush=True)
        ledger = Ledger()
        crowd = Crowd(world, ledger, rng)
        token = world.badges[-1].token
        for size in sizes:
            for wave in range(1, args.waves + 1):
                calls = crowd.wave(size)
                answers, wall = fire(base, calls, timeout=args.timeout)
                tallies[("service", size)].answers += answers
                tallies[("service", size)].walls.append(wall)
                by_kind[size] += [(c.kind, a) for c, a in zip(calls, answers, strict=True)]
                found += check.findings(calls, answers)
                check.record(ledger, calls, answers)
                changed, wrong = check.badge_changes(base, calls, answers, rng)
                wrong += check.exactly_once(base, world, ledger, rng)
                after_ms, stalled = check.answers_at_once(base)
                problems += [f"{size}#{wave}: {p}" for p in wrong + stalled]
                bare_calls = bare_wave(token, size)
                bare_answers, bare_wall = fire(bare, bare_calls, timeout=args.timeout)
                tallies[("bare", size)].answers += bare_answers
                tallies[("bare", size)].walls.append(bare_wall)
                found += check.findings(bare_calls, bare_answers)
                print(f"  {size:>5} clients, wave {wave}: {wall:5.2f} s (bare {bare_wall:4.2f} s); "
                      f"{len(ledger.accepted)} task ids accepted so far, each stored once: {not wrong}; "
                      f"{changed} badge changes seen on the next scan; next request after the wave {after_ms:.0f} ms",
                      flush=True)
    log = (tmp / "serve.log").read_text(errors="replace")
    tracebacks = log.count("Traceback")
    # A 5xx answer is logged at error level by the request log; count only what else went wrong.
    errors = sum(1 for line in log.splitlines() if re.search(r'"level": ?"(?:error|critical)"', line)
                 and '"logger": "auxduty.request"' not in line)
    drop_database(args.backend, DATABASE)

    print(f"\none auxduty worker ({args.backend}{', Redis' if args.redis else ''}, "
          f"{'light' if args.light_hashes else 'production'} Argon2) and one bare uvicorn worker, "
          f"{args.waves} waves per size, on {os.cpu_count()} cores shared with the client")
    print(HEADER)
    for size in sizes:
        print(tallies[("service", size)].row(f"auxduty ({args.backend})", size))
        print(tallies[("bare", size)].row("bare endpoint (def)", size))
    print("p50/p99: from the release of the wave to each answer; wall: release to last answer, mean and max per wave")
    print(f"\nby kind of request, auxduty, {sizes[-1]} clients ({args.waves} waves):")
    print("\n".join(_kinds(by_kind[sizes[-1]])))
    print(f"\ntask ids accepted {len(ledger.accepted)}, refused {len(ledger.refused)}, "
          f"unanswered {len(ledger.unanswered)}; service log: {tracebacks} tracebacks, {errors} other error lines")
    for what, n in sorted(found.items()):
        print(f"FINDING {n} x {what}")
    for p in problems:
        print(f"FAILED CHECK {p}")
    return 1 if found or problems or tracebacks else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--badges", type=int, default=300, help="auxiliaries hired, trained and badged first")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3", help="'' for none (in-process limits)")
    parser.add_argument("--light-hashes", action="store_true", help="Argon2 at test cost (faster seeding)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a client waits for its answer")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="auxduty-crowd-") as tmp:
        sys.exit(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
