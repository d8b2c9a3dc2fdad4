"""The promises of API.md, "One service on many hosts", kept by a real topology: two ``auxduty serve`` hosts behind
nginx, started by scripts/cluster.sh, sharing PostgreSQL, Redis, an S3 bucket and the secret, each with its own
data dir. Each promise is checked from one host to the other, bypassing the proxy, and through the proxy, as a
phone or a citizen's browser meets the service."""

import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import jwt
import pytest
import redis
from alembic.script import ScriptDirectory
from sqlalchemy import text

from api.db import make_engine
from api.migrations import alembic_config
from api.settings import Settings
from tests.cluster.conftest import REDIS, Clients, World
from tests.cluster.topology import Topology, client, loopback_address
from tests.factories import XINJIEKOU_ZONE, task_payload
from tests.live import PASSWORD, login

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster")]


@dataclass(frozen=True)
class Badge:
    auxiliary_id: str
    username: str
    token: str


def hire_with_badge(c: httpx2.Client, world: World) -> Badge:
    """Hire, train and badge an auxiliary through ``c``."""
    admin = login(c, world.admin)
    username = f"aux.{uuid.uuid4().hex[:8]}"
    r = c.post("/api/auxiliaries", headers=admin, json={
        "name": "赵协管", "username": username, "password": PASSWORD, "birth_date": "1995-05-01",
        "education": "high_school", "hire_method": "direct", "agency_id": world.district_id,
        "hired_on": "2026-03-01", "categories": ["patrol", "publicity"], "zones": XINJIEKOU_ZONE,
        "record": {"criminal_record": False, "pending_criminal_case": False, "dismissed_for_violation": False,
                   "serious_dishonesty": False},
        "preferences": {"martyr_family": False, "veteran": False, "heroic_deed": False}})
    assert r.status_code == 201, r.text
    aux_id = r.json()["id"]
    r = c.post(f"/api/auxiliaries/{aux_id}/trainings", headers=admin, json={
        "kind": "pre_job", "hours": 40, "completed_on": "2026-03-10", "passed": True})
    assert r.status_code == 201, r.text
    return Badge(aux_id, username, reissue(c, world, aux_id))


def reissue(c: httpx2.Client, world: World, aux_id: str) -> str:
    r = c.post(f"/api/auxiliaries/{aux_id}/credential", headers=login(c, world.admin))
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def status_on(c: httpx2.Client, token: str) -> str:
    r = c.get(f"/api/public/verify/{token}")
    assert r.status_code == 200, r.text
    status: str = r.json()["status"]
    return status


def logged_request(topology: Topology, request_id: str) -> tuple[str, dict[str, Any]]:
    """The host that answered the request ``request_id``, and the line it logged about it."""
    deadline = time.monotonic() + 3
    while True:
        for host in topology.hosts:
            for line in topology.log(host).splitlines():
                if request_id in line and line.startswith("{"):
                    entry: dict[str, Any] = json.loads(line)
                    if entry.get("request_id") == request_id and entry.get("event") == "request":
                        return host, entry
        assert time.monotonic() < deadline, f"no host logged request {request_id}"
        time.sleep(0.05)


