"""The part of the fuzzed world that accounts and oversight need: a second officer with a record waiting for
them (to hand back to the first), a deactivated officer (to switch on again)."""

from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from api.domain.models import Agency, Officer, User
from tests.factories import make_officer, task_payload


def _ok(r: Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def build_accounts(client: TestClient, db: Session, headers: dict[str, dict[str, str]], *, agency: Agency,
                   officer_user: User, officer: Officer) -> dict[str, str]:
    """World ids: ``officer_user``, ``inactive_user`` (deactivated), ``pending_other`` (a record waiting for
    another officer than the world's, so it can be handed to the world's)."""
    _, other = make_officer(db, agency)
    inactive_user, _ = make_officer(db, agency)
    pending_other = _ok(client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(other.id)),
                                    headers=headers["auxiliary"]))
    _ok(client.post(f"/api/users/{inactive_user.id}/deactivate", headers=headers["agency_admin"]))
    return {"officer_user": str(officer_user.id), "inactive_user": str(inactive_user.id),
            "pending_other": pending_other["id"]}
