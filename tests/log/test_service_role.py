"""On PostgreSQL the service connects as a role that cannot update, delete or truncate records, nor drop the
triggers that guard them (第十条(三)); migrations run as the owner. The service still does all its work."""

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from api.db import leaf_info, make_engine
from api.domain.audit.check import verify_log
from api.domain.models import Role
from api.log_keeper import checkpoint_now
from api.main import create_app
from api.migrations import grant_service_role
from tests.conftest import PG_URL, TEST_LEAF_KEY, Backends, make_settings
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user, task_payload
from tests.push_service import Browser, push_service

pytestmark = pytest.mark.xdist_group("live")


@pytest.fixture
def service_engine(backends: Backends) -> Iterator[Engine]:
    owner = backends.engine("postgresql", purpose="role")
    role = f"auxduty_svc_{os.getpid()}"
    admin = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
            conn.execute(f'CREATE ROLE "{role}" LOGIN')
    grant_service_role(owner, role)
    engine = make_engine(owner.url.set(username=role).render_as_string(hide_password=False))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("statement", [
    "UPDATE cosignatures SET note = 'x'", "DELETE FROM tasks", "TRUNCATE log_leaves", "DELETE FROM log_leaves",
    "UPDATE log_checkpoints SET note = 'x'", "ALTER TABLE log_leaves DISABLE TRIGGER log_leaves_no_update",
    "DROP TRIGGER tasks_no_delete ON tasks", "UPDATE shift_events SET lat = 0", "TRUNCATE complaints CASCADE",
    "DELETE FROM complaint_photos", "UPDATE complaint_photos SET bytes = 0",
    "UPDATE assessments SET grade = 'excellent'", "DELETE FROM sanctions", "UPDATE contracts SET ends_on = ends_on",
])
def test_the_service_role_may_not_change_records(service_engine: Engine, statement: str) -> None:
    with service_engine.connect() as conn, pytest.raises(ProgrammingError, match=r"permission denied|must be owner"):
        conn.execute(text(statement))


def test_the_service_does_its_work_as_that_role(
    service_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("role"), log_dir=tmp_path_factory.mktemp("role-log"))
    app = create_app(settings, engine=service_engine, migrate=False)
    with Session(service_engine, expire_on_commit=False, info=leaf_info(TEST_LEAF_KEY)) as s:
        agency = make_agency(s)
        officer_user, officer = make_officer(s, agency)
        aux_user, _ = make_auxiliary(s, agency)
        admin = make_user(s, role=Role.JUSTICE_ADMIN, agency=None)
        s.commit()
    with TestClient(app) as client:
        aux = login(client, aux_user)
        task = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                           headers=aux)
        assert task.status_code == 201, task.text
        cosigned = client.post(f"/api/tasks/{task.json()['id']}/cosign", json={"decision": "approve"},
                               headers=login(client, officer_user))
        assert cosigned.status_code == 200, cosigned.text
        corrected = client.post(f"/api/tasks/{task.json()['id']}/corrections",
                                json=task_payload(id=str(uuid.uuid4()), category="patrol"), headers=aux)
        assert corrected.status_code == 201, corrected.text
        checkpoint_now(app.state.ctx)  # the integrator empties its queue: the one DELETE the role may do
        verified = client.get("/api/audit/verify", headers=login(client, admin)).json()
        assert verified["ok"] is True, verified
    with Session(service_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        assert s.scalar(text("SELECT count(*) FROM log_pending")) == 0
        assert verify_log(s).ok


def test_the_service_role_keeps_push_subscriptions(
    service_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Push subscriptions are no records: the role updates them (a browser registering again) and deletes them
    (a push service answering 410, a browser letting go)."""
    settings = make_settings(tmp_path_factory.mktemp("role-push"), log_dir=tmp_path_factory.mktemp("role-push-log"),
                             push_allowed_hosts="127.0.0.1", push_timeout_seconds=2.0)
    app = create_app(settings, engine=service_engine, migrate=False)
    with Session(service_engine, expire_on_commit=False, info=leaf_info(TEST_LEAF_KEY)) as s:
        agency = make_agency(s)
        officer_user, officer = make_officer(s, agency)
        aux_user, _ = make_auxiliary(s, agency)
        s.commit()
    with push_service() as service, TestClient(app) as client:
        headers = login(client, officer_user)
        browser = Browser(service.endpoint())
        for status in (201, 200):
            r = client.post("/api/push/subscriptions", json=Browser(browser.endpoint).subscription(), headers=headers)
            assert r.status_code == status, r.text
        assert client.post("/api/push/subscriptions", json=browser.subscription(), headers=headers).status_code == 200
        service.status = 410
        task = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                           headers=login(client, aux_user))
        assert task.status_code == 201, task.text
        assert app.state.ctx.push.drain(10) and len(service.received) == 1
        assert browser.decrypt(service.received[0])["task_id"] == task.json()["id"]
        again = client.post("/api/push/subscriptions", json=browser.subscription(), headers=headers)
        assert again.status_code == 201  # the 410 took the first one
        gone = client.request("DELETE", "/api/push/subscriptions", json={"endpoint": browser.endpoint}, headers=headers)
        assert gone.status_code == 204
    with Session(service_engine) as s:
        assert s.scalar(text("SELECT count(*) FROM push_subscriptions WHERE endpoint = :e"),
                        {"e": browser.endpoint}) == 0
