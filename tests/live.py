"""Real servers for tests: the app on a real uvicorn in a thread (a browser, concurrent clients), or the
whole service in a subprocess (``auxduty serve``, one worker) for crowds, several hosts and kill -9."""

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import httpx2
import uvicorn
from fastapi import FastAPI

from api.http_protocol import OneWriteHttpToolsProtocol
from tests.conftest import TEST_SECRET

PASSWORD = "live-pass-2026"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: FastAPI, *, http: Any = OneWriteHttpToolsProtocol) -> Iterator[str]:
    """Run ``app`` until the block ends, with the HTTP protocol ``auxduty serve`` uses; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", http=http))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def service_env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUXDUTY_")}
    env.update({
        "AUXDUTY_DATABASE_URL": database_url,
        "AUXDUTY_DATA_DIR": str(data_dir),
        "AUXDUTY_PUBLIC_BASE_URL": "https://verify.example.gov.cn",
        "AUXDUTY_SECRET_KEY": TEST_SECRET,
        "AUXDUTY_ARGON2_TIME_COST": "1",
        "AUXDUTY_ARGON2_MEMORY_KIB": "1024",
        "AUXDUTY_DECODER_PREWARM": "0",
    })
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "api.cli", *args], env=env, check=True, stdout=subprocess.DEVNULL)


@contextmanager
def running_service(env: dict[str, str], log: Path) -> Iterator[str]:
    """Start ``auxduty serve`` and yield its base URL once it answers; stop it (and say why it died) after."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"auxduty serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx2.get(f"{base}/.well-known/jwks.json", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"auxduty serve did not answer within 60 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def login(c: httpx2.Client, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = c.post("/api/auth/token", data={"username": username, "password": password})
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def make_district(c: httpx2.Client, justice: dict[str, str], quota: int) -> dict[str, Any]:
    """Through the API, as the justice bureau: the city's bureau and one district under it with ``quota``
    places; returns the district."""
    city = c.post("/api/agencies", headers=justice, json={"name": "南京市城市管理局", "code": "NJ-CG",
                                                           "level": "municipal", "headcount_quota": 0})
    city.raise_for_status()
    district = c.post("/api/agencies", headers=justice, json={
        "name": "玄武区城市管理局", "code": "XW-CG", "level": "district", "parent_id": city.json()["id"],
        "headcount_quota": quota})
    district.raise_for_status()
    return cast("dict[str, Any]", district.json())
