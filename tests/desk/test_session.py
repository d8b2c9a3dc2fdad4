"""The desk's login: the session cookie's flags, who may log in, the lockout shared with the API, logout and
expiry ending the session on the server, and the desk's cookie opening the API's reads but never its writes."""

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select, update
from sqlalchemy.orm import Session

from api.domain.base import utcnow
from api.domain.models import AuxiliaryStatus, RefreshToken, Role
from tests.conftest import app_on, make_settings
from tests.desk.conftest import Desk
from tests.desk.helpers import desk_login, form_token, post, try_login
from tests.factories import PASSWORD, login, make_auxiliary, make_officer, make_user


def _set_cookies(response: object) -> list[str]:
    return response.headers.get_list("set-cookie")  # type: ignore[attr-defined, no-any-return]


def _session_cookie(response: object) -> str:
    found = [c for c in _set_cookies(response) if c.startswith("auxduty_desk=")]
    assert len(found) == 1, _set_cookies(response)
    return found[0]


def test_the_session_cookie_is_httponly_and_samesite_strict_and_not_secure_over_plain_http(
    client: TestClient, desk: Desk
) -> None:
    r = try_login(client, desk.admin.username)
    assert r.status_code == 303 and r.headers["location"] == "/desk/"
    cookie = _session_cookie(r).lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "; secure" not in cookie


def _app(connection: Connection, data_dir: Path, **settings: object) -> FastAPI:
    return app_on(connection, make_settings(data_dir, **settings))


def test_the_session_cookie_is_secure_when_served_over_https(
    connection: Connection, data_dir: Path, desk: Desk
) -> None:
    app = _app(connection, data_dir)
    with TestClient(app, base_url="https://desk.example.gov.cn") as https:
        r = try_login(https, desk.admin.username)
        assert r.status_code == 303
        assert "; secure" in _session_cookie(r).lower()


