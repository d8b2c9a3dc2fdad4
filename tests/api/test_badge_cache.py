"""Remembered badge answers: served without a query, and dropped by any change, in every worker at once."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session, sessionmaker

from api.badge_cache import BadgeCache, Generation
from api.db import leaf_info
from api.domain.models import Credential, Role
from api.domain.staff.badge_status import BadgeCheck, BadgeStatus
from api.main import create_app
from tests.conftest import make_settings
from tests.factories import login, make_agency, make_auxiliary, make_user


def test_a_new_generation_retires_every_remembered_answer(tmp_path: Path) -> None:
    gen = Generation(tmp_path)
    cache: BadgeCache[BadgeCheck] = BadgeCache(gen)
    cache.put("t", gen.current(), BadgeCheck(BadgeStatus.VALID))
    assert cache.get("t") is not None
    Generation(tmp_path).bump()  # another worker's commit
    assert cache.get("t") is None


@pytest.fixture
def second_worker(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    """Another app (worker) on the same database and data dir, with its own memory."""
    app = create_app(make_settings(data_dir), engine=connection.engine, migrate=False)
    app.state.ctx.sessions = sessionmaker(bind=connection, join_transaction_mode="create_savepoint",
                                          expire_on_commit=False, info=leaf_info(app.state.ctx.leaf_key))
    with TestClient(app) as c:
        yield c


def test_cached_answer_needs_no_query_and_a_suspension_elsewhere_shows_at_once(
    client: TestClient, second_worker: TestClient, db: Session, connection: Connection
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = client.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=1)  # type: ignore[attr-defined]
    db.commit()
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "valid"
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(connection.engine, "before_cursor_execute", listener)
    try:
        assert client.get(f"/api/public/verify/{token}").json()["status"] == "valid"
    finally:
        event.remove(connection.engine, "before_cursor_execute", listener)
    assert statements == []
    r = second_worker.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "调查期间暂停"},
                           headers=login(second_worker, admin))
    assert r.status_code == 200, r.text
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "suspended"