def _started_at(pid: int) -> float:
    """When process ``pid`` started, in seconds since the machine booted."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def test_both_hosts_started_at_the_same_moment_on_an_empty_database_came_up(topology: Topology) -> None:
    assert abs(_started_at(topology.pid("a")) - _started_at(topology.pid("b"))) < 0.5
    for host, base in topology.hosts.items():
        assert httpx2.get(f"{base}/readyz", timeout=5).status_code == 200, host
        assert "Traceback" not in topology.log(host), topology.log(host)[-4000:]
    engine = make_engine(topology.env("a")["AUXDUTY_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
            # Each migration ran once, by one of the two: the legacy mark of 0005 is one row.
            assert conn.execute(text("SELECT count(*) FROM log_legacy")).scalar_one() == 1
    finally:
        engine.dispose()


def test_readyz_answers_200_on_each_host_and_through_the_proxy(clients: Clients) -> None:
    for c in (clients.a, clients.b, clients.proxy):
        r = c.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["checks"] == {"database": "ok", "redis": "ok", "storage": "ok"}


def test_the_proxy_sends_requests_to_both_hosts_under_a_request_id_of_its_own(
    topology: Topology, clients: Clients
) -> None:
    answered = set()
    for _ in range(4):
        r = clients.proxy.get("/healthz", headers={"X-Request-Id": "chosen-by-the-client"})
        assert r.status_code == 200
        request_id = r.headers["x-request-id"]
        assert request_id != "chosen-by-the-client" and len(request_id) == 32
        host, entry = logged_request(topology, request_id)
        assert entry["client"] == clients.address
        upstream = topology.hosts[host].removeprefix("http://")
        deadline = time.monotonic() + 3
        while f"request_id={request_id} upstream={upstream} " not in topology.log("proxy"):
            assert time.monotonic() < deadline, f"nginx did not log {request_id} as sent to {upstream}"
            time.sleep(0.05)
        answered.add(host)
    assert answered == {"a", "b"}


def test_a_login_on_one_host_works_on_the_other_and_through_the_proxy(clients: Clients, world: World) -> None:
    r = clients.a.post("/api/auth/token", data={"username": world.justice, "password": PASSWORD})
    assert r.status_code == 200, r.text
    pair = r.json()
    for c in (clients.b, clients.proxy):
        me = c.get("/api/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert me.status_code == 200, me.text
        assert me.json()["username"] == world.justice
    # The refresh token rotates on host b; the new access token works on host a.
    r = clients.b.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert clients.a.get("/api/me", headers=fresh).status_code == 200
    # The first refresh token used again, on host a: the whole family is revoked, on host b too.
    r = clients.a.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "refresh_token_reused", r.text
    assert clients.b.get("/api/me", headers=fresh).status_code == 401


def test_a_badge_issued_through_host_a_verifies_as_valid_on_host_b(clients: Clients, world: World) -> None:
    badge = hire_with_badge(clients.a, world)
    for c in (clients.b, clients.proxy, clients.proxy):
        assert status_on(c, badge.token) == "valid"


def test_a_key_rotated_with_host_a_env_signs_on_both_hosts(
    topology: Topology, clients: Clients, world: World
) -> None:
    old = hire_with_badge(clients.a, world)
    rotated = subprocess.run([sys.executable, "-m", "api.cli", "keys", "rotate"], env=topology.env("a"),
                             check=True, capture_output=True, text=True).stdout
    kid = rotated.split("new signing key: ", 1)[1].split()[0]
    started = time.monotonic()
    for c in (clients.a, clients.b):
        while kid not in {k["kid"] for k in c.get("/.well-known/jwks.json").json()["keys"]}:
            assert time.monotonic() - started < 1.5, f"{c.base_url} does not publish {kid} within a second"
            time.sleep(0.05)
    new = hire_with_badge(clients.a, world)
    assert jwt.get_unverified_header(new.token)["kid"] == kid
    assert jwt.get_unverified_header(old.token)["kid"] != kid
    for c in (clients.b, clients.proxy, clients.proxy):
        assert status_on(c, new.token) == "valid"
        assert status_on(c, old.token) == "valid"  # badges signed before keep verifying
    assert kid in {k["kid"] for k in clients.proxy.get("/.well-known/jwks.json").json()["keys"]}


def test_a_suspension_through_host_a_shows_on_host_b_within_a_second(
    clients: Clients, world: World, record_property: Callable[[str, object], None]
) -> None:
    badge = hire_with_badge(clients.a, world)
    for _ in range(2):
        assert status_on(clients.b, badge.token) == "valid"  # and now remembered on host b
    r = clients.a.post(f"/api/auxiliaries/{badge.auxiliary_id}/suspend", json={"reason": "调查期间暂停"},
                       headers=login(clients.a, world.admin))
    assert r.status_code == 200, r.text
    suspended_at = time.monotonic()
    while status_on(clients.b, badge.token) != "suspended":
        assert time.monotonic() - suspended_at < 1.0, "host b still shows the suspended badge as valid"
        time.sleep(0.005)
    seen_after = time.monotonic() - suspended_at
    record_property("suspension_seen_on_host_b_ms", round(seen_after * 1000, 1))
    print(f"suspension seen on host b after {seen_after * 1000:.1f} ms")
    for c in (clients.proxy, clients.proxy):
        assert status_on(c, badge.token) == "suspended"


def test_an_evidence_file_stored_through_host_a_is_served_byte_for_byte_by_host_b(
    clients: Clients, world: World
) -> None:
    badge = hire_with_badge(clients.a, world)
    aux = login(clients.a, badge.username)
    task = clients.a.post("/api/tasks", json=task_payload(), headers=aux)
    assert task.status_code == 201, task.text
    evidence = f"/api/tasks/{task.json()['id']}/evidence"
    # Through host a, then through the proxy a file larger than nginx lets through unless told (1 MiB).
    for via, size in ((clients.a, 300_000), (clients.proxy, 3 * 1024 * 1024 + 5)):
        data = os.urandom(size)
        r = via.post(evidence, files={"file": ("现场.jpg", data, "image/jpeg")}, headers=aux)
        assert r.status_code == 201, r.text
        sha = hashlib.sha256(data).hexdigest()
        assert r.json()["sha256"] == sha
        for c in (clients.b, clients.a):
            got = c.get(f"{evidence}/{r.json()['id']}", headers=aux)
            assert got.status_code == 200, got.text
            assert got.content == data
            assert got.headers["etag"] == f'"{sha}"'


def test_an_x_forwarded_for_written_by_a_client_is_not_believed(topology: Topology, world: World) -> None:
    # Failed logins are counted per client: a client that could make the hosts believe an address of its
    # choosing would never be locked out. Through nginx, every guess below claims to come from elsewhere.
    limit = Settings.model_fields["login_failures_per_client"].default
    guesser, neighbour = loopback_address(), loopback_address()
    try:
        with client(topology.proxy, guesser) as c:
            for n in range(limit):
                r = c.post("/api/auth/token", data={"username": f"nobody.{uuid.uuid4().hex[:8]}", "password": "x"},
                           headers={"X-Forwarded-For": f"203.0.113.{n + 1}"})
                assert r.status_code == 401, r.text
                assert logged_request(topology, r.headers["x-request-id"])[1]["client"] == guesser
            r = c.post("/api/auth/token", data={"username": world.justice, "password": PASSWORD},
                       headers={"X-Forwarded-For": "198.51.100.7"})
            assert r.status_code == 429 and r.json()["code"] == "login_locked", r.text
            assert int(r.headers["retry-after"]) > 0
        # The same client straight to either host is the same client, locked on both.
        for base in topology.hosts.values():
            with client(base, guesser) as c:
                r = c.post("/api/auth/token", data={"username": world.justice, "password": PASSWORD})
                assert r.status_code == 429, r.text
        # The lock is the guesser's, not the proxy's: another client behind the same proxy logs in.
        with client(topology.proxy, neighbour) as c:
            assert c.post("/api/auth/token", data={"username": world.justice, "password": PASSWORD}).status_code \
                == 200
    finally:
        redis.Redis.from_url(REDIS).delete(f"auxduty:login:c:{guesser}")
