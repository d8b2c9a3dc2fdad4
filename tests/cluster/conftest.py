"""The two-host topology of scripts/cluster.sh, started once per test module that asks for it: a fresh PostgreSQL
database of this worker, a bucket of its own on the S3 store of scripts/seaweedfs.sh, the Redis at 127.0.0.1.

Without nginx, the S3 store, Redis or PostgreSQL these tests skip with the reason, except under ``CI=true``,
where they fail: CI must exercise the real topology.
"""

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2
import pytest
import redis
from botocore.exceptions import BotoCoreError, ClientError

from tests.cluster.topology import Topology, client, loopback_address, running_topology, script_env
from tests.conftest import IN_CI, _drop_pg_database, _fresh_pg_database, _worker
from tests.live import PASSWORD, cli, login
from tests.storage.conftest import ACCESS_KEY, ENDPOINT, SECRET_KEY, s3_client

REDIS = "redis://127.0.0.1:6379/0"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the two-host topology must be tested)")
    pytest.skip(reason)


def _nginx_installed() -> bool:
    return shutil.which("nginx") is not None or os.access("/usr/sbin/nginx", os.X_OK)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    if not _nginx_installed():
        _missing("nginx is not installed (AUXDUTY_SETUP_CLUSTER=1 bash scripts/setup.sh installs it)")
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _missing(f"Redis does not answer at 127.0.0.1:6379 (scripts/services.sh starts it): {exc}")
    s3 = s3_client()
    try:
        s3.list_buckets()
    except (BotoCoreError, ClientError) as exc:
        _missing(f"no S3-compatible store at {ENDPOINT} (bash scripts/seaweedfs.sh starts one): {exc}")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    bucket = f"auxduty-cluster-{worker}-{os.getpid()}-{uuid.uuid4().hex[:8]}".lower()
    database_url = _fresh_pg_database(f"auxduty_cluster_{_worker()}")
    env = script_env(
        tmp_path_factory.mktemp("cluster"), database_url, f"s3://{bucket}/evidence",
        AUXDUTY_CLUSTER_S3_ENDPOINT_URL=ENDPOINT,
        AUXDUTY_CLUSTER_S3_ACCESS_KEY_ID=ACCESS_KEY,
        AUXDUTY_CLUSTER_S3_SECRET_ACCESS_KEY=SECRET_KEY,
        AUXDUTY_PUBLIC_BASE_URL="https://verify.example.gov.cn",
        AUXDUTY_ARGON2_TIME_COST="1",
        AUXDUTY_ARGON2_MEMORY_KIB="1024",
        AUXDUTY_DECODER_WORKERS="1",
        AUXDUTY_RATE_LIMIT_SCALE="10",
    )
    try:
        with running_topology(env) as started:
            yield started
    finally:
        _drop_pg_database(database_url)
        _remove_bucket(bucket)


def _remove_bucket(bucket: str) -> None:
    s3 = s3_client()
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
    except ClientError:
        pass  # never made: the topology did not start


@dataclass(frozen=True)
class Clients:
    """Clients of the proxy and of each host, all from one loopback address of this module's own."""

    address: str
    proxy: httpx2.Client
    a: httpx2.Client
    b: httpx2.Client


@pytest.fixture(scope="module")
def clients(topology: Topology) -> Iterator[Clients]:
    address = loopback_address()
    with client(topology.proxy, address) as proxy, client(topology.hosts["a"], address) as a, \
            client(topology.hosts["b"], address) as b:
        yield Clients(address, proxy, a, b)


@dataclass(frozen=True)
class World:
    """What the tests start from: a justice_admin, and a district with its agency_admin."""

    justice: str
    admin: str
    district_id: str


@pytest.fixture(scope="module")
def world(topology: Topology, clients: Clients) -> World:
    tag = uuid.uuid4().hex[:6]
    justice, admin = f"justice.{tag}", f"admin.{tag}"
    cli(topology.env("a"), "create-admin", "--username", justice, "--password", PASSWORD)
    c = clients.proxy
    j = login(c, justice)
    city = c.post("/api/agencies", headers=j, json={"name": f"南京市城市管理局{tag}", "code": f"NJ-{tag}",
                                                     "level": "municipal", "headcount_quota": 0})
    assert city.status_code == 201, city.text
    district = c.post("/api/agencies", headers=j, json={
        "name": f"玄武区城市管理局{tag}", "code": f"XW-{tag}", "level": "district", "parent_id": city.json()["id"],
        "headcount_quota": 50})
    assert district.status_code == 201, district.text
    r = c.post("/api/users", headers=j, json={"username": admin, "password": PASSWORD, "role": "agency_admin",
                                              "agency_id": district.json()["id"], "name": "管理员"})
    assert r.status_code == 201, r.text
    return World(justice, admin, district.json()["id"])
