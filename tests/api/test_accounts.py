"""Accounts (API.md, "Accounts"): changing one's password ends every login, logging out ends one, and an admin
deactivates and reactivates the accounts of their agency; each change is in the transparency log."""

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.fieldwork.cosign import cosign_task
from api.domain.models import RefreshToken, Role, User
from api.domain.organisation.accounts import hash_password
from api.settings import Settings
from tests.conftest import make_settings
from tests.factories import PASSWORD, login, make_agency, make_auxiliary, make_officer, make_user, task_payload
from tests.logged import assert_log_verifies, logged_actions
from tests.problems import assert_problem, refused

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
    assert_log_verifies(client, db)  # the next check starts from this one (incremental)
    assert _change(client, _pair(client, user)).status_code == 204
    assert logged_actions(client, db, "users", user.id)[-1] == "user.password_changed"
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


# --- deactivating and reactivating --------------------------------------------------------------------


def _deactivate(client: TestClient, user: User, headers: dict[str, str]) -> Response:
    return client.post(f"/api/users/{user.id}/deactivate", headers=headers)


def test_an_agency_admin_deactivates_an_officer_and_every_login_ends(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    officer_user, officer = make_officer(db, agency)
    _, aux = make_auxiliary(db, agency)
    phone = _pair(client, officer_user)
    aux_headers = login(client, db.get(User, aux.user_id))  # type: ignore[arg-type]
    pending = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                          headers=aux_headers).json()
    r = _deactivate(client, officer_user, login(client, admin))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["active"], body["officer_id"], body["pending_cosign"]) == (False, str(officer.id), 1)
    assert_problem(_refresh(client, phone), 401, "invalid_refresh_token")
    assert_problem(client.get("/api/me", headers=_bearer(phone)), 401, "invalid_token")
    assert_problem(client.post("/api/auth/token", data={"username": officer_user.username, "password": PASSWORD}),
                   401, "invalid_credentials")
    # Not available to co-sign, nor to be named on new work (第八条).
    assert_problem(client.post(f"/api/tasks/{pending['id']}/cosign", json={"decision": "approve"},
                               headers=_bearer(phone)), 401, "invalid_token")
    named = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                        headers=aux_headers)
    assert_problem(named, 422, "officer_not_available", "第八条")
    assert logged_actions(client, db, "users", officer_user.id)[-1] == "user.deactivated"
    assert_log_verifies(client, db)


def test_a_deactivated_officer_cannot_co_sign_even_past_the_login(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    task = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                       headers=login(client, aux_user)).json()
    officer_user.active = False
    db.flush()
    with refused("officer_not_available", "第八条", status=403):
        cosign_task(db, user=officer_user, task_id=uuid.UUID(task["id"]), approve=True, note=None,
                    position=None)


def test_the_justice_bureau_deactivates_and_reactivates_an_agency_admin(client: TestClient, db: Session) -> None:
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    before = _pair(client, admin)
    assert _deactivate(client, admin, justice).json()["active"] is False
    assert_problem(_deactivate(client, admin, justice), 409, "account_already_inactive")
    r = client.post(f"/api/users/{admin.id}/reactivate", headers=justice)
    assert r.status_code == 200 and r.json()["active"] is True and r.json()["pending_cosign"] is None
    assert_problem(client.post(f"/api/users/{admin.id}/reactivate", headers=justice), 409, "account_already_active")
    assert_problem(_refresh(client, before), 401, "invalid_refresh_token")  # old logins stay ended
    assert client.get("/api/me", headers=_bearer(_pair(client, admin))).status_code == 200
    assert logged_actions(client, db, "users", admin.id)[-2:] == ["user.deactivated", "user.reactivated"]
    assert_log_verifies(client, db)


def test_only_the_justice_bureau_and_the_agency_itself_switch_accounts(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    officer_user, _ = make_officer(db, agency)
    stranger = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    justice_user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    own_admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    aux_user, _ = make_auxiliary(db, agency)
    for verb in ("deactivate", "reactivate"):
        assert_problem(client.post(f"/api/users/{officer_user.id}/{verb}", headers=stranger), 403,
                       "not_your_agency", "第五条")
        for caller in (officer_user, aux_user):
            assert_problem(client.post(f"/api/users/{officer_user.id}/{verb}", headers=login(client, caller)), 403,
                           "role_not_allowed")
    assert_problem(_deactivate(client, justice_user, own_admin), 403, "not_your_agency")
    assert_problem(client.post(f"/api/users/{uuid.uuid4()}/deactivate", headers=own_admin), 404, "not_found")
    assert _deactivate(client, officer_user, own_admin).status_code == 200


def test_an_admin_cannot_deactivate_themself(client: TestClient, db: Session) -> None:
    for admin in (make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)),
                  make_user(db, role=Role.JUSTICE_ADMIN, agency=None)):
        assert_problem(_deactivate(client, admin, login(client, admin)), 409, "cannot_deactivate_self")
        db.refresh(admin)
        assert admin.active


def test_an_auxiliary_account_closes_through_departure_not_here(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    aux_user, aux = make_auxiliary(db, agency)
    pair = _pair(client, aux_user)
    body = assert_problem(_deactivate(client, aux_user, admin), 409, "account_follows_departure", "第二十七条")
    assert body["departure_path"] == f"/api/auxiliaries/{aux.id}/departure"
    assert_problem(client.post(f"/api/users/{aux_user.id}/reactivate", headers=admin), 409,
                   "account_follows_departure")
    assert _refresh(client, pair).status_code == 200  # nothing was switched
    r = client.post(body["departure_path"], headers=admin, json={
        "left_on": "2026-11-30", "reason": "合同期满", "items_recovered": ["credential", "badge"]})
    assert r.status_code == 200, r.text
    # The departure ends its logins at once, as a deactivation does.
    db.expire_all()
    tokens = db.scalars(select(RefreshToken).where(RefreshToken.user_id == aux_user.id)).all()
    assert tokens and all(t.revoked_at is not None for t in tokens)


def test_an_officers_pending_records_are_listed_for_the_agency(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    aux = login(client, aux_user)
    ids = {client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                       headers=aux).json()["id"] for _ in range(3)}
    client.post("/api/tasks", json=task_payload(), headers=aux)  # recorded, owes nobody a co-signature
    _deactivate(client, officer_user, admin)
    first = client.get(f"/api/users/{officer_user.id}/pending-tasks?limit=2", headers=admin).json()
    second = client.get(f"/api/users/{officer_user.id}/pending-tasks?limit=2&cursor={first['next_cursor']}",
                        headers=admin).json()
    listed = [t for page in (first, second) for t in page["items"]]
    assert {t["id"] for t in listed} == ids and {t["status"] for t in listed} == {"pending_cosign"}
    assert client.get(f"/api/users/{aux_user.id}/pending-tasks", headers=admin).json()["items"] == []
    stranger = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    assert_problem(client.get(f"/api/users/{officer_user.id}/pending-tasks", headers=stranger), 403,
                   "not_your_agency")
