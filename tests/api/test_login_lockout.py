"""Failed logins (API.md, "Accounts"): 5 wrong passwords for one username within 15 minutes, or 20 from one
client, lock that username or client with 429 `login_locked` and `Retry-After`, on every host (Redis), at no
Argon2 cost once locked; a crowd of logins never runs more password hashes at once than the setting allows; an
access token dies with its login (refresh-token family)."""

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.domain.models import Role
from api.domain.organisation import accounts
from api.lockout import LoginGuard, LoginLimits, LoginLocked, MemoryCounter, RedisCounter
from api.main import create_app
from tests.conftest import TEST_SECRET, make_settings
from tests.factories import PASSWORD, make_user
from tests.live import serve
from tests.problems import assert_problem

REDIS = "redis://127.0.0.1:6379/0"


def _token(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/auth/token", data={"username": username, "password": password})


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every password verification the service runs (its start time), and the most that ran at once."""
    seen: list[float] = []
    real = accounts._verify

    def counted(*args: object) -> None:
        seen.append(time.monotonic())
        real(*args)  # type: ignore[arg-type]
    monkeypatch.setattr(accounts, "_verify", counted)
    return seen


def test_five_wrong_passwords_lock_the_username_without_hashing_again(
    client: TestClient, db: Session, hashes: list[float]
) -> None:
    user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    other = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    for _ in range(5):
        assert_problem(_token(client, user.username, "wrong-wrong"), 401, "invalid_credentials")
    hashed = len(hashes)
    locked = _token(client, user.username, PASSWORD)  # even the right password, until the window passes
    body = assert_problem(locked, 429, "login_locked")
    assert 14 * 60 < int(locked.headers["Retry-After"]) <= 15 * 60
    assert "分钟" in body["detail"]
    assert len(hashes) == hashed  # refused before any Argon2
    assert _token(client, other.username, PASSWORD).status_code == 200
    # The name is matched as people type it: case and spaces do not open a new window.
    assert_problem(_token(client, f" {user.username.upper()} ", PASSWORD), 429, "login_locked")


def test_a_right_password_clears_the_count_of_wrong_ones(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    for _ in range(2):
        for _ in range(4):
            assert_problem(_token(client, user.username, "wrong-wrong"), 401, "invalid_credentials")
        assert _token(client, user.username, PASSWORD).status_code == 200


def test_twenty_wrong_passwords_from_one_client_lock_that_client(client: TestClient, db: Session) -> None:
    for i in range(20):
        assert_problem(_token(client, f"guess.{i}", "wrong-wrong"), 401, "invalid_credentials")
    user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    assert_problem(_token(client, user.username, PASSWORD), 429, "login_locked")


def test_a_crowd_of_guesses_for_one_name_reaches_argon2_at_most_limit_plus_slots_minus_one_times() -> None:
    """As the login route does it: check, take a hash slot, check again, hash, count the failure."""
    guard = LoginGuard(MemoryCounter(), secret=TEST_SECRET)
    slots = threading.BoundedSemaphore(4)
    hashed: list[int] = []
    barrier = threading.Barrier(60)

    def guess(i: int) -> None:
        barrier.wait()
        try:
            guard.check("li.xieguan", f"10.0.0.{i}")
            with slots:
                guard.check("li.xieguan", f"10.0.0.{i}")
                hashed.append(i)
                time.sleep(0.01)  # the hash
                guard.failed("li.xieguan", f"10.0.0.{i}")
        except LoginLocked:
            pass
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 5 <= len(hashed) <= 5 + 4 - 1


def test_right_passwords_at_once_are_never_locked() -> None:
    guard = LoginGuard(MemoryCounter(), secret=TEST_SECRET)
    for _ in range(50):  # a whole station logging in from one address, the same account on many phones
        guard.check("zhao.xieguan", "10.0.0.9")
        guard.succeeded("zhao.xieguan")


@pytest.fixture
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.fail("Redis must answer at 127.0.0.1:6379 (scripts/services.sh starts it)")
    return REDIS


def test_the_lock_holds_on_every_host_through_redis(redis_url: str) -> None:
    name, client = f"zhang.{uuid.uuid4().hex[:8]}", f"198.51.100.{uuid.uuid4().int % 250}"
    host_a = LoginGuard(RedisCounter(redis_url), secret=TEST_SECRET)
    host_b = LoginGuard(RedisCounter(redis_url), secret=TEST_SECRET)
    for _ in range(5):
        host_a.check(name, client)
        host_a.failed(name, client)
    with pytest.raises(LoginLocked) as locked:
        host_b.check(name, f"203.0.113.{uuid.uuid4().int % 250}")
    assert 0 < locked.value.retry_after <= 15 * 60


def test_a_redis_that_stops_answering_still_locks_in_this_process() -> None:
    guard = LoginGuard(RedisCounter("redis://127.0.0.1:1/0"), secret=TEST_SECRET,
                       limits=LoginLimits(per_username=3))
    for _ in range(3):
        guard.check("wang.xieguan", "10.1.1.1")
        guard.failed("wang.xieguan", "10.1.1.1")
    with pytest.raises(LoginLocked):
        guard.check("wang.xieguan", "10.1.1.1")


def test_a_crowd_of_logins_never_hashes_more_passwords_at_once_than_its_slots(
    pg_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    running, peak, lock = [0], [0], threading.Lock()
    real = accounts._verify

    def slow(*args: object) -> None:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        try:
            real(*args)  # type: ignore[arg-type]
        finally:
            with lock:
                running[0] -= 1
    monkeypatch.setattr(accounts, "_verify", slow)
    codes: list[int] = []
    app = create_app(make_settings(tmp_path, login_hash_slots=2), engine=pg_engine, migrate=False)
    with serve(app) as base, httpx2.Client(base_url=base, timeout=30) as http:
        def one(i: int) -> None:
            codes.append(http.post("/api/auth/token", data={"username": f"crowd.{i}",
                                                            "password": "wrong-wrong"}).status_code)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert peak[0] == 2 and codes == [401] * 12, (peak, codes)


def test_an_access_token_dies_with_its_login_at_once(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    pair = client.post("/api/auth/token", data={"username": user.username, "password": PASSWORD}).json()
    other = client.post("/api/auth/token", data={"username": user.username, "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    assert client.get("/api/me", headers=bearer).status_code == 200
    client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    # The same refresh token again: a stolen phone. Its whole login is revoked, the access token with it.
    assert_problem(client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}), 401,
                   "refresh_token_reused")
    assert_problem(client.get("/api/me", headers=bearer), 401, "invalid_token")
    # The same person's other login (another phone) goes on working.
    assert client.get("/api/me", headers={"Authorization": f"Bearer {other['access_token']}"}).status_code == 200
