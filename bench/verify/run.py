"""Throughput of `GET /api/public/verify/{token}` under wrk, beside a bare FastAPI endpoint in the same run.

Both are served by one uvicorn worker on 127.0.0.1; wrk runs 2 threads and 32 connections for 10 s each.
The public rate limit is scaled out of the way (it would otherwise answer 429 to a single client).

    python -m bench.verify.run [--duration 10] [--connections 32] [--backend sqlite|postgresql]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2

from bench.ingest import PASSWORD, _free_port, _login, _pg_url, _setup


def _serve(app: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning",
                             "--no-access-log"], env=env)
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx2.get(f"{base}/openapi.json", timeout=1)
            return proc, base
        except httpx2.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{app} did not start")


def _wrk(url: str, duration: int, connections: int) -> tuple[float, float, float, int]:
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, pct("50"), pct("99"), int(non2xx.group(1)) if non2xx else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'verify.db'}" if args.backend == "sqlite" else _pg_url()
    env = {**os.environ, "AUXDUTY_DATABASE_URL": url, "AUXDUTY_DATA_DIR": str(tmp),
           "AUXDUTY_RATE_LIMIT_SCALE": "1000000", "AUXDUTY_ARGON2_TIME_COST": "1",
           "AUXDUTY_ARGON2_MEMORY_KIB": "8192"}
    subprocess.run([sys.executable, "-m", "api.cli", "create-admin", "--username", "bench.justice",
                    "--password", PASSWORD], env=env, check=True, stdout=subprocess.DEVNULL)
    proc, base = _serve("api.main:app", env)
    bare, bare_base = _serve("bench.verify.bare:app", env)
    try:
        _setup(base)
        with httpx2.Client(base_url=base, timeout=30) as c:
            admin = _login(c, "bench.admin")
            aux_id = c.get("/api/auxiliaries", headers=admin).json()["items"][0]["id"]
            token = c.post(f"/api/auxiliaries/{aux_id}/credential", headers=admin).json()["token"]
            assert c.get(f"/api/public/verify/{token}").json()["status"] == "valid"
        rows = [("bare endpoint (def)", *_wrk(f"{bare_base}/bare/{token}", args.duration, args.connections)),
                ("bare endpoint (async)",
                 *_wrk(f"{bare_base}/bare-async/{token}", args.duration, args.connections)),
                (f"verify ({args.backend})",
                 *_wrk(f"{base}/api/public/verify/{token}", args.duration, args.connections))]
    finally:
        for p in (proc, bare):
            p.terminate()
            p.wait(10)
    print(f"wrk -t2 -c{args.connections} -d{args.duration}s, one uvicorn worker each, on {os.cpu_count()} cores")
    print(f"{'endpoint':<24}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>10}")
    for name, rps, p50, p99, bad in rows:
        print(f"{name:<24}{rps:>10,.0f}{p50:>10.2f}{p99:>10.2f}{bad:>10}")
    best_bare = max(rows[0][1], rows[1][1])
    print(f"verify / faster bare = {rows[2][1] / best_bare:.2f} (target ≥ 0.50); verify p99 {rows[2][3]:.1f} ms "
          f"(target ≤ 20)")


if __name__ == "__main__":
    main()
