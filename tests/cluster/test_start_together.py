"""Hosts started together on an empty PostgreSQL database all come up (API.md, "One service on many hosts"):
migrations run under a database lock, so the first migrates and the others find the schema at head."""

import os
import threading
from collections.abc import Iterator

import psycopg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from api.db import make_engine
from api.migrations import alembic_config, grant_service_role, upgrade_to_head
from tests.conftest import _drop_pg_database, _fresh_pg_database, _worker

pytestmark = pytest.mark.xdist_group("cluster")

HOSTS = 4


@pytest.fixture
def empty_database() -> Iterator[str]:
    url = _fresh_pg_database(f"auxduty_together_{_worker()}")
    yield url
    _drop_pg_database(url)


def test_hosts_migrating_an_empty_database_at_once_all_succeed(empty_database: str) -> None:
    engines: list[Engine] = [make_engine(empty_database) for _ in range(HOSTS)]
    barrier = threading.Barrier(HOSTS)
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            upgrade_to_head(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engines[0].connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
        # Each migration ran once: the legacy mark of 0005 is one row.
        assert conn.execute(text("SELECT count(*) FROM log_legacy")).scalar_one() == 1
    for e in engines:
        e.dispose()


def test_hosts_granting_the_service_role_at_once_all_succeed(empty_database: str) -> None:
    role = f"auxduty_together_{os.getpid()}"
    admin = make_url(empty_database).set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
    engines: list[Engine] = [make_engine(empty_database) for _ in range(HOSTS)]
    upgrade_to_head(engines[0])
    barrier = threading.Barrier(HOSTS)
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        barrier.wait()
        try:
            for _ in range(3):
                grant_service_role(engine, role)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for e in engines:
        e.dispose()
    assert not errors, errors
