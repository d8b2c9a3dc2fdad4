"""A witness outside the service catches a database owner's rollback: two servers' worth of history.

A real `auxduty serve` signs checkpoints while complaints arrive; `auxduty log witness` keeps the last one it
checked. The database is then rolled back to a backup, as its owner could do, and the service restarted on
it: the witness reports the log shrank (`log_truncated`), and once the rolled-back service has grown past
what the witness saw, that its history was rewritten (`log_rewritten`). `auxduty audit verify` sees the
rollback too, from the checkpoints kept outside the database.
"""

import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import pytest

from tests.live import cli, running_service, service_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live")]


def _complain(base: str, n: int) -> None:
    with httpx2.Client(base_url=base, timeout=10) as c:
        for i in range(n):
            r = c.post("/api/public/complaints", json={
                "badge_no": f"NJ{i:06d}", "category": "rude_conduct", "description": f"第{i}次：言语粗暴",
                "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()})
            assert r.status_code == 201, r.text


def _checkpoint_size(base: str, at_least: int) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = httpx2.get(f"{base}/api/public/log/checkpoint", timeout=5)
        if r.status_code == 200 and int(r.text.split("\n")[1]) >= at_least:
            return int(r.text.split("\n")[1])
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint of {at_least} leaves within 20 s")


def _witness(base: str, state: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "api.cli", "log", "witness", "--url", base, "--state", str(state)],
                          capture_output=True, text=True, timeout=60)


def _copy(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def test_the_witness_catches_a_rolled_back_database(tmp_path: Path) -> None:
    db = tmp_path / "auxduty.db"
    env = service_env(f"sqlite:///{db}", tmp_path / "data", AUXDUTY_CHECKPOINT_SECONDS="0.2",
                      AUXDUTY_INTEGRATE_SECONDS="0.1")
    cli(env, "migrate")
    state = tmp_path / "witness.json"
    with running_service(env, tmp_path / "first.log") as base:
        _complain(base, 3)
        first = _checkpoint_size(base, 3)
        seen = _witness(base, state)
        assert seen.returncode == 0, seen.stdout + seen.stderr
    _copy(db, tmp_path / "backup.db")  # what the database owner keeps

    with running_service(env, tmp_path / "second.log") as base:
        _complain(base, 4)
        second = _checkpoint_size(base, first + 4)
        grown = _witness(base, state)
        assert grown.returncode == 0, grown.stdout + grown.stderr

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    _copy(tmp_path / "backup.db", db)  # the rollback
    kept = state.read_text()
    with running_service(env, tmp_path / "third.log") as base:
        _checkpoint_size(base, first)
        shrank = _witness(base, state)
        assert shrank.returncode == 1 and "log_truncated" in shrank.stdout + shrank.stderr, shrank.stdout
        assert state.read_text() == kept  # the witness keeps what it saw, not what it was shown
        audit = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify"], env=env, capture_output=True,
                               text=True, timeout=120)
        assert audit.returncode == 1 and '"log_truncated"' in audit.stdout, audit.stdout + audit.stderr

        _complain(base, second - first + 2)  # other history, longer than what the witness saw
        _checkpoint_size(base, second + 1)
        rewritten = _witness(base, state)
        assert rewritten.returncode == 1 and "log_rewritten" in rewritten.stdout + rewritten.stderr, rewritten.stdout
