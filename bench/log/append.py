"""Append throughput of the transparency log with many concurrent writers, before and after the Merkle log.

Each writer is a thread with its own database connection that records tasks the way ``POST /api/tasks``
does, one transaction per record: it loads its user and field context, then calls the domain's
``record_task`` (retry check, rules, insert of the task, ``audit.record``), optionally holds the
transaction open a little longer (``pg_sleep``, standing for the rest of a request's work after the leaf
is appended), and commits. Every writer records for its own auxiliary, made once at setup.

* before: the hash chain at commit 48439e7, where every writer takes ``pg_advisory_xact_lock(4242001)`` up
  front and keeps it to its commit (run from a git worktree of that commit, in a subprocess that imports
  that tree's ``api``, on its own fresh database);
* after: the Merkle log, where writers only insert their leaf into ``log_pending``, with the integrator
  running in its own thread every second and a signed checkpoint every 10 s, as ``api.log_keeper`` does;
* bare: the same transaction with no log append at all (``audit.record`` made a no-op), as a floor.

After every run the integrator runs once more; the bench checks that nothing is left pending and that
the log grew by exactly the records written.

    python -m bench.log.append [--writers 1,4,16] [--seconds 10] [--holds 2,0] [--backend postgresql]
"""

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.databases import drop_database, fresh_database

ROOT = Path(__file__).resolve().parents[2]
BEFORE_COMMIT = "48439e7"
WARMUP = 5
ZONE: dict[str, Any] = {"type": "MultiPolygon", "coordinates": [[[[118.775, 32.035], [118.787, 32.035],
                                                                  [118.787, 32.045], [118.775, 32.045],
                                                                  [118.775, 32.035]]]]}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the worker: runs inside the code under test (this tree, or the "before" worktree) --------------------------
# It imports nothing from ``bench``: it is run as a script with PYTHONPATH set to the tree under test.

def _setup(sessions: Any, writers: int) -> list[uuid.UUID]:
    """One district agency and one active auxiliary with a valid credential per writer, logged as the
    service logs them; the writers' user ids."""
    from api.domain.audit import log as audit
    from api.domain.models import Agency, AgencyLevel, Auxiliary, AuxiliaryStatus, Credential, Role, User

    with sessions.begin() as s:
        district = Agency(name="玄武区城市管理局", code="XW-CG", level=AgencyLevel.DISTRICT, headcount_quota=writers,
                          headcount_used=writers)
        s.add(district)
        audit.record(s, district, "agency.created", actor_id=None)
        users = []
        for i in range(writers):
            user = User(username=f"bench.aux.{i}", password_hash="$argon2id$v=19$m=65536,t=3,p=4$" + "A" * 66,
                        role=Role.AUXILIARY, agency_id=district.id, name=f"协管员{i}")
            s.add(user)
            audit.record(s, user, "user.created", actor_id=None)
            aux = Auxiliary(user_id=user.id, agency_id=district.id, badge_no=f"NJ{i:06d}", name=user.name,
                            birth_date=date(1994, 3, 2), education="college", hire_method="direct",
                            hired_on=date(2025, 1, 6), status=AuxiliaryStatus.ACTIVE,
                            categories=["patrol", "publicity", "clerical"], zones=ZONE, background={},
                            preferences={})
            s.add(aux)
            audit.record(s, aux, "auxiliary.hired", actor_id=None)
            cred = Credential(auxiliary_id=aux.id, credential_no=f"C{i:08d}", version=1, kid="bench")
            s.add(cred)
            audit.record(s, cred, "credential.issued", actor_id=None)
            users.append(user.id)
        return users


