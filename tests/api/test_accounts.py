"""Accounts (API.md, "Accounts"): changing one's password ends every login, logging out ends one, and an admin
deactivates and reactivates the accounts of their agency; each change is in the transparency log."""

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy.orm import Session

from api.domain.audit.checkpoints import make_checkpoint, publish
from api.domain.audit.tree import integrate_all
from api.domain.models import Role, User
from api.domain.organisation.accounts import hash_password
from api.settings import Settings
from tests.conftest import make_settings
from tests.factories import PASSWORD, login, make_agency, make_user
from tests.problems import assert_problem

NEW_PASSWORD = "紫金山下 玄武湖边 2026"


@pytest.fixture
def app_settings(data_dir: Path, tmp_path: Path) -> Settings:
    # Checkpoints published outside the database are this test's own: its database is rolled back after it.
    return make_settings(data_dir, log_dir=tmp_path / "log")


def _pair(client: TestClient, user: User, password: str = PASSWORD) -> dict[str, Any]:
    r = client.post("/api/auth/token", data={"username": user.username, "password": password})
    assert r.status_code == 200, r.text
    pair: dict[str, Any] = r.json()
    return pair


def _bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def _change(client: TestClient, pair: dict[str, Any], old: str = PASSWORD, new: str = NEW_PASSWORD) -> Response:
    return client.post("/api/auth/password", json={"old_password": old, "new_password": new}, headers=_bearer(pair))


def _refresh(client: TestClient, pair: dict[str, Any]) -> Response:
    return client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})


def assert_log_verifies(client: TestClient, db: Session) -> None:
    """Checkpoint what was written, then ask the justice bureau's check."""
    log = client.app.state.ctx.log  # type: ignore[attr-defined]
    integrate_all(db)
    publish(log, make_checkpoint(db, log))
    justice = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    body = client.get("/api/audit/verify", headers=login(client, justice)).json()
    assert body["ok"] is True, body


def _actions(client: TestClient, db: Session, entity: str, record_id: object) -> list[str]:
    """The actions of a record's log entries, oldest first, once the integrator has placed them."""
    integrate_all(db)
    justice = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    items = client.get(f"/api/audit/records/{entity}/{record_id}", headers=login(client, justice)).json()["items"]
    return [e["action"] for e in items]


# --- changing one's password --------------------------------------------------------------------------


def test_a_password_change_ends_every_login_of_the_account(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    phone, desk = _pair(client, user), _pair(client, user)
    other = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    bystander = _pair(client, other)
    r = _change(client, desk)
    assert r.status_code == 204 and r.content == b""
    for pair in (phone, desk):
        assert_problem(_refresh(client, pair), 401, "invalid_refresh_token")
        assert_problem(client.get("/api/me", headers=_bearer(pair)), 401, "invalid_token")
    assert_problem(client.post("/api/auth/token", data={"username": user.username, "password": PASSWORD}),
                   401, "invalid_credentials")
    fresh = _pair(client, user, NEW_PASSWORD)
    assert client.get("/api/me", headers=_bearer(fresh)).json()["id"] == str(user.id)
    assert _refresh(client, bystander).status_code == 200  # nobody else's login ends


def test_the_new_hash_has_the_same_argon2_settings(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.OFFICER, agency=make_agency(db))
    assert _change(client, _pair(client, user)).status_code == 204
    db.refresh(user)
    cost = client.app.state.ctx.hash_cost  # type: ignore[attr-defined]
    settings = hash_password("anything at all", cost).split("$")[1:4]  # argon2id, v=19, m=…,t=…,p=…
    assert user.password_hash.split("$")[1:4] == settings
    assert settings[0] == "argon2id" and f"m={cost.memory_kib},t={cost.time_cost}" in settings[2]


def test_a_wrong_old_password_is_403_and_counts_toward_the_login_lockout(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.AUXILIARY, agency=make_agency(db))
    pair = _pair(client, user)
    stored = user.password_hash
    for _ in range(5):
        assert_problem(_change(client, pair, old="not my password"), 403, "wrong_password")
    # The name is locked now, for the right password too, here and at the login.
    locked = _change(client, pair)
    assert_problem(locked, 429, "login_locked")
    assert int(locked.headers["Retry-After"]) > 0
    assert_problem(client.post("/api/auth/token", data={"username": user.username, "password": PASSWORD}),
                   429, "login_locked")
    db.refresh(user)
    assert user.password_hash == stored
    assert _refresh(client, pair).status_code == 200  # a refused change ends no login


@pytest.mark.parametrize(("new", "reasons"), [
    ("short1!", ["too_short"]),
    ("aaaaaaaaaaaa", ["too_few_distinct"]),
    ("1212121212", ["too_few_distinct"]),
    ("Password123", ["common"]),
    ("woaini1314", ["common"]),
    (PASSWORD, ["same_as_old"]),
])
def test_a_weak_new_password_is_422_weak_password_with_its_reasons(
    client: TestClient, db: Session, new: str, reasons: list[str]
) -> None:
    user = make_user(db, role=Role.OFFICER, agency=make_agency(db))
    pair = _pair(client, user)
    body = assert_problem(_change(client, pair, new=new), 422, "weak_password")
    assert body["reasons"] == reasons
    assert "密码" in body["detail"]
    assert _refresh(client, pair).status_code == 200
    assert _pair(client, user)["access_token"]  # the old password still works


def test_a_new_password_containing_the_username_is_weak(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.OFFICER, agency=make_agency(db))
    r = _change(client, _pair(client, user), new=f"my {user.username.upper()} pass")
    assert assert_problem(r, 422, "weak_password")["reasons"] == ["contains_username"]


def test_the_password_change_is_logged_with_the_new_row(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    assert _change(client, _pair(client, user)).status_code == 204
    assert _actions(client, db, "users", user.id)[-1] == "user.password_changed"
    assert_log_verifies(client, db)


def test_a_password_change_needs_a_login(client: TestClient) -> None:
    r = client.post("/api/auth/password", json={"old_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert_problem(r, 401, "unauthenticated")


# --- logging out --------------------------------------------------------------------------------------


def test_logout_ends_that_login_only(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.OFFICER, agency=make_agency(db))
    phone, desk = _pair(client, user), _pair(client, user)
    r = client.post("/api/auth/logout", json={"refresh_token": phone["refresh_token"]})  # no access token needed
    assert r.status_code == 204 and r.content == b""
    assert_problem(_refresh(client, phone), 401, "invalid_refresh_token")
    assert_problem(client.get("/api/me", headers=_bearer(phone)), 401, "invalid_token")
    assert client.get("/api/me", headers=_bearer(desk)).status_code == 200
    assert _refresh(client, desk).status_code == 200


def test_logout_with_a_spent_token_ends_the_login_it_belongs_to(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.OFFICER, agency=make_agency(db))
    first = _pair(client, user)
    second = _refresh(client, first).json()
    assert client.post("/api/auth/logout", json={"refresh_token": first["refresh_token"]}).status_code == 204
    assert_problem(_refresh(client, second), 401, "invalid_refresh_token")
    assert_problem(client.get("/api/me", headers=_bearer(second)), 401, "invalid_token")


def test_logout_is_idempotent_and_tells_nothing_about_a_token(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.OFFICER, agency=make_agency(db))
    pair = _pair(client, user)
    answers = [client.post("/api/auth/logout", json={"refresh_token": token})
               for token in (pair["refresh_token"], pair["refresh_token"], "never-given-out")]
    assert [(r.status_code, r.content) for r in answers] == [(204, b"")] * 3
