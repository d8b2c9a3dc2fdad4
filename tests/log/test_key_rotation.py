"""Rotating a key is a write like any other (API.md: key rotations are in the log): each rotation appends a
leaf naming the key and the hash of its public form; checkpoints are then signed by old and new keys."""

import hashlib
import sqlite3
from pathlib import Path

import pytest

from tests.live import cli, service_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live")]


def test_badge_and_log_key_rotations_are_logged(tmp_path: Path) -> None:
    db = tmp_path / "auxduty.db"
    env = service_env(f"sqlite:///{db}", tmp_path / "data")
    cli(env, "migrate")
    cli(env, "keys", "rotate")
    cli(env, "log", "rotate-key")
    cli(env, "log", "rotate-key")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT entity, entity_id, action, row_hash FROM log_pending ORDER BY seq").fetchall()
    assert [(r[0], r[2]) for r in rows] == [("badge_keys", "badge_key.rotated"), ("log_keys", "log_key.rotated"),
                                            ("log_keys", "log_key.rotated")]
    log_keys = sorted((tmp_path / "data" / "log-keys").glob("*.ed25519"))
    assert len(log_keys) == 2  # each rotation adds one; the older keeps signing until retired
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    publics = {hashlib.sha256(Ed25519PrivateKey.from_private_bytes(f.read_bytes()).public_key().public_bytes_raw())
               .hexdigest() for f in log_keys}
    assert {rows[1][3], rows[2][3]} == publics
    cli(env, "log", "checkpoint")
    note = next((tmp_path / "data" / "log" / "checkpoints").glob("*.txt")).read_text()
    assert note.count("\n— ") == 2  # signed by every kept key, newest first