class _Integrator(threading.Thread):
    """What api.log_keeper.LogKeeper does in every running service: integrate every second, sign a checkpoint
    every ten (publishing it to a directory outside the database)."""

    def __init__(self, sessions: Any, log_dir: Path) -> None:
        super().__init__(name="integrator", daemon=True)
        from api.domain.audit.checkpoints import CheckpointStore, LogKeys, TransparencyLog

        self.sessions = sessions
        self.log = TransparencyLog(origin="bench.auxduty.example/log", keys=LogKeys(log_dir / "keys", "bench"),
                                   store=CheckpointStore(log_dir))
        self.stopping = threading.Event()
        self.passes: list[float] = []
        self.error: str | None = None

    def run(self) -> None:
        from api.domain.audit.checkpoints import make_checkpoint, publish
        from api.domain.audit.tree import integrate_all

        next_checkpoint = time.monotonic() + 10
        while not self.stopping.wait(1.0):
            t0 = time.perf_counter()
            try:
                with self.sessions.begin() as s:
                    integrate_all(s)
                if time.monotonic() >= next_checkpoint:
                    with self.sessions.begin() as s:
                        checkpoint = make_checkpoint(s, self.log)
                        s.expunge(checkpoint)
                    publish(self.log, checkpoint)
                    next_checkpoint = time.monotonic() + 10
            except Exception as exc:
                self.error = repr(exc)
            self.passes.append(time.perf_counter() - t0)


def _counts(engine: Any, merkle: bool) -> dict[str, int]:
    from sqlalchemy import text

    with engine.connect() as conn:
        def one(sql: str) -> int:
            return int(conn.execute(text(sql)).scalar_one())
        counts = {"tasks": one("SELECT count(*) FROM tasks")}
        if merkle:
            counts["pending"] = one("SELECT count(*) FROM log_pending")
            counts["log"] = one("SELECT count(*) FROM log_leaves") + counts["pending"]
            counts["task_leaves"] = one("SELECT count(*) FROM log_leaves WHERE entity = 'tasks'")
        else:
            counts["log"] = one("SELECT count(*) FROM audit_log")
            counts["task_leaves"] = one("SELECT count(*) FROM audit_log WHERE entity = 'tasks'")
        return counts


