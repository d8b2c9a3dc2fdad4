"""The oversight check of the transparency log (``api.domain.audit.check.verify_log``) at a city's scale.

For each size (N/10 first, then N) a fresh database is built:
* a city and a district agency and 200 active auxiliaries (user, auxiliary, credential), logged as the
  service logs them (``audit.record_many``);
* ``rows`` logged rows made through the ORM, 60 % tasks and 40 % shift events, each with its leaf appended by
  the writers' own ``audit.record_many`` (so its ``row_sha256`` is the row's ``row_hash``);
* the rest of the N leaves, interleaved with those, are bulk-loaded straight into ``log_pending`` (COPY on
  PostgreSQL, executemany on SQLite) with leaf bytes made by ``audit.log.leaf_content``: same format and
  size as real leaves, but naming a table that is not logged (``filler``), so the row check skips them;
* then the real integrator ``integrate_all`` gives all leaves their index in one transaction (timed), and a
  signed checkpoint is kept every 10,000 leaves (in the database and in the store outside it).
``verify_log`` then runs in a fresh subprocess (clean RSS), once untimed by tracemalloc (time, RSS) and once
under tracemalloc (peak of Python allocations). At full size, inclusion and consistency proofs are timed
and checked against the signed root.

    python -m bench.log.verify [--leaves 1000000] [--rows 100000] [--backend postgresql|sqlite] [--workers 2]
"""

import argparse
import gc
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import leaf_info, make_engine, make_sessionmaker
from api.domain.audit import check
from api.domain.audit import log as audit
from api.domain.audit.checkpoints import CheckpointStore, LogKeys, TransparencyLog, publish, sign_checkpoint
from api.domain.audit.tree import integrate_all, prove_consistency, prove_inclusion, root_at
from api.domain.models import (
    Agency,
    AgencyLevel,
    Auxiliary,
    AuxiliaryStatus,
    Credential,
    CredentialStatus,
    LogCheckpoint,
    LogLeaf,
    LogPending,
    Role,
    ShiftEvent,
    Task,
    TaskStatus,
    User,
)
from api.migrations import upgrade_to_head
from bench.databases import drop_database, fresh_database
from verification.tlog import leaf_hash, verify_consistency, verify_inclusion

PG_DB = "auxduty_bench_log_verify"
ORIGIN = "bench.auxduty.example/log"
LEAF_KEY = audit.derive_leaf_key("bench-secret-" + "b" * 40)
AUXILIARIES = 200
BATCH = 5000
FILLER_CHUNK = 20_000
CHECKPOINT_EVERY = 10_000
MIB = 1024 * 1024
# An argon2id hash has this shape and length; nobody logs in here.
FAKE_PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$" + "A" * 22 + "$" + "B" * 43
ZONE: dict[str, Any] = {"type": "MultiPolygon", "coordinates": [[[[118.775, 32.035], [118.787, 32.035],
                                                                  [118.787, 32.045], [118.775, 32.045],
                                                                  [118.775, 32.035]]]]}
F = TypeVar("F", bound=Callable[..., Any])


def _rss_mib() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB. The peak is the kernel's high-water mark of this
    address space (VmHWM); ``ru_maxrss`` also counts the parent's RSS at fork, so it is not used here."""
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(status["VmRSS"].split()[0]) / 1024, int(status["VmHWM"].split()[0]) / 1024


