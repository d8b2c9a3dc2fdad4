"""Registering browsers for Web Push: the service's VAPID key for any logged-in user, a subscription as
PushSubscription.toJSON() gives it, registered once per endpoint and at most ten per user, and refused (with
nothing stored) when the service should not send there (SSRF) or could not encrypt to it."""

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.models import PushSubscription, Role
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user
from tests.problems import assert_problem
from tests.push_service import Browser, b64url, unb64url

FCM = "https://fcm.googleapis.com/fcm/send/"


def _endpoint() -> str:
    return FCM + uuid.uuid4().hex


def _count(db: Session, **where: Any) -> int:
    stmt = select(func.count()).select_from(PushSubscription)
    for name, value in where.items():
        stmt = stmt.where(getattr(PushSubscription, name) == value)
    return db.scalar(stmt) or 0


def _officer(client: TestClient, db: Session) -> tuple[uuid.UUID, dict[str, str]]:
    user, _ = make_officer(db, make_agency(db))
    return user.id, login(client, user)


def test_every_logged_in_user_gets_the_one_vapid_key(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    users = [make_user(db, role=Role.JUSTICE_ADMIN, agency=None), make_user(db, role=Role.AGENCY_ADMIN, agency=agency),
             make_officer(db, agency)[0], make_auxiliary(db, agency)[0]]
    keys = {client.get("/api/push/key", headers=login(client, u)).json()["public_key"] for u in users}
    assert len(keys) == 1
    key = keys.pop()
    assert "=" not in key and len(unb64url(key)) == 65 and unb64url(key)[0] == 4
    assert_problem(client.get("/api/push/key"), 401, "unauthenticated")


def test_a_subscription_is_registered_once_per_endpoint(client: TestClient, db: Session) -> None:
    user_id, headers = _officer(client, db)
    browser = Browser(_endpoint())
    r = client.post("/api/push/subscriptions", json=browser.subscription(), headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["endpoint"] == browser.endpoint and r.json()["expires_at"] is None
    renewed = Browser(browser.endpoint)  # the browser renewed its keys
    body = {**renewed.subscription(), "expirationTime": 1_893_456_000_000}
    again = client.post("/api/push/subscriptions", json=body, headers=headers)
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    assert again.json()["expires_at"].startswith("2030-01-01")
    row = db.scalar(select(PushSubscription).where(PushSubscription.endpoint == browser.endpoint))
    assert row is not None and row.user_id == user_id
    assert row.p256dh == renewed.subscription()["keys"]["p256dh"] and row.auth == b64url(renewed.auth)
    assert _count(db, endpoint=browser.endpoint) == 1


def test_an_endpoint_registered_by_another_account_moves_to_the_caller(client: TestClient, db: Session) -> None:
    first_id, first = _officer(client, db)
    second_id, second = _officer(client, db)
    body = Browser(_endpoint()).subscription()
    assert client.post("/api/push/subscriptions", json=body, headers=first).status_code == 201
    assert client.post("/api/push/subscriptions", json=body, headers=second).status_code == 200
    assert (_count(db, user_id=first_id), _count(db, user_id=second_id)) == (0, 1)


def test_a_user_keeps_ten_browsers_the_least_recently_registered_go(client: TestClient, db: Session) -> None:
    user_id, headers = _officer(client, db)
    browsers = [Browser(_endpoint()) for _ in range(12)]
    for browser in browsers[:10]:
        assert client.post("/api/push/subscriptions", json=browser.subscription(), headers=headers).status_code == 201
    # The first registers again: it is now the most recent, and the second is the one to go.
    assert client.post("/api/push/subscriptions", json=browsers[0].subscription(), headers=headers).status_code == 200
    for browser in browsers[10:]:
        assert client.post("/api/push/subscriptions", json=browser.subscription(), headers=headers).status_code == 201
    kept = set(db.scalars(select(PushSubscription.endpoint).where(PushSubscription.user_id == user_id)))
    assert kept == {b.endpoint for b in [browsers[0], *browsers[3:]]}


def test_deleting_forgets_only_the_callers_browser(client: TestClient, db: Session) -> None:
    _, owner = _officer(client, db)
    _, stranger = _officer(client, db)
    browser = Browser(_endpoint())
    client.post("/api/push/subscriptions", json=browser.subscription(), headers=owner)
    gone = {"endpoint": browser.endpoint}
    assert client.request("DELETE", "/api/push/subscriptions", json=gone, headers=stranger).status_code == 204
    assert _count(db, endpoint=browser.endpoint) == 1
    assert client.request("DELETE", "/api/push/subscriptions", json=gone, headers=owner).status_code == 204
    assert _count(db, endpoint=browser.endpoint) == 0
    assert client.request("DELETE", "/api/push/subscriptions", json=gone, headers=owner).status_code == 204
    assert_problem(client.request("DELETE", "/api/push/subscriptions", json=gone), 401, "unauthenticated")


@pytest.mark.parametrize(("endpoint", "reason"), [
    ("http://fcm.googleapis.com/fcm/send/abc", "not_https"),
    ("ftp://fcm.googleapis.com/fcm/send/abc", "not_https"),
    ("https://127.0.0.1/push/abc", "private_address"),
    ("https://127.0.0.1:8443/push/abc", "port"),
    ("https://[::1]/push/abc", "private_address"),
    ("https://[::ffff:10.0.0.1]/push/abc", "private_address"),
    ("https://10.1.2.3/push", "private_address"),
    ("https://192.168.1.1/push", "private_address"),
    ("https://169.254.169.254/latest/meta-data", "private_address"),
    ("https://100.64.0.1/push", "private_address"),
    ("https://2130706433/push", "private_address"),
    ("https://127.1/push", "private_address"),
    ("https://localhost/push", "private_host"),
    ("https://push.localhost/push", "private_host"),
    ("https://printer.local/push", "private_host"),
    ("https://intranet/push", "private_host"),
    ("https://user:secret@fcm.googleapis.com/fcm/send/abc", "userinfo"),
    ("https://fcm.googleapis.com:99999/x", "malformed"),
    ("https:///push", "malformed"),
    ("https://fcm.googleapis.com/fcm/send/a b", "malformed"),
    ("https://推送.example.cn/x", "malformed"),
])
def test_an_endpoint_the_service_should_not_post_to_is_refused(
    client: TestClient, db: Session, endpoint: str, reason: str
) -> None:
    _, headers = _officer(client, db)
    r = client.post("/api/push/subscriptions", json=Browser(endpoint).subscription(),
                    headers={**headers, "Accept-Language": "en"})
    body = assert_problem(r, 422, "push_endpoint_refused")
    assert body["reason"] == reason and body["detail"].startswith("push endpoint refused")
    assert _count(db) == 0


def test_a_refusal_is_worded_in_chinese_by_default(client: TestClient, db: Session) -> None:
    _, headers = _officer(client, db)
    r = client.post("/api/push/subscriptions", json=Browser("https://127.0.0.1/x").subscription(), headers=headers)
    assert assert_problem(r, 422, "push_endpoint_refused")["detail"].startswith("不接受该推送地址")


def _with_keys(p256dh: str, auth: str) -> dict[str, Any]:
    return {"endpoint": _endpoint(), "expirationTime": None, "keys": {"p256dh": p256dh, "auth": auth}}


@pytest.mark.parametrize("keys", [
    ("BAAA", "tBHItJI5svbpez7KI4CCXg"),  # far too short
    (b64url(b"\x04" + b"\x01" * 64), "tBHItJI5svbpez7KI4CCXg"),  # 65 bytes, not on the curve
    (b64url(b"\x02" + b"\x01" * 64), "tBHItJI5svbpez7KI4CCXg"),  # not an uncompressed point
    ("BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U", "tBHItJI5svbpez7KI4CC"),
    ("BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U", "not base64 !"),
    ("!!!", "tBHItJI5svbpez7KI4CCXg"),
])
def test_keys_that_cannot_be_encrypted_to_are_refused(client: TestClient, db: Session, keys: tuple[str, str]) -> None:
    _, headers = _officer(client, db)
    r = client.post("/api/push/subscriptions", json=_with_keys(*keys), headers=headers)
    assert_problem(r, 422, "push_keys_invalid")
    assert _count(db) == 0


@pytest.mark.parametrize("body", [
    {"endpoint": FCM + "x", "keys": {"p256dh": "x"}},
    {"endpoint": FCM + "x", "expirationTime": -1, "keys": {"p256dh": "x", "auth": "y"}},
    {"endpoint": FCM + "x" * 3000, "keys": {"p256dh": "x", "auth": "y"}},
    {"expirationTime": None},
])
def test_a_malformed_subscription_is_a_validation_error(
    client: TestClient, db: Session, body: dict[str, Any]
) -> None:
    _, headers = _officer(client, db)
    assert_problem(client.post("/api/push/subscriptions", json=body, headers=headers), 422, "validation_error")
    assert _count(db) == 0


def test_padded_and_standard_base64_keys_are_taken_and_stored_unpadded(client: TestClient, db: Session) -> None:
    _, headers = _officer(client, db)
    browser = Browser(_endpoint())
    keys = browser.subscription()["keys"]
    padded = {"p256dh": keys["p256dh"] + "=", "auth": keys["auth"].replace("-", "+").replace("_", "/") + "=="}
    r = client.post("/api/push/subscriptions", json={**browser.subscription(), "keys": padded}, headers=headers)
    assert r.status_code == 201, r.text
    row = db.scalar(select(PushSubscription).where(PushSubscription.endpoint == browser.endpoint))
    assert row is not None and (row.p256dh, row.auth) == (keys["p256dh"], keys["auth"])
