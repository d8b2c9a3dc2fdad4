"""Fixtures for the object store: a real S3-compatible server (the SeaweedFS of scripts/seaweedfs.sh, or any
endpoint named by ``AUXDUTY_TEST_S3_ENDPOINT_URL``), one bucket per test run and worker, one prefix per test.

Without a reachable server these tests skip with the reason, except under ``CI=true``, where they fail: CI
must exercise the shared store, as it must exercise PostgreSQL.
"""

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import sessionmaker

from api.db import leaf_info
from api.main import create_app
from api.settings import Settings
from tests.conftest import IN_CI, make_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

ENDPOINT = os.environ.get("AUXDUTY_TEST_S3_ENDPOINT_URL", "http://127.0.0.1:8533")
ACCESS_KEY = os.environ.get("AUXDUTY_TEST_S3_ACCESS_KEY_ID", "auxduty-test")
SECRET_KEY = os.environ.get("AUXDUTY_TEST_S3_SECRET_ACCESS_KEY", "auxduty-test-secret")


def s3_client(endpoint: str = ENDPOINT, secret: str = SECRET_KEY) -> "S3Client":
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=secret,
        region_name="us-east-1", config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1},
                                               s3={"addressing_style": "path"}))


@pytest.fixture(scope="session")
def s3() -> "S3Client":
    client = s3_client()
    try:
        client.list_buckets()
    except (BotoCoreError, ClientError) as exc:
        reason = f"no S3-compatible store at {ENDPOINT} (bash scripts/seaweedfs.sh starts one): {exc}"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: object-storage tests must run)")
        pytest.skip(reason)
    return client


@pytest.fixture(scope="session")
def bucket(s3: "S3Client") -> Iterator[str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"auxduty-test-{worker}-{os.getpid()}-{uuid.uuid4().hex[:8]}".lower()
    s3.create_bucket(Bucket=name)
    yield name
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=obj["Key"])
    s3.delete_bucket(Bucket=name)


@pytest.fixture
def prefix() -> str:
    """This test's own corner of the bucket: what another test stored is not in it."""
    return f"run-{uuid.uuid4().hex[:12]}/evidence"


def s3_settings(data_dir: Path, bucket: str, prefix: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "storage_url": f"s3://{bucket}/{prefix}",
        "s3_endpoint_url": ENDPOINT,
        "s3_access_key_id": ACCESS_KEY,
        "s3_secret_access_key": SECRET_KEY,
        "log_dir": data_dir / "log",
    }
    values.update(overrides)
    return make_settings(data_dir, **values)


@pytest.fixture
def app_settings(tmp_path: Path, bucket: str, prefix: str) -> Settings:
    """Host A of the service: its own data dir, the shared bucket."""
    return s3_settings(tmp_path / "host-a", bucket, prefix)


@pytest.fixture
def host(connection: Connection) -> Iterator[Callable[[Settings], TestClient]]:
    """Start another host of the service: the same database (inside the test's transaction), its own
    settings (data dir, store)."""
    with ExitStack() as stack:

        def start(settings: Settings) -> TestClient:
            app = create_app(settings, engine=connection.engine, migrate=False)
            app.state.ctx.sessions = sessionmaker(
                bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                info=leaf_info(app.state.ctx.leaf_key),
            )
            return stack.enter_context(TestClient(app))

        yield start