@pytest.fixture
def behind_proxy(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    app = _app(connection, data_dir, trusted_proxies="10.0.0.0/8")
    with TestClient(app, client=("10.0.0.2", 4711)) as c:
        yield c


def test_behind_a_trusted_proxy_the_cookie_is_secure_when_the_proxy_says_https(
    behind_proxy: TestClient, desk: Desk
) -> None:
    proxied = {"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}
    page = behind_proxy.get("/desk/login", headers=proxied)
    binding = next(c for c in _set_cookies(page) if c.startswith("auxduty_desk_login="))
    assert "; secure" in binding.lower()
    # The test client speaks plain http to the app, as the proxy does: it sends the Secure cookie back by hand.
    r = behind_proxy.post("/desk/login", headers={**proxied, "Cookie": binding.split(";")[0]}, data={
        "username": desk.admin.username, "password": PASSWORD, "csrf_token": form_token(page.text)},
        follow_redirects=False)
    assert r.status_code == 303
    assert "; secure" in _session_cookie(r).lower()


def test_an_untrusted_peer_saying_https_is_not_believed(client: TestClient, desk: Desk) -> None:
    client.headers.update({"X-Forwarded-Proto": "https"})
    r = try_login(client, desk.admin.username)
    assert r.status_code == 303
    assert "; secure" not in _session_cookie(r).lower()


@pytest.mark.parametrize("role", [Role.AUXILIARY, Role.OFFICER])
def test_an_auxiliary_or_an_officer_is_told_the_desk_is_not_for_them(
    client: TestClient, db: Session, desk: Desk, role: Role
) -> None:
    if role == Role.AUXILIARY:
        user, _ = make_auxiliary(db, desk.agency)
    else:
        user, _ = make_officer(db, desk.agency)
    db.flush()
    before = db.scalar(select(func.count()).select_from(RefreshToken))
    r = try_login(client, user.username)
    assert r.status_code == 403
    assert "不能登录工作台" in r.text and ("辅助人员" in r.text or "执法人员" in r.text)
    assert not [c for c in _set_cookies(r) if c.startswith("auxduty_desk=")]
    assert db.scalar(select(func.count()).select_from(RefreshToken)) == before
    assert client.get("/desk/staff", follow_redirects=False).headers["location"].startswith("/desk/login")


def test_a_wrong_password_is_refused_without_a_session(client: TestClient, desk: Desk) -> None:
    r = try_login(client, desk.admin.username, "not the password")
    assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert client.get("/desk/", follow_redirects=False).status_code == 303


def test_wrong_passwords_at_the_api_lock_the_desk(client: TestClient, desk: Desk) -> None:
    for _ in range(5):
        assert client.post("/api/auth/token", data={"username": desk.admin.username,
                                                    "password": "wrong"}).status_code == 401
    r = try_login(client, desk.admin.username)  # the right password, now locked out
    assert r.status_code == 429 and "登录失败次数过多" in r.text and int(r.headers["retry-after"]) > 0


def test_wrong_passwords_at_the_desk_lock_the_api(client: TestClient, desk: Desk) -> None:
    for _ in range(5):
        assert try_login(client, desk.admin.username, "wrong").status_code == 401
    r = client.post("/api/auth/token", data={"username": desk.admin.username, "password": PASSWORD})
    assert r.status_code == 429 and r.json()["code"] == "login_locked"


def test_the_login_form_without_its_token_logs_nobody_in(client: TestClient, desk: Desk) -> None:
    client.get("/desk/login")
    r = client.post("/desk/login", data={"username": desk.admin.username, "password": PASSWORD,
                                         "csrf_token": "forged"}, follow_redirects=False)
    assert r.status_code == 403
    assert not [c for c in _set_cookies(r) if c.startswith("auxduty_desk=")]


def test_logout_revokes_the_session_on_the_server(client: TestClient, db: Session, desk: Desk) -> None:
    token = desk_login(client, desk.admin)
    cookie = client.cookies.get("auxduty_desk")
    assert cookie
    r = post(client, "/desk/logout", token)
    assert r.status_code == 303 and r.headers["location"] == "/desk/login"
    assert client.get("/desk/", follow_redirects=False).status_code == 303
    # The old cookie, replayed, is dead: its row is revoked, not only the browser's copy deleted.
    replay = TestClient(client.app, cookies={"auxduty_desk": cookie})
    assert replay.get("/desk/", follow_redirects=False).status_code == 303
    assert db.scalar(select(func.count()).select_from(RefreshToken).where(
        RefreshToken.user_id == desk.admin.id, RefreshToken.revoked_at.is_(None))) == 0


def test_a_session_ends_when_it_expires(client: TestClient, db: Session, desk: Desk) -> None:
    desk_login(client, desk.admin)
    db.execute(update(RefreshToken).where(RefreshToken.user_id == desk.admin.id)
               .values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.get("/desk/staff", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk/login?next=/desk/staff"


def test_changing_the_password_through_the_api_ends_the_desk_session(client: TestClient, desk: Desk) -> None:
    desk_login(client, desk.admin)
    bearer = login(client, desk.admin)
    r = client.post("/api/auth/password", headers=bearer,
                    json={"old_password": PASSWORD, "new_password": "a much longer passphrase 2026"})
    assert r.status_code == 204
    assert client.get("/desk/", follow_redirects=False).status_code == 303


def test_the_desk_cookie_opens_the_apis_reads_but_never_its_writes(
    client: TestClient, db: Session, desk: Desk
) -> None:
    _, aux = make_auxiliary(db, desk.agency)
    db.flush()
    desk_login(client, desk.admin)
    assert client.get(f"/api/auxiliaries/{aux.id}").status_code == 200
    r = client.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "跨站伪造"})
    assert r.status_code == 401
    db.refresh(aux)
    assert aux.status == AuxiliaryStatus.ACTIVE


def test_the_login_page_returns_to_the_page_asked_for_and_never_elsewhere(client: TestClient, desk: Desk) -> None:
    page = client.get("/desk/login?next=/desk/complaints")
    token = form_token(page.text)
    r = client.post("/desk/login", data={"username": desk.admin.username, "password": PASSWORD, "csrf_token": token,
                                         "next": "/desk/complaints"}, follow_redirects=False)
    assert r.headers["location"] == "/desk/complaints"
    other = TestClient(client.app)
    token = form_token(other.get("/desk/login").text)
    r = other.post("/desk/login", data={"username": desk.admin.username, "password": PASSWORD, "csrf_token": token,
                                        "next": "//evil.example/desk/"}, follow_redirects=False)
    assert r.headers["location"] == "/desk/"


def test_a_disabled_admin_is_logged_out_of_the_desk(client: TestClient, db: Session, desk: Desk) -> None:
    desk_login(client, desk.admin)
    other = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    db.flush()
    bearer = login(client, other)
    assert client.post(f"/api/users/{desk.admin.id}/deactivate", headers=bearer).status_code == 200
    assert client.get("/desk/", follow_redirects=False).status_code == 303
