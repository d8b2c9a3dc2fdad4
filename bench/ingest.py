"""Task ingestion benchmark: single `POST /api/tasks` and `/api/sync` batches of 500, on SQLite and PostgreSQL.

Runs the real service (uvicorn, one worker) in a subprocess per database, sets up an agency and an active
auxiliary through the API, then prints records per second and p50/p99 latency.

    python -m bench.ingest [--singles 1000] [--batches 10] [--clients 4] [--backends sqlite,postgresql]
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import psycopg

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PASSWORD = "bench-pass-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_url() -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute('DROP DATABASE IF EXISTS "auxduty_bench" WITH (FORCE)')
        conn.execute('CREATE DATABASE "auxduty_bench"')
    return "postgresql+psycopg://postgres@127.0.0.1:5432/auxduty_bench"


def _start(url: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    env = {**os.environ, "AUXDUTY_DATABASE_URL": url, "AUXDUTY_DATA_DIR": str(data_dir),
           "AUXDUTY_ARGON2_TIME_COST": "1", "AUXDUTY_ARGON2_MEMORY_KIB": "8192"}
    subprocess.run([sys.executable, "-m", "api.cli", "create-admin", "--username", "bench.justice",
                    "--password", PASSWORD], env=env, check=True, stdout=subprocess.DEVNULL)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app", "--port", str(port), "--log-level", "warning",
         "--no-access-log"], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx2.get(f"{base}/.well-known/jwks.json", timeout=1).status_code == 200:
                return proc, base, env
        except httpx2.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")


def _login(c: httpx2.Client, username: str) -> dict[str, str]:
    r = c.post("/api/auth/token", data={"username": username, "password": PASSWORD})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _setup(base: str) -> dict[str, str]:
    """A district agency, its admin, and one active auxiliary with patrol granted; returns their auth header."""
    with httpx2.Client(base_url=base, timeout=30) as c:
        j = _login(c, "bench.justice")
        city = c.post("/api/agencies", headers=j, json={"name": "南京市城市管理局", "code": "NJ-CG",
                                                         "level": "municipal", "headcount_quota": 0}).json()
        district = c.post("/api/agencies", headers=j, json={"name": "玄武区城市管理局", "code": "XW-CG",
                                                             "level": "district", "parent_id": city["id"],
                                                             "headcount_quota": 10}).json()
        c.post("/api/users", headers=j, json={"username": "bench.admin", "password": PASSWORD,
                                              "role": "agency_admin", "agency_id": district["id"],
                                              "name": "管理员"}).raise_for_status()
        a = _login(c, "bench.admin")
        aux = c.post("/api/auxiliaries", headers=a, json={
            "name": "张伟", "username": "bench.aux", "password": PASSWORD, "birth_date": "1994-03-02",
            "id_number": "990000199403020015",  # fictitious: no province has 99; its check character is right
            "education": "college", "hire_method": "direct", "agency_id": district["id"],
            "hired_on": "2025-01-06", "categories": ["patrol", "publicity", "clerical"],
            "record": {"criminal_record": False, "pending_criminal_case": False,
                       "dismissed_for_violation": False, "serious_dishonesty": False},
            "preferences": {"martyr_family": False, "veteran": False, "heroic_deed": False}})
        aux.raise_for_status()
        aux_id = aux.json()["id"]
        c.post(f"/api/auxiliaries/{aux_id}/trainings", headers=a, json={
            "kind": "pre_job", "hours": 40, "completed_on": "2025-01-20", "passed": True}).raise_for_status()
        c.post(f"/api/auxiliaries/{aux_id}/credential", headers=a).raise_for_status()
        return _login(c, "bench.aux")


def _task(i: int) -> dict[str, object]:
    start = datetime(2026, 11, 2, 8, tzinfo=UTC) + timedelta(seconds=i)
    return {"id": str(uuid.uuid4()), "category": "patrol", "description": f"巡查责任区第{i}次，劝阻占道经营",
            "started_at": start.isoformat(), "ended_at": (start + timedelta(minutes=20)).isoformat(),
            "lat": 32.04, "lon": 118.78}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(fn: Callable[[], httpx2.Response]) -> float:
    t = time.perf_counter()
    r = fn()
    if r.status_code not in (200, 201):
        raise SystemExit(f"unexpected {r.status_code}: {r.text[:300]}")
    return (time.perf_counter() - t) * 1000


def run_backend(name: str, url: str, args: argparse.Namespace) -> list[tuple[str, ...]]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, base, _ = _start(url, Path(tmp))
        try:
            auth = _setup(base)
            rows = []
            with httpx2.Client(base_url=base, headers=auth, timeout=60) as c:
                for _ in range(20):  # warm-up
                    c.post("/api/tasks", json=_task(0))
                lat = []
                t0 = time.perf_counter()
                for i in range(args.singles):
                    lat.append(_timed(lambda i=i: c.post("/api/tasks", json=_task(i))))  # type: ignore[misc]
                wall = time.perf_counter() - t0
                rows.append((name, "POST /api/tasks, 1 client", f"{args.singles / wall:,.0f}",
                             f"{statistics.median(lat):.1f}", f"{_pct(lat, 0.99):.1f}"))

            def one_client(n: int) -> list[float]:
                with httpx2.Client(base_url=base, headers=auth, timeout=60) as cc:
                    return [_timed(lambda: cc.post("/api/tasks", json=_task(n))) for _ in range(n)]

            per = args.singles // args.clients
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                lat = [x for part in pool.map(one_client, [per] * args.clients) for x in part]
            wall = time.perf_counter() - t0
            rows.append((name, f"POST /api/tasks, {args.clients} clients", f"{len(lat) / wall:,.0f}",
                         f"{statistics.median(lat):.1f}", f"{_pct(lat, 0.99):.1f}"))
            with httpx2.Client(base_url=base, headers=auth, timeout=120) as c:
                lat = []
                t0 = time.perf_counter()
                for b in range(args.batches):
                    batch = {"tasks": [_task(b * 500 + i) for i in range(500)], "shifts": []}
                    lat.append(_timed(lambda batch=batch: c.post("/api/sync", json=batch)))  # type: ignore[misc]
                wall = time.perf_counter() - t0
                rows.append((name, "POST /api/sync, 500 per batch", f"{args.batches * 500 / wall:,.0f}",
                             f"{statistics.median(lat):.1f}", f"{_pct(lat, 0.99):.1f}"))
            return rows
        finally:
            proc.terminate()
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    for name in args.backends.split(","):
        if name == "sqlite":
            db = Path(tempfile.mkdtemp()) / "bench.db"
            url = f"sqlite:///{db}"
        else:
            url = _pg_url()
        rows += run_backend(name, url, args)
    header = ("database", "what", "records/s", "p50 ms", "p99 ms")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)))
    print("(p50/p99 are per request; for sync, per batch of 500)")


if __name__ == "__main__":
    main()
