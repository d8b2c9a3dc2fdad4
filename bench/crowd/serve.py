"""The two servers a crowd meets: one ``auxduty serve`` worker on a fresh database, and the bare yardstick."""

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2

from bench.crowd.seed import JUSTICE, PASSWORD
from bench.databases import drop_database, free_port, fresh_database

DATABASE = "auxduty_crowd_bench"
LOOPBACK = "127.0.0.1"


def service_env(url: str, data_dir: Path, *, redis_url: str, light_hashes: bool) -> dict[str, str]:
    """Settings as a deployment sets them; the bench stands where nginx would, so its X-Forwarded-For is believed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUXDUTY_")}
    env.update({
        "AUXDUTY_DATABASE_URL": url,
        "AUXDUTY_DATA_DIR": str(data_dir),
        "AUXDUTY_PUBLIC_BASE_URL": "https://verify.example.gov.cn",
        # A secret of this run only: login lockouts in Redis are keyed with it, so no earlier run's count is met.
        "AUXDUTY_SECRET_KEY": secrets.token_urlsafe(48),
        "AUXDUTY_TRUSTED_PROXIES": LOOPBACK,
        "AUXDUTY_LOG_FORMAT": "json",
        "AUXDUTY_ACCESS_TOKEN_MINUTES": "30",
    })
    if redis_url:
        env["AUXDUTY_REDIS_URL"] = redis_url
    if light_hashes:
        env.update({"AUXDUTY_ARGON2_TIME_COST": "1", "AUXDUTY_ARGON2_MEMORY_KIB": "8192"})
    return env


def cli(env: dict[str, str], *args: str, source: Path | None = None) -> None:
    subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL,
                   cwd=source)


def _wait(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx2.get(url, timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"server did not answer within 60 s:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)


@contextmanager
def _process(command: list[str], env: dict[str, str], ready_path: str, port: int, log: Path,
             source: Path | None = None) -> Iterator[str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=source)
    base = f"http://{LOOPBACK}:{port}"
    try:
        _wait(proc, base + ready_path, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def running_service(env: dict[str, str], log: Path, source: Path | None = None) -> Iterator[str]:
    """``auxduty serve``: one uvicorn worker, migrated at start, as a host of the service runs it; from the
    checkout at ``source`` when given (an earlier commit, for the before figures), else this one."""
    port = free_port()
    command = [sys.executable, "-m", "api.cli", "serve", "--host", LOOPBACK, "--port", str(port)]
    with _process(command, env, "/healthz", port, log, source) as base:
        yield base


@contextmanager
def fresh_service(backend: str, tmp: Path, database: str, source: Path | None, *, redis_url: str = "",
                  metrics: bool = False) -> Iterator[tuple[str, str]]:
    """``running_service`` (this checkout, or ``source``: an earlier commit) on a fresh database, data dir and log
    of its own, the justice bureau's admin made, a city's phones allowed through one client's rate limits (and
    ``/metrics`` to the bench with ``metrics``): its base URL and its key (``now`` or ``before``, for the names
    of the bench's own files of it) until the block ends; then the database is dropped."""
    key = "now" if source is None else "before"
    name = f"{database}_{key}"
    env = service_env(fresh_database(backend, name, tmp), tmp / f"data-{backend}-{key}", redis_url=redis_url,
                      light_hashes=True)
    env["AUXDUTY_RATE_LIMIT_SCALE"] = "1000000"  # one client machine stands for a city's phones
    if metrics:
        env["AUXDUTY_METRICS_ALLOW"] = LOOPBACK
    cli(env, "create-admin", "--username", JUSTICE, "--password", PASSWORD, source=source)
    with running_service(env, tmp / f"serve-{backend}-{key}.log", source) as base:
        yield base, key
    drop_database(backend, name)


SERVICE_HTTP = "api.http_protocol:OneWriteHttpToolsProtocol"
"""The HTTP protocol ``auxduty serve`` runs (api/http_protocol.py), for a bare endpoint on the service's own layer."""


@contextmanager
def running_bare(log: Path, http: str = "auto") -> Iterator[str]:
    """bench/verify/bare.py under one uvicorn worker with the same event loop and HTTP parser as the service;
    with ``http=SERVICE_HTTP``, on the service's own HTTP protocol too."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "bench.verify.bare:app", "--host", LOOPBACK, "--port", str(port),
               "--log-level", "warning", "--no-access-log", "--http", http]
    with _process(command, dict(os.environ), "/openapi.json", port, log) as base:
        yield base
