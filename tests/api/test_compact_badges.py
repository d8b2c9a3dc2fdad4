"""Badges in the compact QR form (`/B/{code}`): issued beside the JWS, answered like it at every status, checked
offline with the published JWKS; the JWS badges already printed keep verifying at `/v/`."""

import io
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.errors import DomainError
from api.domain.models import Auxiliary, AuxiliaryStatus, Credential, CredentialStatus, Role
from api.routes.public import badge_token_from
from tests.factories import hire_body, login, make_agency, make_auxiliary, make_user
from verification.card import render_badge_card
from verification.compact import compact_url, sign_compact, verify_compact
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available
from verification.tokens import KeyRing

BASE = "https://verify.example.gov.cn"
PRE_JOB = {"kind": "pre_job", "hours": 40, "completed_on": "2026-03-20", "passed": True}


def _ring(client: TestClient) -> KeyRing:
    ring: KeyRing = client.app.state.ctx.keyring  # type: ignore[attr-defined]
    return ring


def _code(client: TestClient, db: Session, aux: Auxiliary, version: int = 1) -> str:
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id, Credential.version == version))
    assert cred is not None
    return _ring(client).sign_compact(credential_id=cred.id, version=version)[0]


def _status(client: TestClient, code: str) -> str:
    body: dict[str, Any] = client.get(f"/api/public/verify/{code}").json()
    return str(body["status"])


