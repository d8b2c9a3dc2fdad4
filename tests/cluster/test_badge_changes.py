"""A suspension on one host shows on the next scan on every other host within a second (API.md, "One service on
many hosts"): the hosts share PostgreSQL and Redis, each with its own data dir and memory of badge answers."""

import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from api.context import AppContext
from api.db import leaf_info, make_engine
from api.domain.models import Credential, Role
from api.main import create_app
from tests.conftest import TEST_LEAF_KEY, _drop_pg_database, _fresh_pg_database, _worker, make_settings
from tests.factories import PASSWORD, make_agency, make_auxiliary, make_user
from tests.live import login as live_login
from tests.live import running_service, service_env

pytestmark = pytest.mark.xdist_group("cluster")
REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def shared_db() -> Iterator[Engine]:
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.fail("Redis must answer at 127.0.0.1:6379 (scripts/services.sh starts it)")
    url = _fresh_pg_database(f"auxduty_bus_{_worker()}")
    engine = make_engine(url)
    yield engine
    engine.dispose()
    _drop_pg_database(url)


def _host(engine: Engine, data_dir: Path) -> TestClient:
    return TestClient(create_app(make_settings(data_dir, log_dir=data_dir / "log", redis_url=REDIS), engine=engine))


def _queries(engine: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_a_suspension_on_one_host_shows_on_the_other_within_a_second(shared_db: Engine, tmp_path: Path) -> None:
    # Host a is another process (`auxduty serve`): nothing but PostgreSQL and Redis joins it to host b.
    url = shared_db.url.render_as_string(hide_password=False)
    env = service_env(url, tmp_path / "a", AUXDUTY_REDIS_URL=REDIS, AUXDUTY_LOG_DIR=str(tmp_path / "a-log"))
    with _host(shared_db, tmp_path / "b") as b, running_service(env, tmp_path / "a.log") as base_a, \
            httpx2.Client(base_url=base_a, timeout=10) as a:
        ctx_b: AppContext = b.app.state.ctx  # type: ignore[attr-defined]
        assert ctx_b.badge_bus is not None and ctx_b.badge_bus.connected.wait(5)
        with Session(shared_db, info=leaf_info(TEST_LEAF_KEY), expire_on_commit=False) as s:
            agency = make_agency(s)
            tokens = []
            for n in range(2):
                _, aux = make_auxiliary(s, agency, name=f"协管员{n}")
                cred = s.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
                assert cred is not None
                tokens.append((aux.id, ctx_b.keyring.sign_badge(credential_id=cred.id, version=1)[0]))
            admin = make_user(s, role=Role.AGENCY_ADMIN, agency=agency)
            s.commit()
        for _, token in tokens:
            assert b.get(f"/api/public/verify/{token}").json()["status"] == "valid"  # now remembered on b
        (suspended, token), (_, other) = tokens
        r = a.post(f"/api/auxiliaries/{suspended}/suspend", json={"reason": "调查期间暂停"},
                   headers=live_login(a, admin.username, PASSWORD))
        assert r.status_code == 200, r.text
        started = time.monotonic()
        while b.get(f"/api/public/verify/{token}").json()["status"] != "suspended":
            assert time.monotonic() - started < 1.0, "host b still shows the suspended badge as valid"
            time.sleep(0.02)
        # Only the answer the change touched was forgotten: the other badge is still served from memory.
        seen = _queries(shared_db)
        assert b.get(f"/api/public/verify/{other}").json()["status"] == "valid"
        assert not [q for q in seen if "credentials" in q], seen
