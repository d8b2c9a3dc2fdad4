"""Public verification: each status, instantly; key rotation; offline checks with PyJWT and the JWKS."""

import threading
import time
from typing import Any

import httpx2
import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.models import (
    Auxiliary,
    AuxiliaryStatus,
    Credential,
    CredentialStatus,
    DeadBadgeScan,
)
from api.routes import public
from api.scan_alerts import ScanAlerts
from tests.factories import login, make_agency, make_auxiliary
from tests.live import serve
from tests.problems import assert_problem
from verification.tokens import KeyRing


def _badge(client: TestClient, db: Session, aux: Auxiliary, version: int = 1) -> str:
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id, Credential.version == version))
    assert cred is not None
    ring: KeyRing = client.app.state.ctx.keyring  # type: ignore[attr-defined]
    token, _ = ring.sign_badge(credential_id=cred.id, version=version)
    return token


def _set(db: Session, aux: Auxiliary, aux_status: AuxiliaryStatus, cred_status: CredentialStatus) -> None:
    aux.status = aux_status
    for cred in db.scalars(select(Credential).where(Credential.auxiliary_id == aux.id)):
        cred.status = cred_status
    db.flush()


def test_valid_badge_shows_person_duties_and_article_6(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db, name="玄武区城市管理局"), categories=["patrol", "publicity"])
    body = client.get(f"/api/public/verify/{_badge(client, db, aux)}").json()
    assert body["status"] == "valid"
    assert body["name"] == aux.name and body["badge_no"] == aux.badge_no
    assert body["agency"] == "玄武区城市管理局"
    assert [d["code"] for d in body["independent_duties"]] == ["publicity", "patrol"]
    assert {d["code"] for d in body["assisted_duties"]} == {
        "order_correction", "inspection", "document_service", "decision_execution", "scene_order",
        "statutory_other"}
    assert all(d["name"] for d in body["independent_duties"] + body["assisted_duties"])
    assert "不具有独立的执法资格" in body["notice"]
    # No ID photo uploaded: no address of a photo that is not there (the page draws a placeholder).
    assert body["photo_url"] is None
    aux.photo, aux.photo_type = b"\xff\xd8 a jpeg", "image/jpeg"
    db.flush()
    assert client.get(f"/api/public/badges/{aux.badge_no}").json()["photo_url"].endswith(aux.badge_no)


