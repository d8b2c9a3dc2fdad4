"""The part of the fuzzed world that the admins' operations on accounts and oversight need: a second officer
with a record waiting for them (to hand to the world's officer), a deactivated officer (to switch on again),
Article 19 cases with a rectification order in each state an operation starts from."""

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import Agency, Article19Case, Officer, User
from api.domain.oversight.rectification import beijing_today
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


def due_on() -> str:
    """A deadline the operations take: a month ahead of today in Beijing (the documented examples age)."""
    return (beijing_today() + timedelta(days=30)).isoformat()


def _case(client: TestClient, db: Session, headers: dict[str, dict[str, str]]) -> str:
    body = task_payload(flags={"fine_quota": True})
    r = client.post("/api/tasks", json=body, headers=headers["auxiliary"])
    assert r.status_code == 422 and r.json()["code"] == "forbidden_work", r.text
    case_id = db.scalar(select(Article19Case.id).where(Article19Case.attempt_id == uuid.UUID(body["id"])))
    assert case_id is not None
    return str(case_id)


def build_rectification(client: TestClient, db: Session, headers: dict[str, dict[str, str]]) -> dict[str, str]:
    """World ids: ``case`` (an Article 19 case with no order yet), ``order_issued`` (to answer) and
    ``order_answered`` (to close or reopen)."""
    ids = {"case": _case(client, db, headers)}
    for name in ("order_issued", "order_answered"):
        body = {"instructions": "限期整改", "due_on": due_on()}
        order = _ok(client.post(f"/api/article19-cases/{_case(client, db, headers)}/rectification", json=body,
                                headers=headers["justice_admin"]))
        ids[name] = order["id"]
    _ok(client.post(f"/api/rectification-orders/{ids['order_answered']}/answer", json={"measures": "已整改"},
                    headers=headers["agency_admin"]))
    return ids