def _reset_peak_rss() -> bool:
    """Start the peak RSS afresh from the current RSS (Linux: /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _transparency_log(directory: Path) -> TransparencyLog:
    return TransparencyLog(origin=ORIGIN, keys=LogKeys(directory / "log-keys", ORIGIN),
                           store=CheckpointStore(directory / "log"))


# --- building the log ---------------------------------------------------------------------------------------

def _setup(sessions: sessionmaker[Session]) -> list[tuple[User, Auxiliary]]:
    """The staff the rows belong to, logged as the service logs them."""
    with sessions.begin() as s:
        city = Agency(name="南京市城市管理局", code="NJ-CG", level=AgencyLevel.MUNICIPAL, headcount_quota=0)
        s.add(city)
        s.flush()
        district = Agency(name="玄武区城市管理局", code="XW-CG", level=AgencyLevel.DISTRICT, parent_id=city.id,
                          headcount_quota=AUXILIARIES, headcount_used=AUXILIARIES)
        s.add(district)
        audit.record_many(s, [city, district], "agency.created", actor_id=None)
        users = [User(username=f"aux.{i:04d}", password_hash=FAKE_PASSWORD_HASH, role=Role.AUXILIARY,
                      agency_id=district.id, name=f"协管员{i:04d}") for i in range(AUXILIARIES)]
        s.add_all(users)
        audit.record_many(s, users, "user.created", actor_id=None)
        auxes = [Auxiliary(user_id=u.id, agency_id=district.id, badge_no=f"NJ{i:06d}", name=u.name,
                           birth_date=date(1990, 1, 1) + timedelta(days=37 * i), education="college",
                           hire_method="direct", hired_on=date(2025, 1, 6), status=AuxiliaryStatus.ACTIVE,
                           categories=["patrol", "publicity", "clerical"], zones=ZONE, background={},
                           preferences={}) for i, u in enumerate(users)]
        s.add_all(auxes)
        audit.record_many(s, auxes, "auxiliary.hired", actor_id=None)
        creds = [Credential(auxiliary_id=a.id, credential_no=f"C{i:08d}", version=1, kid="bench",
                            status=CredentialStatus.VALID) for i, a in enumerate(auxes)]
        s.add_all(creds)
        audit.record_many(s, creds, "credential.issued", actor_id=None)
        return list(zip(users, auxes, strict=True))


def _row(i: int, user: User, aux: Auxiliary) -> Task | ShiftEvent:
    start = datetime(2026, 1, 5, 0, tzinfo=UTC) + timedelta(seconds=97 * i)
    digest = hashlib.sha256(f"phone-record-{i}".encode()).hexdigest()
    if i % 5 < 3:
        return Task(id=uuid.uuid4(), auxiliary_id=aux.id, agency_id=aux.agency_id,
                    command_agency_id=aux.commanding_agency_id, category="patrol", mode="independent",
                    status=TaskStatus.RECORDED, description=f"巡查责任区第{i}次，劝阻占道经营，现场拍照留存",
                    started_at=start, ended_at=start + timedelta(minutes=20), lat=32.04, lon=118.78,
                    in_zone=True, recorded_by=user.id, content_hash=digest)
    return ShiftEvent(id=uuid.uuid4(), auxiliary_id=aux.id, kind="check_in" if i % 2 else "check_out",
                      at=start, lat=32.04, lon=118.78, accuracy_m=8.5, in_zone=True, content_hash=digest)


def _filler(i: int, actor: uuid.UUID) -> tuple[bytes, bytes, str, str, str, str, datetime, bytes]:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=29 * i)
    entity_id, digest = str(uuid.uuid4()), hashlib.sha256(i.to_bytes(8, "big")).hexdigest()
    leaf = audit.leaf_content(entity="filler", entity_id=entity_id, action="filler.appended", row_sha256=digest,
                              at=at, actor_id=actor)
    hashed = leaf_hash(leaf)
    return leaf, hashed, "filler", entity_id, "filler.appended", digest, at, audit.leaf_mac(LEAF_KEY, hashed)


def _load_fillers(s: Session, start: int, count: int, actor: uuid.UUID) -> None:
    """Bulk-load ``count`` leaves straight into log_pending, in this session's transaction."""
    for base in range(start, start + count, FILLER_CHUNK):
        rows = [_filler(i, actor) for i in range(base, min(start + count, base + FILLER_CHUNK))]
        if s.get_bind().dialect.name == "postgresql":
            raw: Any = s.connection().connection.driver_connection
            copy = "COPY log_pending (leaf, leaf_hash, entity, entity_id, action, row_hash, at, mac) FROM STDIN"
            with raw.cursor() as cur, cur.copy(copy) as cp:
                for r in rows:
                    cp.write_row(r)
        else:
            keys = ("leaf", "leaf_hash", "entity", "entity_id", "action", "row_hash", "at", "mac")
            s.execute(insert(LogPending), [dict(zip(keys, r, strict=True)) for r in rows])


