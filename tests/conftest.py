"""Fixtures: a real, migrated database per backend (SQLite file, PostgreSQL database) per xdist worker,
and each test inside an outer transaction that is rolled back at the end.

Every database test runs on both backends (``[sqlite]`` and ``[postgresql]`` in its id). Without a
reachable PostgreSQL the ``[postgresql]`` half skips with the reason, except under ``CI=true``, where it
fails: CI must exercise the production database.
"""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.db import leaf_info, make_engine
from api.domain.audit.log import derive_leaf_key
from api.domain.staff.identity import derive_id_key
from api.main import create_app
from api.migrations import upgrade_to_head
from api.settings import Settings

# The browser fixtures (`playwright_driver`, `chromium`) are defined once for every test directory: two
# definitions would start two Playwright drivers in one worker, which Playwright's sync API refuses.
pytest_plugins = ["tests.pw"]

PG_URL = os.environ.get("AUXDUTY_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _worker() -> str:
    # The pid keeps two test runs on one machine (two engineers, or CI and a developer) apart.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def _drop_pg_database(url: str) -> None:
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    name = make_url(url).database
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    except psycopg.Error:
        pass


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: PostgreSQL tests must run)")
    pytest.skip(reason)


def _fresh_pg_database(name: str) -> str:
    """Drop and create ``name`` on the test server; return its SQLAlchemy URL."""
    admin = make_url(PG_URL)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(dsn, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        _skip_or_fail(f"PostgreSQL not reachable at {admin.host}:{admin.port}: {exc}".strip())
    return admin.set(database=name).render_as_string(hide_password=False)


class Backends:
    """Migrated engines, made on first use and shared by every test of this worker."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.engines: dict[str, Engine] = {}

    def engine(self, backend: str, purpose: str = "test") -> Engine:
        key = f"{backend}:{purpose}"
        if key not in self.engines:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp / f'{purpose}-{_worker()}.db'}"
            else:
                url = _fresh_pg_database(f"auxduty_{purpose}_{_worker()}")
            engine = make_engine(url)
            upgrade_to_head(engine)
            self.engines[key] = engine
        return self.engines[key]

    def dispose(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
            if engine.dialect.name == "postgresql":
                _drop_pg_database(engine.url.render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def backends(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backends]:
    b = Backends(tmp_path_factory.mktemp("db"))
    yield b
    b.dispose()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


@pytest.fixture
def connection(backends: Backends, backend: str) -> Iterator[Connection]:
    """One connection in an outer transaction; everything the test and the app write is rolled back."""
    engine = backends.engine(backend)
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


TEST_SECRET = "test-secret-" + "x" * 40
TEST_LEAF_KEY = derive_leaf_key(TEST_SECRET)
"""The leaf MAC key of an app made with ``make_settings``: sessions of tests that write records carry it."""
TEST_ID_KEY = derive_id_key(TEST_SECRET)
"""The key of the id-number hash of an app made with ``make_settings`` (builders hash their people's numbers)."""


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "public_base_url": "https://verify.example.gov.cn",
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "secret_key": TEST_SECRET,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    """The test's own session, on the test's connection (for builders and for reading what the app wrote)."""
    with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
                 info=leaf_info(TEST_LEAF_KEY)) as s:
        yield s


@pytest.fixture
def app_settings(data_dir: Path) -> Settings:
    return make_settings(data_dir)


def app_on(connection: Connection, settings: Settings) -> FastAPI:
    """An app with ``settings`` whose every request's transaction is a savepoint inside the test's outer
    transaction on ``connection``."""
    app = create_app(settings, engine=connection.engine, migrate=False)
    app.state.ctx.sessions = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False,
        info=leaf_info(app.state.ctx.leaf_key),
    )
    return app


@pytest.fixture
def client(connection: Connection, app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(app_on(connection, app_settings), raise_server_exceptions=True) as c:
        yield c


@pytest.fixture
def pg_engine(backends: Backends) -> Engine:
    """A PostgreSQL engine whose transactions really commit, for races between connections."""
    return backends.engine("postgresql", purpose="race")


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"
