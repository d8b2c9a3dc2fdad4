"""What the transparency log says after a test's writes: the actions of one record's entries, and the
justice bureau's check of the whole."""

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.domain.audit.checkpoints import make_checkpoint, publish
from api.domain.audit.tree import integrate_all
from api.domain.models import Role
from tests.factories import login, make_user


def logged_actions(client: TestClient, db: Session, entity: str, record_id: object) -> list[str]:
    """The actions of a record's log entries, oldest first, once the integrator has placed them."""
    integrate_all(db)
    justice = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    items = client.get(f"/api/audit/records/{entity}/{record_id}", headers=login(client, justice)).json()["items"]
    return [e["action"] for e in items]


def assert_log_verifies(client: TestClient, db: Session) -> None:
    """Checkpoint what was written, then ask the justice bureau's check (``GET /api/audit/verify``). The app
    should publish its checkpoints to a directory of the test's own (``log_dir``): the database is rolled
    back after each test."""
    log = client.app.state.ctx.log  # type: ignore[attr-defined]
    integrate_all(db)
    publish(log, make_checkpoint(db, log))
    justice = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    body = client.get("/api/audit/verify", headers=login(client, justice)).json()
    assert body["ok"] is True, body