def build(url: str, leaves: int, rows: int, log: TransparencyLog) -> dict[str, float]:
    engine = make_engine(url)
    upgrade_to_head(engine)
    sessions = make_sessionmaker(engine, LEAF_KEY)
    t0 = time.perf_counter()
    staff = _setup(sessions)
    with sessions() as s:
        setup_leaves = int(s.scalar(select(func.count()).select_from(LogPending)) or 0)
    fillers = leaves - rows - setup_leaves
    if fillers < 0:
        raise SystemExit(f"--leaves must be at least rows + {setup_leaves} (the staff's own leaves)")
    batches = max(1, -(-rows // BATCH))
    done_fillers = 0
    for b in range(batches):
        with sessions.begin() as s:
            share = fillers * (b + 1) // batches - done_fillers
            _load_fillers(s, done_fillers, share, staff[b % len(staff)][0].id)
            done_fillers += share
            made = [(_row(i, *staff[i % len(staff)]), staff[i % len(staff)][0])
                    for i in range(b * BATCH, min(rows, (b + 1) * BATCH))]
            s.add_all(row for row, _ in made)
            s.flush()
            by_writer: dict[uuid.UUID, dict[str, list[Task | ShiftEvent]]] = {}
            for row, user in made:
                by_writer.setdefault(user.id, {}).setdefault(row.__tablename__, []).append(row)
            for actor, groups in by_writer.items():
                for table, group in groups.items():
                    action = "task.recorded" if table == "tasks" else "shift_event.recorded"
                    audit.record_many(s, group, action, actor_id=actor)
    built = time.perf_counter() - t0
    with sessions.begin() as s:
        t0 = time.perf_counter()
        size = integrate_all(s)
    integrated = time.perf_counter() - t0
    if size != leaves:
        raise SystemExit(f"integrated {size} leaves, expected {leaves}")
    made_checkpoints: list[LogCheckpoint] = []
    with sessions.begin() as s:
        if int(s.scalar(select(func.count()).select_from(LogPending)) or 0):
            raise SystemExit("leaves still pending after integrate_all")
        for at in [*range(CHECKPOINT_EVERY, size, CHECKPOINT_EVERY), size]:
            root = root_at(s, at)
            checkpoint = LogCheckpoint(size=at, root=root, note=sign_checkpoint(log, at, root))
            s.add(checkpoint)
            made_checkpoints.append(checkpoint)
    for checkpoint in made_checkpoints:
        publish(log, checkpoint)
    engine.dispose()
    return {"build_s": built, "integrate_s": integrated, "size": size, "checkpoints": len(made_checkpoints)}


def time_proofs(url: str, size: int, repeats: int = 5) -> dict[str, float]:
    """Median time of an inclusion proof (a random leaf, the whole tree) and of a consistency proof (a random
    checkpoint size to the whole tree); every proof is checked against the roots."""
    engine = make_engine(url)
    rng = random.Random(7)
    incl, cons = [], []
    with Session(engine) as s:
        root = root_at(s, size)
        for _ in range(repeats):
            index = rng.randrange(size)
            digest = bytes(s.scalar(select(LogLeaf.leaf_hash).where(LogLeaf.idx == index)) or b"")
            t0 = time.perf_counter()
            proof = prove_inclusion(s, index, size)
            incl.append(time.perf_counter() - t0)
            if not verify_inclusion(digest, index, size, proof, root):
                raise SystemExit(f"inclusion proof of leaf {index} does not verify")
            first = rng.randrange(1, size)
            t0 = time.perf_counter()
            proof = prove_consistency(s, first, size)
            cons.append(time.perf_counter() - t0)
            if not verify_consistency(first, size, root_at(s, first), root, proof):
                raise SystemExit(f"consistency proof {first} → {size} does not verify")
    engine.dispose()
    return {"inclusion_ms": statistics.median(incl) * 1000, "consistency_ms": statistics.median(cons) * 1000,
            "proof_len": len(proof)}


# --- the check, in a fresh process ---------------------------------------------------------------------------

def _timed(phases: dict[str, float], name: str, fn: F) -> F:
    def run(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - t0
    return run  # type: ignore[return-value]


def extend(url: str, rows: int, log: TransparencyLog) -> int:
    """After a passing check: ``rows`` more tasks, each with its leaf, integrated and checkpointed (the day's
    work that the next, incremental check has to read); the number of leaves added."""
    engine = make_engine(url)
    sessions = make_sessionmaker(engine, LEAF_KEY)
    with sessions.begin() as s:
        before = int(s.scalar(select(func.count()).select_from(LogLeaf)) or 0)
        users = s.scalars(select(User).where(User.role == Role.AUXILIARY).order_by(User.username)).all()
        staff = list(zip(users, s.scalars(select(Auxiliary).order_by(Auxiliary.badge_no)).all(), strict=True))
        made = [_row(10_000_000 + i * 5, *staff[i % len(staff)]) for i in range(rows)]  # i*5: always a task
        s.add_all(made)
        audit.record_many(s, made, "task.recorded", actor_id=staff[0][0].id)
    with sessions.begin() as s:
        size = integrate_all(s)
        root = root_at(s, size)
        checkpoint = LogCheckpoint(size=size, root=root, note=sign_checkpoint(log, size, root))
        s.add(checkpoint)
    publish(log, checkpoint)
    engine.dispose()
    return size - before


def child(url: str, log_dir: Path, trace: bool, full: bool, workers: int) -> None:
    """Run verify_log once and print what it cost as one JSON line."""
    engine = make_engine(url)
    log = _transparency_log(log_dir)
    phases: dict[str, float] = {}
    # Time the check's two passes without changing them: verify_log looks them up by name at each call.
    vars(check)["_check_tree"] = _timed(phases, "tree", check._check_tree)
    vars(check)["_check_rows"] = _timed(phases, "rows", check._check_rows)
    vars(check)["rows_digest"] = _timed(phases, "rows", vars(check)["rows_digest"])
    with Session(engine, info=leaf_info(LEAF_KEY)) as s:
        s.execute(select(1))  # connect before measuring
        gc.collect()
        reset = _reset_peak_rss()
        rss_before, _ = _rss_mib()
        if trace:
            tracemalloc.start()
        t0 = time.perf_counter()
        report = check.verify_log(s, log, full=full, workers=workers)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        _, rss_after = _rss_mib()
    print(json.dumps({"ok": report.ok, "checks": report.checks, "first_bad": report.first_bad, "seconds": seconds,
                      "phases": phases, "py_peak_mib": peak / MIB, "rss_before_mib": rss_before,
                      "rss_after_mib": rss_after, "rss_reset": reset, "size": report.size,
                      "mode": report.mode, "verified_from": report.verified_from}))


def run_check(url: str, log_dir: Path, trace: bool, full: bool = True, workers: int = 1) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "bench.log.verify", "--child", url, "--log-dir", str(log_dir),
                          *(["--trace"] if trace else []), *(["--incremental"] if not full else []),
                          "--workers", str(workers)],
                         check=True, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2])
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    if not result["ok"]:
        raise SystemExit(f"verify_log found a bad entry in a log built right: {result['first_bad']}")
    return result