def test_suspension_shows_at_once_and_hides_duties(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    token = _badge(client, db, aux)
    _set(db, aux, AuxiliaryStatus.SUSPENDED, CredentialStatus.SUSPENDED)
    body = client.get(f"/api/public/verify/{token}").json()
    assert body["status"] == "suspended"
    assert body["independent_duties"] == [] and body["assisted_duties"] == [] and body["photo_url"] is None
    assert "请勿配合" in body["notice"]


def test_departed_auxiliary_badge_is_revoked(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    token = _badge(client, db, aux)
    _set(db, aux, AuxiliaryStatus.DEPARTED, CredentialStatus.REVOKED)
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "revoked"


def test_reissue_supersedes_the_old_badge(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    old = _badge(client, db, aux)
    db.add(Credential(auxiliary_id=aux.id, credential_no=f"C2{aux.badge_no}", version=2, kid="test"))
    db.flush()
    new = _badge(client, db, aux, version=2)
    assert client.get(f"/api/public/verify/{old}").json()["status"] == "superseded"
    assert client.get(f"/api/public/verify/{new}").json()["status"] == "valid"


def test_dead_badge_scans_are_counted_for_the_agency(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    token = _badge(client, db, aux)
    _set(db, aux, AuxiliaryStatus.SUSPENDED, CredentialStatus.SUSPENDED)
    client.get(f"/api/public/verify/{token}")
    client.get(f"/v/{token}")
    client.get(f"/api/public/badges/{aux.badge_no}")
    scans = db.scalar(select(func.count()).select_from(DeadBadgeScan).where(DeadBadgeScan.auxiliary_id == aux.id))
    assert scans == 3


def test_tampered_foreign_or_login_tokens_are_invalid_and_reveal_no_one(client: TestClient, db: Session) -> None:
    user, aux = make_auxiliary(db, make_agency(db))
    token = _badge(client, db, aux)
    head, payload, sig = token.split(".")
    tampered = f"{head}.{payload[:-2]}AA.{sig}"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    foreign = jwt.encode({"sub": "x", "ver": 1, "aud": "auxduty:badge", "iat": 1}, Ed25519PrivateKey.generate(),
                         algorithm="EdDSA", headers={"kid": "unknown", "typ": "badge"})
    access = login(client, user)["Authorization"].split()[1]
    for bad in (tampered, foreign, access, "not-a-token"):
        body = client.get(f"/api/public/verify/{bad}").json()
        assert body["status"] == "invalid", bad
        assert body["name"] is None and body["badge_no"] is None


def test_badge_token_never_works_as_login(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    r = client.get("/api/me", headers={"Authorization": f"Bearer {_badge(client, db, aux)}"})
    assert_problem(r, 401, "invalid_token")


def test_rotated_keys_keep_old_badges_verifying_offline(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    ring = client.app.state.ctx.keyring  # type: ignore[attr-defined]
    old_kid = ring.active_kid
    old = _badge(client, db, aux)
    new_kid = ring.rotate()
    assert new_kid != old_kid
    assert jwt.get_unverified_header(_badge(client, db, aux))["kid"] == new_kid
    assert client.get(f"/api/public/verify/{old}").json()["status"] == "valid"
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.headers["access-control-allow-origin"] == "*"
    kids = {k["kid"] for k in jwks.json()["keys"]}
    assert {old_kid, new_kid} <= kids
    # Offline: PyJWT and the published keys, nothing else.
    keyset = jwt.PyJWKSet.from_dict(jwks.json())
    key = keyset[jwt.get_unverified_header(old)["kid"]]
    claims = jwt.decode(old, key.key, algorithms=["EdDSA"], audience="auxduty:badge")
    assert claims["ver"] == 1 and "name" not in claims and set(claims) == {"aud", "sub", "ver", "iat"}


def test_lookup_by_badge_number(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    assert client.get(f"/api/public/badges/{aux.badge_no.lower()}").json()["status"] == "valid"
    missing = client.get("/api/public/badges/NOSUCH0000")
    assert_problem(missing, 404, "not_found")
    assert_problem(client.get("/api/public/badges/bad-chars!"), 422, "validation_error")


def test_verify_page_is_chinese_html_with_the_status(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    token = _badge(client, db, aux)
    page = client.get(f"/v/{token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in page.text and 'data-status="valid"' in page.text and aux.name in page.text
    assert 'data-status="invalid"' in client.get("/v/garbage").text


def test_scans_of_a_dead_badge_show_in_its_agencys_figures(client: TestClient, db: Session) -> None:
    from api.domain.models import Role
    from tests.factories import make_user

    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    token = _badge(client, db, aux)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)

    def scans() -> int:
        figures = client.get("/api/reports/metrics", headers=login(client, admin)).json()["agencies"][0]
        return int(figures["dead_badge_scans"])

    client.get(f"/api/public/verify/{token}")
    assert scans() == 0  # a valid badge's scans are nobody's business
    _set(db, aux, AuxiliaryStatus.DEPARTED, CredentialStatus.REVOKED)
    for path in (f"/api/public/verify/{token}", f"/v/{token}", f"/api/public/badges/{aux.badge_no}"):
        client.get(path)
    assert scans() == 3


def test_a_bare_scan_and_one_with_a_position_get_the_same_answer_and_the_same_limits(
    client: TestClient, db: Session
) -> None:
    """A scan with no query string takes the short way (api/routes/public.py `_ScanRoute`); what it answers, and
    what is refused, is what the declared route answers."""
    _, aux = make_auxiliary(db, make_agency(db))
    token = _badge(client, db, aux)
    bare = client.get(f"/api/public/verify/{token}")
    placed = client.get(f"/api/public/verify/{token}", params={"lat": "32.04", "lon": "118.78"})
    assert bare.status_code == placed.status_code == 200
    assert bare.headers["content-type"] == placed.headers["content-type"] == "application/json"
    assert bare.headers["access-control-allow-origin"] == "*" and bare.headers["cache-control"] == "no-store"
    assert {**bare.json(), "checked_at": None} == {**placed.json(), "checked_at": None}
    assert_problem(client.get(f"/api/public/verify/{'a' * 2049}"), 422, "validation_error")
    assert_problem(client.get(f"/api/public/verify/{token}", params={"lat": "north"}), 422, "validation_error")
    _set(db, aux, AuxiliaryStatus.SUSPENDED, CredentialStatus.SUSPENDED)
    client.get(f"/api/public/verify/{token}")  # a dead badge's scan is kept both ways
    client.get(f"/api/public/verify/{token}", params={"lat": "32.04", "lon": "118.78"})
    assert db.scalar(select(func.count()).select_from(DeadBadgeScan)) == 2


def test_a_dead_badges_scan_is_answered_before_its_alert_is_written(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The alert for the agency is kept once the citizen has the answer: a slow write delays no one."""
    _, aux = make_auxiliary(db, make_agency(db), status=AuxiliaryStatus.SUSPENDED)
    token = _badge(client, db, aux)
    gate = threading.Event()
    keep = ScanAlerts._write_now

    def slow_write(*args: Any) -> int:
        assert gate.wait(10)
        return keep(*args)

    monkeypatch.setattr(ScanAlerts, "_write_now", slow_write)
    with serve(client.app) as base:  # type: ignore[arg-type]
        answer = httpx2.get(f"{base}/api/public/verify/{token}", timeout=5)  # answered with the write held up
        assert answer.status_code == 200 and answer.json()["status"] == "suspended"
        assert db.scalar(select(func.count()).select_from(DeadBadgeScan)) == 0
        gate.set()
        deadline = time.monotonic() + 5
        while db.scalar(select(func.count()).select_from(DeadBadgeScan)) != 1:
            assert time.monotonic() < deadline, "the scan was never kept"
            time.sleep(0.02)


def test_a_crowds_scans_of_a_dead_badge_are_all_kept_in_a_few_transactions(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scans that arrive while one is being written wait in the worker and are written together by that
    writer (api/scan_alerts.py): none is lost, and they do not queue one transaction each for the database."""
    _, aux = make_auxiliary(db, make_agency(db), status=AuxiliaryStatus.SUSPENDED)
    token = _badge(client, db, aux)
    gate = threading.Event()
    batches: list[int] = []
    keep = ScanAlerts._write_now

    def held_write(alerts: ScanAlerts, batch: list[Any]) -> int:
        batches.append(len(batch))
        assert gate.wait(10)
        return keep(alerts, batch)

    monkeypatch.setattr(ScanAlerts, "_write_now", held_write)
    with serve(client.app) as base:  # type: ignore[arg-type]
        with httpx2.Client(base_url=base, timeout=10) as web:
            first = web.get(f"/api/public/verify/{token}")
            assert first.status_code == 200 and first.json()["status"] == "suspended"
            deadline = time.monotonic() + 5
            while not batches:  # the first scan's write has begun, and is held
                assert time.monotonic() < deadline, "the first scan was never written"
                time.sleep(0.01)
            # Answered from memory (the first scan's answer), so nothing but the held writer reads the database.
            paths = [f"/api/public/verify/{token}", f"/v/{token}"] * 15
            answers: list[int] = []
            threads = [threading.Thread(target=lambda p=p: answers.append(httpx2.get(base + p, timeout=10).status_code))
                       for p in paths]
            for t in threads:
                t.start()
            while len(answers) < 30:  # every answer is out while the first write is still held
                assert time.monotonic() < deadline + 5, "answers waited for the held write"
                time.sleep(0.01)
            gate.set()
            for t in threads:
                t.join(10)
        assert answers == [200] * 30
        while db.scalar(select(func.count()).select_from(DeadBadgeScan)) != 31:
            assert time.monotonic() < deadline + 10, "some scans were never kept"
            time.sleep(0.02)
    assert batches[0] == 1 and sum(batches) == 31 and len(batches) <= 3, batches
    alerts = client.app.state.ctx.scan_alerts  # type: ignore[attr-defined]
    assert (alerts.kept, alerts.lost, alerts.waiting) == (31, 0, 0)


def test_a_remembered_scan_is_answered_before_routing_as_the_route_answers_it(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``RememberedScans`` answers a scan whose answer is remembered without the app's routing: same body,
    same headers, counted against the same limit, a dead badge's scan still kept, and nothing else read."""
    _, aux = make_auxiliary(db, make_agency(db))
    token = _badge(client, db, aux)
    first = client.get(f"/api/public/verify/{token}")  # read from the database, then remembered
    routed: list[str] = []
    declared = public.answer_for_token

    async def spy(ctx: Any, token: str, *args: Any, **kwargs: Any) -> Any:
        routed.append(token)
        return await declared(ctx, token, *args, **kwargs)

    monkeypatch.setattr(public, "answer_for_token", spy)
    again = client.get(f"/api/public/verify/{token}")
    assert routed == []  # answered in front of the app
    placed = client.get(f"/api/public/verify/{token}", params={"lat": "32.04", "lon": "118.78"})
    assert routed == [token]  # a query string takes the declared route
    for answer in (again, placed):
        assert answer.status_code == 200
        assert {**answer.json(), "checked_at": None} == {**first.json(), "checked_at": None}
        assert {k: v for k, v in answer.headers.items() if k not in ("x-request-id", "content-length")} == {
            k: v for k, v in first.headers.items() if k not in ("x-request-id", "content-length")}
    assert again.json()["checked_at"] != first.json()["checked_at"]
    _set(db, aux, AuxiliaryStatus.SUSPENDED, CredentialStatus.SUSPENDED)
    client.app.state.ctx.badge_cache.clear()  # type: ignore[attr-defined]
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "suspended"  # read, remembered
    assert client.get(f"/api/public/verify/{token}").json()["status"] == "suspended"  # remembered
    assert routed == [token, token]
    assert db.scalar(select(func.count()).select_from(DeadBadgeScan)) == 2  # both scans kept