def _page_status(client: TestClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    return r.text.split('data-status="', 1)[1].split('"', 1)[0]


def test_issue_answers_both_forms_and_each_verifies(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    headers = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    aux_id = client.post("/api/auxiliaries", json=hire_body(agency), headers=headers).json()["id"]
    client.post(f"/api/auxiliaries/{aux_id}/trainings", json=PRE_JOB, headers=headers)
    r = client.post(f"/api/auxiliaries/{aux_id}/credential", headers=headers)
    assert r.status_code == 201, r.text
    cred = r.json()
    assert cred["verify_url"] == f"{BASE}/v/{cred['token']}"
    assert cred["compact_url"].startswith("HTTPS://VERIFY.EXAMPLE.GOV.CN/B/")
    code = urlsplit(cred["compact_url"]).path.removeprefix("/B/")
    claims = verify_compact(cred["compact_url"], client.get("/.well-known/jwks.json").json())
    assert (str(claims.credential_id), claims.version, claims.kid) == (cred["id"], 1, cred["kid"])
    assert _status(client, code) == "valid" and _status(client, code.lower()) == "valid"
    assert _page_status(client, f"/B/{code}") == "valid"
    assert _page_status(client, f"/b/{code.lower()}") == "valid"
    # The JWS form, as printed on the badges made before, still verifies at /v/.
    assert _page_status(client, f"/v/{cred['token']}") == "valid"
    assert _status(client, cred["token"]) == "valid"
    # A reissue supersedes both forms of the old badge.
    client.post(f"/api/auxiliaries/{aux_id}/credential", headers=headers)
    assert _status(client, code) == "superseded" and _page_status(client, f"/B/{code}") == "superseded"
    assert _status(client, cred["token"]) == "superseded"


@pytest.mark.parametrize(("aux_status", "cred_status", "expected"), [
    (AuxiliaryStatus.SUSPENDED, CredentialStatus.SUSPENDED, "suspended"),
    (AuxiliaryStatus.DEPARTED, CredentialStatus.REVOKED, "revoked"),
])
def test_dead_badges_answer_as_for_the_jws(client: TestClient, db: Session, aux_status: AuxiliaryStatus,
                                           cred_status: CredentialStatus, expected: str) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    code = _code(client, db, aux)
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = _ring(client).sign_badge(credential_id=cred.id, version=1)
    assert _status(client, code) == "valid"
    aux.status, cred.status = aux_status, cred_status
    db.flush()
    client.app.state.ctx.badge_cache.clear()  # type: ignore[attr-defined]
    assert _status(client, code) == _status(client, token) == expected
    assert _page_status(client, f"/b/{code}") == expected


def test_forged_or_foreign_codes_are_invalid_never_an_error(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    code = _code(client, db, aux)
    flipped = code[:40] + ("A" if code[40] != "A" else "B") + code[41:]
    stranger = sign_compact(Ed25519PrivateKey.generate(), kid="2601abcdef", credential_id=uuid.uuid4(), version=1)
    same_kid = sign_compact(Ed25519PrivateKey.generate(), kid=_ring(client).active_kid, credential_id=uuid.uuid4(),
                            version=1)
    for bad in (flipped, stranger, same_kid, "A" * 140, "1" * 140, code[:-1], code + "AAAA"):
        assert _status(client, bad) == "invalid", bad
        assert _page_status(client, f"/B/{bad}") == "invalid"


def test_a_rotated_key_keeps_old_compact_badges_valid_while_published(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    ring = _ring(client)
    old_kid = ring.active_kid
    code = _code(client, db, aux)
    ring.rotate()
    client.app.state.ctx.badge_cache.clear()  # type: ignore[attr-defined]
    assert _status(client, code) == "valid"
    jwks = client.get("/.well-known/jwks.json").json()
    assert verify_compact(code, jwks).kid == old_kid and {old_kid, ring.active_kid} <= {k["kid"] for k in jwks["keys"]}
    assert verify_compact(_code(client, db, aux), jwks).kid == ring.active_kid != old_kid


def test_a_complaint_names_the_badge_by_its_compact_code(client: TestClient, db: Session) -> None:
    from api.domain.models import Complaint

    _, aux = make_auxiliary(db, make_agency(db))
    code = _code(client, db, aux)
    assert client.get(f"/v/{code}/complaint").status_code == 200  # the page's complaint link
    r = client.post("/api/public/complaints", json={
        "category": "rude_conduct", "description": "劝离摊贩时推搡并辱骂摊主。", "token": code,
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()})
    assert r.status_code == 201, r.text
    complaint = db.scalar(select(Complaint).where(Complaint.tracking_no == r.json()["tracking_no"]))
    assert complaint is not None and complaint.auxiliary_id == aux.id and complaint.identified_by == "token"


def test_photo_decoder_takes_both_our_forms_and_nothing_else() -> None:
    code = "A" * 140
    for text in (f"HTTPS://VERIFY.EXAMPLE.GOV.CN/B/{code}", f"https://verify.example.gov.cn/b/{code}"):
        assert badge_token_from(text, BASE) == code
    assert badge_token_from(f"{BASE}/v/a.b.c", BASE) == "a.b.c"
    for text in (f"HTTPS://VERIFY.EXAMPLE.GOV.CN.EVIL/B/{code}", f"HTTP://VERIFY.EXAMPLE.GOV.CN/B/{code}",
                 f"HTTPS://VERIFY.EXAMPLE.GOV.CN/C/{code}", f"HTTPS://VERIFY.EXAMPLE.GOV.CN/B/{code}/X", code):
        with pytest.raises(DomainError) as refused:
            badge_token_from(text, BASE)
        assert refused.value.code == "foreign_qr"


@pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)
def test_photo_of_a_compact_card_verifies(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db, name="玄武区城市管理局"), name="张伟")
    url = compact_url(BASE, _code(client, db, aux))
    png = render_badge_card(name="张伟", badge_no=aux.badge_no, agency="玄武区城市管理局", command_agency=None,
                            qr_text=url, photo=None)
    card = Image.open(io.BytesIO(png)).convert("RGB")
    desk = Image.new("RGB", (1600, 1800), (120, 110, 100))
    desk.paste(card.rotate(7, expand=True, fillcolor=(120, 110, 100)), (380, 300))
    buf = io.BytesIO()
    desk.save(buf, "JPEG", quality=85)
    r = client.post("/api/public/verify-image", files={"image": ("badge.jpg", buf.getvalue(), "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "valid" and body["name"] == "张伟" and body["decoded_text"] == url