# --- the run ----------------------------------------------------------------------------------------------------

def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000, help="logged rows (tasks, shift events) at full size")
    parser.add_argument("--backend", default="postgresql", choices=["postgresql", "sqlite"])
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc run of the check")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--log-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--incremental", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--added", type=int, default=5000, help="tasks recorded after the full check, before the "
                        "incremental one")
    parser.add_argument("--workers", type=int, default=1, help="processes hashing the rows of the incremental check")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.log_dir, args.trace, full=not args.incremental, workers=args.workers)
        return
    rows_wanted = min(args.rows, args.leaves // 2)
    sizes = [(args.leaves // 10, rows_wanted // 10), (args.leaves, rows_wanted)] if args.leaves >= 10_000 else [
        (args.leaves, rows_wanted)]
    print(f"bench.log.verify on {args.backend}, {os.cpu_count()} CPUs; leaves beyond the rows' own are bulk-loaded "
          "fillers naming an unlogged table (tree check only)", flush=True)
    table: list[tuple[str, ...]] = []
    proofs: dict[str, float] = {}
    inc: dict[str, Any] = {}
    inc_traced: dict[str, Any] | None = None
    inc_workers: dict[str, Any] = {}
    added = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for leaves, rows in sizes:
            log_dir = Path(tmp) / f"log-{leaves}"
            url = fresh_database(args.backend, PG_DB, Path(tmp))
            print(f"building {leaves:,} leaves ({rows:,} logged rows)…", flush=True)
            built = build(url, leaves, rows, _transparency_log(log_dir))
            print(f"  built in {built['build_s']:.1f} s, integrated in {built['integrate_s']:.1f} s; "
                  "checking…", flush=True)
            plain = run_check(url, log_dir, trace=False)
            traced = None if args.no_trace else run_check(url, log_dir, trace=True)
            if plain["checks"]["leaves"] != leaves or plain["checks"]["rows"] != rows + 3 * AUXILIARIES + 2:
                raise SystemExit(f"checked {plain['checks']}, expected {leaves} leaves and {rows} rows + staff")
            if leaves == args.leaves:
                proofs = time_proofs(url, leaves)
                added = extend(url, args.added, _transparency_log(log_dir))
                state = log_dir / "log" / "verified.json"
                verified = state.read_text()  # what the full check left: each incremental run starts from it
                inc = run_check(url, log_dir, trace=False, full=False)
                if args.workers > 1:
                    state.write_text(verified)
                    inc_workers = run_check(url, log_dir, trace=False, full=False, workers=args.workers)
                if not args.no_trace:
                    state.write_text(verified)
                    inc_traced = run_check(url, log_dir, trace=True, full=False)
                if (inc["mode"], inc["checks"]["leaves"]) != ("incremental", added):
                    raise SystemExit(f"the incremental check read {inc['checks']}, expected {added} new leaves")
            checked_rows = plain["checks"]["rows"]
            table.append((
                f"{leaves:,}", f"{checked_rows:,}", f"{built['checkpoints']:,}",
                f"{built['integrate_s']:.1f}", f"{leaves / built['integrate_s']:,.0f}",
                f"{plain['seconds']:.1f}", f"{leaves / plain['seconds']:,.0f}",
                f"{leaves / plain['phases']['tree']:,.0f}", f"{checked_rows / plain['phases']['rows']:,.0f}",
                f"{traced['py_peak_mib']:.1f}" if traced else "-",
                f"{plain['rss_before_mib']:.0f} → {plain['rss_after_mib']:.0f}"
                + ("" if plain["rss_reset"] else " (peak not reset)"),
                f"{traced['seconds']:.1f}" if traced else "-",
            ))
        drop_database(args.backend, PG_DB)
    print()
    _table(("leaves", "rows", "checkpoints", "integrate s", "integrate leaves/s", "verify s", "verify leaves/s",
            "tree pass leaves/s", "row pass rows/s", "py peak MiB", "RSS MiB start → peak", "verify s traced"),
           table)
    print(f"\nat {args.leaves:,} leaves: inclusion proof {proofs['inclusion_ms']:.2f} ms, consistency proof "
          f"{proofs['consistency_ms']:.2f} ms (median of 5, each checked against the root)")
    if inc:
        print(f"incremental, after {inc['verified_from']:,} verified leaves and {added:,} tasks added: "
              f"{inc['seconds']:.1f} s ({inc['checks']['leaves']:,} leaves read, {inc['checks']['rows']:,} rows "
              f"re-hashed, {inc['checks']['checkpoints']:,} checkpoints; row pass {inc['phases']['rows']:.1f} s), "
              f"py peak {inc_traced['py_peak_mib'] if inc_traced else float('nan'):.1f} MiB, RSS "
              f"{inc['rss_before_mib']:.0f} → {inc['rss_after_mib']:.0f} MiB")
    if inc_workers:
        print(f"incremental with {args.workers} worker processes hashing the rows: {inc_workers['seconds']:.1f} s "
              f"(row pass {inc_workers['phases']['rows']:.1f} s, {inc_workers['checks']['rows']:,} rows)")
    print("verify = verify_log(session, log, full=True) in a fresh process, signatures of every checkpoint checked; "
          "'py peak' is tracemalloc's peak in a second run (tracemalloc slows it: 'verify s traced'); "
          "RSS: the process's RSS when the check starts and its high-water mark (VmHWM, reset just before the "
          f"check) when it ends. Whole run {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