def _run_one(engine: Any, sessions: Any, users: list[uuid.UUID], *, writers: int, seconds: float, hold: float,
             integrate: bool, log_dir: Path) -> dict[str, Any]:
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from api.domain.fieldwork.context import load_field_context
    from api.domain.fieldwork.records import TaskDraft
    from api.domain.fieldwork.tasks import record_task
    from api.domain.models import User

    postgres = engine.dialect.name == "postgresql"
    deadline = [0.0, 0.0]  # [start, end], set by the barrier's action before any party is released

    def start_clock() -> None:
        deadline[0] = time.perf_counter()
        deadline[1] = deadline[0] + seconds

    barrier = threading.Barrier(writers + 1, action=start_clock)
    latencies: list[list[float]] = [[] for _ in range(writers)]
    committed = [0] * writers
    errors: list[str] = []

    def transaction(conn: Any, user_id: uuid.UUID, n: int) -> None:
        start = datetime(2026, 11, 2, 8, tzinfo=UTC) + timedelta(seconds=n)
        draft = TaskDraft(id=uuid.uuid4(), category="patrol", description=f"巡查责任区第{n}次，劝阻占道经营",
                          started_at=start, ended_at=start + timedelta(minutes=20), lat=32.040, lon=118.781)
        with Session(bind=conn, expire_on_commit=False, autoflush=True, **_session_info()) as s:
            user = s.get(User, user_id)  # the request's authentication loads its user
            assert user is not None
            fc = load_field_context(s, user)
            _, created = record_task(s, fc, draft)
            assert created
            if hold:
                if postgres:
                    s.execute(text("SELECT pg_sleep(:s)"), {"s": hold})
                else:
                    time.sleep(hold)
            s.commit()

    def writer(k: int) -> None:
        n = 0
        try:
            with engine.connect() as conn:
                for _ in range(WARMUP):
                    transaction(conn, users[k], n)
                    committed[k] += 1
                    n += 1
                barrier.wait()
                while True:
                    t0 = time.perf_counter()
                    if t0 >= deadline[1]:
                        break
                    transaction(conn, users[k], n)
                    latencies[k].append((time.perf_counter() - t0) * 1000)
                    committed[k] += 1
                    n += 1
        except threading.BrokenBarrierError:
            pass
        except Exception as exc:
            errors.append(repr(exc))
            barrier.abort()

    merkle = _is_merkle()
    before = _counts(engine, merkle)
    integrator = _Integrator(sessions, log_dir) if integrate else None
    if integrator:
        integrator.start()
    threads = [threading.Thread(target=writer, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - deadline[0]
    if integrator:
        integrator.stopping.set()
        integrator.join()
    if merkle:
        from api.domain.audit.tree import integrate_all

        with sessions.begin() as s:
            integrate_all(s)
    after = _counts(engine, merkle)
    lat = [x for part in latencies for x in part]
    written = after["tasks"] - before["tasks"]
    return {
        "writers": writers, "hold_ms": hold * 1000, "records": len(lat), "wall": wall,
        "rps": len(lat) / wall if wall else 0.0,
        "p50": statistics.median(lat) if lat else 0.0, "p99": _pct(lat, 0.99) if lat else 0.0,
        "errors": errors[:3], "error_count": len(errors),
        "committed": sum(committed), "written": written, "log_added": after["log"] - before["log"],
        "task_leaves_added": after["task_leaves"] - before["task_leaves"], "pending": after.get("pending", 0),
        "integrator_passes": len(integrator.passes) if integrator else 0,
        "integrator_max_s": max(integrator.passes, default=0.0) if integrator else 0.0,
        "integrator_error": integrator.error if integrator else None,
    }


BENCH_SECRET = "bench-secret-" + "b" * 40


def _leaf_key() -> dict[str, Any]:
    """The leaf MAC key argument of ``make_sessionmaker``, where the tree under test has one."""
    try:
        from api.domain.audit.log import derive_leaf_key
    except ImportError:
        return {}
    return {"leaf_key": derive_leaf_key(BENCH_SECRET)}


def _session_info() -> dict[str, Any]:
    try:
        from api.db import leaf_info
    except ImportError:
        return {}
    return {"info": leaf_info(_leaf_key()["leaf_key"])}


def _is_merkle() -> bool:
    try:
        import api.domain.audit.tree  # noqa: F401  (absent before the Merkle log)
    except ImportError:
        return False
    return True


def worker(url: str, modes: list[str], writer_counts: list[int], holds: list[float], seconds: float) -> None:
    import api
    from api.db import make_engine, make_sessionmaker
    from api.domain.audit import log as audit
    from api.migrations import upgrade_to_head

    merkle = _is_merkle()
    print(json.dumps({"api": str(Path(api.__file__).resolve().parent), "merkle": merkle}), flush=True)
    engine = make_engine(url, pool_size=max(writer_counts) + 4, max_overflow=4)
    upgrade_to_head(engine)
    sessions = make_sessionmaker(engine, **_leaf_key())
    users = _setup(sessions, max(writer_counts))
    real = {name: vars(audit)[name] for name in ("record", "hold_chain_lock") if name in vars(audit)}

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None
    with tempfile.TemporaryDirectory() as log_dir:
        for hold in holds:
            for mode in modes:
                bare = mode == "bare"
                for name, fn in real.items():  # bare: no leaf, and (before) no chain lock
                    vars(audit)[name] = nothing if bare else fn
                for writers in writer_counts:
                    result = _run_one(engine, sessions, users, writers=writers, seconds=seconds, hold=hold / 1000,
                                      integrate=merkle and not bare, log_dir=Path(log_dir))
                    print(json.dumps({"mode": mode, **result}), flush=True)
    engine.dispose()


# --- the orchestrator ---------------------------------------------------------------------------------------------

def _spawn(tree: Path, url: str, modes: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the worker in a subprocess that imports ``api`` from ``tree``; its results, one per run."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", url, "--modes", ",".join(modes),
           "--writers", args.writers, "--holds", args.holds, "--seconds", str(args.seconds)]
    proc = subprocess.run(cmd, cwd=tree, env=env, check=True, stdout=subprocess.PIPE, text=True)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    origin = Path(lines[0]["api"])
    if origin != (tree / "api").resolve():
        raise SystemExit(f"the worker imported api from {origin}, not from {tree}")
    results: list[dict[str, Any]] = lines[1:]
    for r in results:
        r["merkle"] = lines[0]["merkle"]
    return results


def _check(label: str, r: dict[str, Any]) -> None:
    problems = []
    if r["error_count"]:
        problems.append(f"{r['error_count']} failed transactions, e.g. {r['errors'][0]}")
    if r["written"] != r["committed"]:
        problems.append(f"{r['committed']} commits but {r['written']} tasks stored")
    expected = 0 if r["mode"] == "bare" else r["written"]
    if r["log_added"] != expected or r["task_leaves_added"] != expected:
        problems.append(f"log grew by {r['log_added']} ({r['task_leaves_added']} for tasks), expected {expected}")
    if r["pending"]:
        problems.append(f"{r['pending']} leaves still pending after the final integrate_all")
    if r.get("integrator_error"):
        problems.append(f"integrator failed: {r['integrator_error']}")
    if problems:
        raise SystemExit(f"{label}, {r['writers']} writers: " + "; ".join(problems))


def _ensure_worktree(path: Path, commit: str) -> bool:
    """Make the "before" worktree unless it is there; whether it was made here (and so is removed after)."""
    if (path / "api" / "domain" / "audit" / "log.py").is_file():
        return False
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit], check=True,
                   stdout=subprocess.DEVNULL)
    return True


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--writers", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per run (after 5 warm-up "
                        "transactions per writer)")
    parser.add_argument("--holds", default="2,0", help="extra time (ms) each transaction stays open after its "
                        "append, before COMMIT")
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--before", type=Path, default=Path("/tmp/before-log"),
                        help=f"a worktree of commit {BEFORE_COMMIT} (made, and removed after, if missing)")
    parser.add_argument("--before-commit", default=BEFORE_COMMIT)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--modes", default="log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    writer_counts = [int(w) for w in args.writers.split(",")]
    holds = [float(h) for h in args.holds.split(",")]
    if args.worker:
        worker(args.worker, args.modes.split(","), writer_counts, holds, args.seconds)
        return

    print(f"bench.log.append on {args.backend}, {os.cpu_count()} CPUs, {args.seconds:g} s per run; writers are "
          "threads of one Python process (one GIL), the database on the same host", flush=True)
    made_worktree = _ensure_worktree(args.before, args.before_commit)
    results: dict[tuple[str, float, int], dict[str, Any]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for label, tree, modes in (("after", ROOT, ["bare", "log"]), ("before", args.before, ["log"])):
                name = f"auxduty_bench_log_{label}"
                print(f"running {label} ({tree}): {', '.join(modes)}…", flush=True)
                for r in _spawn(tree, fresh_database(args.backend, name, Path(tmp)), modes, args):
                    key = "bare" if r["mode"] == "bare" else label
                    if key != "bare" and r["merkle"] != (label == "after"):
                        raise SystemExit(f"{label} ran the wrong log (merkle={r['merkle']})")
                    _check(key, r)
                    results[(key, r["hold_ms"], r["writers"])] = r
                drop_database(args.backend, name)
    finally:
        if made_worktree:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(args.before)], check=True)

    for hold in holds:
        print(f"\nextra hold after the append, before COMMIT: {hold:g} ms" + (" (pg_sleep)" if hold else " (none)"))
        rows: list[tuple[str, ...]] = []
        for w in writer_counts:
            bare, old, new = (results[(k, hold, w)] for k in ("bare", "before", "after"))
            rows.append((str(w), f"{bare['rps']:,.0f}", f"{bare['p99']:.1f}",
                         f"{old['rps']:,.0f}", f"{old['p50']:.1f}", f"{old['p99']:.1f}",
                         f"{new['rps']:,.0f}", f"{new['p50']:.1f}", f"{new['p99']:.1f}",
                         f"{new['rps'] / old['rps']:.2f}×", f"{new['integrator_passes']}",
                         f"{new['integrator_max_s'] * 1000:.0f}"))
        _table(("writers", "bare rec/s", "p99 ms", "before rec/s", "p50 ms", "p99 ms", "after rec/s", "p50 ms",
                "p99 ms", "after/before", "integrations", "max ms"), rows)
    total = sum(r["committed"] for r in results.values())
    print(f"\n{total:,} records committed in all; after every run nothing was pending and the log had grown by "
          "exactly the records written (bare: by none). 'integrations' and 'max ms': the integrator's passes "
          "during the after run and its slowest (integrate_all, plus a signed checkpoint every 10 s).")


if __name__ == "__main__":
    main()
