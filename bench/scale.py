"""A city's scale on PostgreSQL: 300 agencies, 100,000 auxiliaries, 10 million tasks with their co-signatures,
and every row's leaves in the transparency log, loaded with COPY (bench/scale_fill.py); then the reads that
must stay fast, through the service's own code, beside a bare endpoint and ``SELECT 1`` measured in the same
run, each with the plan PostgreSQL ran it by:

* an agency's December roster of 5,000 staff with its usage of the year (GET /api/reports/roster), < 1 s;
* the city's metrics, every agency (GET /api/reports/metrics as the justice bureau), < 2 s;
* an officer's pending list (GET /api/tasks?status=pending_cosign), < 20 ms;
* a cold badge check by number (``check_badge_no`` in a fresh session, each badge once), < 5 ms;
* the incremental log check after a day's tasks (``verify_log``'s incremental pass), its time and rows/s.

The database is migrated with Alembic (``upgrade_to_head``), filled, vacuumed and analysed, and dropped at the
end unless ``--keep``. The defaults are the full city (about half an hour and 20 GB on two cores);
``--tasks 100000 --auxiliaries 10000 --agencies 30`` is a run of a minute or two.

    python -m bench.scale [--agencies 300] [--auxiliaries 100000] [--tasks 10000000] [--workers 2] [--keep]
"""

import argparse
import logging
import multiprocessing
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text

from api.context import AppContext
from api.db import make_engine
from api.domain.audit import check
from api.domain.audit import log as audit
from api.domain.audit.verified import Verified, load_verified, save_verified
from api.domain.base import BEIJING, utcnow
from api.domain.models import Auxiliary, Officer, Task, TaskStatus, User
from api.domain.organisation.accounts import HashCost, hash_password
from api.domain.staff.badge_status import check_badge_no
from api.log_keeper import checkpoint_now
from api.main import create_app
from api.migrations import upgrade_to_head
from api.settings import Settings
from bench.databases import drop_database, fresh_database
from bench.plans import caught, explain
from bench.scale_fill import CHUNK, Staff, Tree, chunk_first_leaf, load_chunk, start_worker, task_values
from bench.scale_indexes import BULK, indexes_built_after
from bench.scale_staff import PASSWORD, fill_staff

DB = "auxduty_scale"
DSN = f"host=127.0.0.1 port=5432 user=postgres dbname={DB}"
SECRET = "scale-bench-secret-" + "s" * 40


def _settings(data: Path, url: str) -> Settings:
    return Settings(data_dir=data, database_url=url, secret_key=SECRET, public_base_url="https://verify.example.gov.cn",
                    argon2_time_cost=1, argon2_memory_kib=1024)


