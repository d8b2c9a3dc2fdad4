"""Login, access tokens, rotating refresh tokens and their reuse."""

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.domain.models import Role
from tests.factories import PASSWORD, login, make_agency, make_user
from tests.problems import assert_problem


def test_login_returns_short_lived_access_and_refresh_token(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    r = client.post("/api/auth/token", data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert 300 <= body["expires_in"] <= 1800
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert {"exp", "iat", "sub", "aud", "typ"} <= set(claims)
    me = client.get("/api/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == user.username and me.json()["role"] == "justice_admin"


def test_wrong_password_and_unknown_user_answer_the_same_401(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    wrong = client.post("/api/auth/token", data={"username": user.username, "password": "nope-nope"})
    unknown = client.post("/api/auth/token", data={"username": "nobody.here", "password": "nope-nope"})
    for r in (wrong, unknown):
        assert_problem(r, 401, "invalid_credentials")
    assert wrong.json()["detail"] == unknown.json()["detail"]


@pytest.mark.parametrize("username", ["\x00", "admin\x00"])
def test_a_username_with_a_nul_character_is_422_not_a_database_error(client: TestClient, username: str) -> None:
    r = client.post("/api/auth/token", data={"username": username, "password": "nope-nope"})
    assert assert_problem(r, 422, "validation_error")["errors"][0]["field"] == "username"


def test_missing_or_forged_token_is_401_problem(client: TestClient, db: Session) -> None:
    assert_problem(client.get("/api/me"), 401, "unauthenticated")
    forged = jwt.encode({"sub": "x", "aud": "auxduty:api", "typ": "access", "exp": 9999999999, "iat": 1},
                        "not-the-secret-but-long-enough-for-hs256!", algorithm="HS256")
    r = client.get("/api/me", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(r, 401, "invalid_token")
    none_alg = jwt.encode({"sub": "x"}, None, algorithm="none")  # type: ignore[arg-type]
    assert_problem(client.get("/api/me", headers={"Authorization": f"Bearer {none_alg}"}), 401, "invalid_token")


def test_refresh_rotates_and_reuse_revokes_the_family(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    first = client.post("/api/auth/token", data={"username": user.username, "password": PASSWORD}).json()
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    fresh = second.json()["refresh_token"]
    assert fresh != first["refresh_token"]
    reuse = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reuse, 401, "refresh_token_reused")
    # The thief's replay revoked the legitimate successor too.
    after = client.post("/api/auth/refresh", json={"refresh_token": fresh})
    assert_problem(after, 401, "invalid_refresh_token")


def test_english_detail_on_request(client: TestClient) -> None:
    zh = client.post("/api/auth/token", data={"username": "a.b.c", "password": "x"})
    en = client.post("/api/auth/token", data={"username": "a.b.c", "password": "x"},
                     headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "密码" in zh.json()["detail"]
    assert "password" in en.json()["detail"]


def test_login_helper_round_trip(client: TestClient, db: Session) -> None:
    user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    assert client.get("/api/me", headers=login(client, user)).json()["id"] == str(user.id)


def test_expired_access_token_is_401(client: TestClient, db: Session) -> None:
    from datetime import UTC, datetime, timedelta

    user = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    secret = client.app.state.ctx.access_secret  # type: ignore[attr-defined]
    past = datetime.now(UTC) - timedelta(minutes=20)
    expired = jwt.encode({"sub": str(user.id), "role": "justice_admin", "aud": "auxduty:api", "typ": "access",
                          "iat": past, "exp": past + timedelta(minutes=15)}, secret, algorithm="HS256")
    r = client.get("/api/me", headers={"Authorization": f"Bearer {expired}"})
    assert_problem(r, 401, "invalid_token")
    assert r.headers["www-authenticate"] == "Bearer"


def test_refresh_token_is_not_an_access_token_and_a_departed_login_cannot_refresh(
    client: TestClient, db: Session
) -> None:
    user = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    pair = client.post("/api/auth/token", data={"username": user.username, "password": PASSWORD}).json()
    as_access = client.get("/api/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"})
    assert_problem(as_access, 401, "invalid_token")
    user.active = False
    db.flush()
    r = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert_problem(r, 401, "invalid_refresh_token")