def fill(ctx: AppContext, args: argparse.Namespace) -> dict[str, Any]:
    now = utcnow()
    started = time.perf_counter()
    password_hash = hash_password(PASSWORD, HashCost(1, 1024))
    with psycopg.connect(DSN) as conn, indexes_built_after(conn):
        staff, people, leaves = fill_staff(conn, ctx.leaf_key, args.agencies, args.auxiliaries, password_hash, now)
        tree = Tree()
        tree.grow(conn, bytes(leaves.hashes))
        conn.commit()
        records = leaves.records
        staff_leaves, staff_s = len(leaves.rows), time.perf_counter() - started
        print(f"staff: {staff_leaves:,} rows and leaves in {staff_s:.1f} s", flush=True)
        chunks = -(-args.tasks // CHUNK)
        tasks = cosignatures = 0
        making_s = storing_s = tree_s = 0.0
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(args.workers, initializer=start_worker,
                        initargs=(DSN, ctx.leaf_key, staff, staff_leaves, args.tasks, now)) as pool:
            for c in pool.imap(load_chunk, range(chunks)):
                if tree.range.size != chunk_first_leaf(staff_leaves, c.number):
                    raise SystemExit(f"chunk {c.number} starts at leaf {chunk_first_leaf(staff_leaves, c.number)}, "
                                     f"the tree has {tree.range.size}")
                grown = time.process_time()
                tree.grow(conn, c.hashes)
                conn.commit()
                records.merge(c.digest)
                tree_s += time.process_time() - grown
                making_s, storing_s = making_s + c.making_s, storing_s + c.storing_s
                tasks, cosignatures = tasks + c.tasks, cosignatures + c.cosignatures
                if c.number % 25 == 24 or c.number == chunks - 1:
                    spent = time.perf_counter() - started
                    print(f"  {tasks:,} tasks, {cosignatures:,} co-signatures, {tree.range.size:,} leaves in "
                          f"{spent:.0f} s ({tasks / (spent - staff_s):,.0f} tasks/s)", flush=True)
        print(f"CPU a task: {making_s / tasks * 1e6:.0f} µs making its rows and leaves (workers), "
              f"{storing_s / tasks * 1e6:.0f} µs storing them (their PostgreSQL backends), "
              f"{tree_s / tasks * 1e6:.0f} µs growing the tree (this process)", flush=True)
        streamed = time.perf_counter() - started
    loaded = time.perf_counter() - started
    print(f"indexes and keys of {', '.join(BULK)} built over the loaded rows in {loaded - streamed:.0f} s",
          flush=True)
    t0 = time.perf_counter()
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
    vacuumed = time.perf_counter() - t0
    checkpoint = checkpoint_now(ctx)
    if bytes(checkpoint.root) != tree.range.root() or checkpoint.size < tree.range.size:
        raise SystemExit("the service's root of the loaded tree is not the loader's")
    # What a passing check of the loaded log leaves (the tree the loader grew, the multiset of every record's
    # newest row hash), as the starting point of the incremental check timed at the end.
    save_verified(ctx.log, Verified(ctx.log.origin, tree.range.size, tree.range.root(), tree.range.hashes,
                                    records.digest(), utcnow().isoformat()))
    return {"tasks": tasks, "cosignatures": cosignatures, "leaves": tree.range.size, "load_s": loaded,
            "vacuum_s": vacuumed, "bytes": int(size[0]) if size else 0, "people": people}


def _times(fn: Callable[[], object], repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _row(name: str, ms: list[float], budget: float | None) -> str:
    ms = sorted(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    verdict = "" if budget is None else ("  within" if statistics.median(ms) < budget else "  OVER") + \
        f" {budget:g} ms"
    return (f"{name:<46}{len(ms):>6}{statistics.median(ms):>10.2f}{p99:>10.2f}{ms[-1]:>10.2f}{verdict}")


def _plans(engine: Engine, table: str, fn: Callable[[], object]) -> list[str]:
    with caught(engine, table=table) as statements:
        fn()
    with engine.connect() as conn:
        return [explain(conn, s, p, analyze=True) for s, p in statements]


def time_reads(ctx: AppContext, engine: Engine, people: dict[str, Any], year: int, badges: int) -> None:
    app = create_app(ctx.settings, engine=engine, migrate=False)
    with TestClient(app) as client:
        logging.disable(logging.INFO)  # a log line a request would bury the figures

        def login(username: str) -> dict[str, str]:
            r = client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
            r.raise_for_status()
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        admin, justice = login(people["big_admin"]), login(people["justice"])
        with ctx.sessions() as s:
            officer_id = s.scalar(select(Task.officer_id).where(Task.status == TaskStatus.PENDING_COSIGN)
                                  .order_by(Task.created_at.desc()).limit(1))
            username = s.scalar(select(User.username).join(Officer, Officer.user_id == User.id)
                                .where(Officer.id == officer_id))
            numbers = list(s.scalars(select(Auxiliary.badge_no).order_by(text("random()")).limit(badges)))
        officer = login(str(username))

        def get(path: str, headers: dict[str, str]) -> Callable[[], object]:
            def call() -> object:
                r = client.get(path, headers=headers)
                r.raise_for_status()
                return r
            return call

        roster = get(f"/api/reports/roster?agency_id={people['big_agency']}&year={year}", admin)
        metrics, pending = get("/api/reports/metrics", justice), get("/api/tasks?status=pending_cosign", officer)
        bare = get("/healthz", {})
        for warm in (roster, metrics, pending, bare):
            warm()
        entries = len(client.get(f"/api/reports/roster?agency_id={people['big_agency']}&year={year}",
                                 headers=admin).json()["auxiliaries"])
        waiting = len(pending().json()["items"])  # type: ignore[attr-defined]

        def select_one() -> None:
            with ctx.sessions() as s:
                s.execute(text("SELECT 1"))

        badge_ms = []
        for number in numbers:
            t0 = time.perf_counter()
            with ctx.sessions() as s:
                found = check_badge_no(s, number)
            badge_ms.append((time.perf_counter() - t0) * 1000)
            if found is None:
                raise SystemExit(f"badge {number} not found")
        print(f"\n{'read':<46}{'runs':>6}{'median ms':>10}{'p99 ms':>10}{'max ms':>10}")
        print(_row("bare endpoint GET /healthz", _times(bare, 200), None))
        print(_row("SELECT 1 in a session of the service", _times(select_one, 200), None))
        print(_row(f"roster, {entries:,} staff (GET /api/reports/roster)", _times(roster, 7), 1000))
        print(_row(f"city metrics, {len(people['agencies']):,} agencies", _times(metrics, 7), 2000))
        print(_row(f"officer's pending list ({waiting} of a page)", _times(pending, 100), 20))
        print(_row(f"cold badge check, {len(numbers):,} distinct badges", badge_ms, 5))
        plans = {
            "roster (its reads of tasks)": _plans(engine, "tasks", roster),
            "city metrics (its reads of tasks)": _plans(engine, "tasks", metrics),
            "officer's pending list (its page; the rest read what hangs off it)": _plans(engine, "tasks", pending)[:1],
            "badge check": _plans(engine, "credentials", lambda: _one_badge(ctx, numbers[0])),
        }
    for name, caught_plans in plans.items():
        for plan in caught_plans:
            print(f"\nEXPLAIN ANALYZE, {name}:\n{plan}")


def _one_badge(ctx: AppContext, number: str) -> None:
    with ctx.sessions() as s:
        check_badge_no(s, number)


def time_log_check(ctx: AppContext, added: int, workers: int) -> None:
    """A day's tasks written by the service's own code, integrated and signed; then the incremental check."""
    with ctx.sessions.begin() as s:
        staff = Staff(auxiliaries=[tuple(r) for r in s.execute(  # type: ignore[misc]
            select(Auxiliary.id, Auxiliary.user_id, Auxiliary.agency_id, Auxiliary.agency_id)
            .where(Auxiliary.status == "active").limit(1000))], officers={})
        made = []
        for i in range(added):
            values, _ = task_values(i * 100, added * 100, staff, utcnow())
            made.append(Task(**{k: v for k, v in values.items() if k != "created_at"}))
        s.add_all(made)
        audit.record_many(s, made, "task.recorded", actor_id=None)
    checkpoint_now(ctx)
    state = load_verified(ctx.log)
    if state is None:
        raise SystemExit("no verified state to start from")
    with ctx.sessions() as s:
        t0 = time.perf_counter()
        report = check._verify(s, ctx.log, None, state, workers)
        seconds = time.perf_counter() - t0
    if report is None or not report.ok:
        raise SystemExit("the incremental check disagreed with the loaded log")
    print(f"\nincremental log check ({workers} row-hashing process{'es' if workers > 1 else ''}): {seconds:.1f} s; "
          f"{report.checks['leaves']:,} new leaves read after {state.size:,} verified, {report.checks['rows']:,} rows "
          f"re-hashed ({report.checks['rows'] / seconds:,.0f} rows/s), {report.checks['checkpoints']:,} checkpoints")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agencies", type=int, default=300)
    parser.add_argument("--auxiliaries", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=10_000_000)
    parser.add_argument("--workers", type=int, default=2, help="processes making tasks, and hashing rows in the check")
    parser.add_argument("--badges", type=int, default=1000, help="distinct badges checked cold")
    parser.add_argument("--added", type=int, default=2000, help="tasks written before the incremental check")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB} (dropped otherwise)")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database("postgresql", DB, Path(tmp))
        engine = make_engine(url)
        upgrade_to_head(engine)
        ctx = AppContext.build(_settings(Path(tmp) / "data", url), engine)
        print(f"bench.scale: {args.agencies:,} agencies, {args.auxiliaries:,} auxiliaries, {args.tasks:,} tasks "
              f"into {DB}; {multiprocessing.cpu_count()} CPUs, {args.workers} worker processes", flush=True)
        figures = fill(ctx, args)
        print(f"filled: {figures['tasks']:,} tasks, {figures['cosignatures']:,} co-signatures, {figures['leaves']:,} "
              f"leaves in {figures['load_s'] / 60:.1f} min ({figures['tasks'] / figures['load_s']:,.0f} tasks/s, "
              f"{figures['leaves'] / figures['load_s']:,.0f} leaves/s); VACUUM ANALYZE {figures['vacuum_s']:.0f} s; "
              f"{figures['bytes'] / 1e9:.1f} GB", flush=True)
        year = utcnow().astimezone(BEIJING).year
        time_reads(ctx, engine, figures["people"], year, args.badges)
        time_log_check(ctx, args.added, args.workers)
        engine.dispose()
        if not args.keep:
            drop_database("postgresql", DB)
    print(f"\nwhole run {(time.perf_counter() - started) / 60:.1f} min. Figures from one run on shared cores: "
          "others' work on the same machine moves them.")


if __name__ == "__main__":
    main()
