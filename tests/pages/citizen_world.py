"""Builders for the citizen-page tests: a badge's token, photos of a badge (and of no badge, and of a QR code
that is not ours), a published case notice, and the codes a receipt page shows."""

import io
import re
from typing import Any

import segno
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import Agency, Auxiliary, Complaint, Credential, Role
from tests.factories import login, make_user
from verification.card import render_badge_card

BASE = "https://verify.example.gov.cn"
FOREIGN_HOST = "fake-chengguan.example.com"


def token_of(client: TestClient, db: Session, aux: Auxiliary) -> str:
    """A signed token of ``aux``'s newest credential, as its badge's QR code carries."""
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id)
                     .order_by(Credential.version.desc()))
    assert cred is not None
    token: str = client.app.state.ctx.keyring.sign_badge(  # type: ignore[attr-defined]
        credential_id=cred.id, version=cred.version)[0]
    return token


def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=85)
    return buf.getvalue()


def badge_photo(client: TestClient, db: Session, aux: Auxiliary, agency: str) -> bytes:
    """A phone's photo of ``aux``'s printed badge lying a little turned on a desk."""
    png = render_badge_card(name=aux.name, badge_no=aux.badge_no, agency=agency, command_agency=None,
                            qr_text=f"{BASE}/v/{token_of(client, db, aux)}", photo=None)
    card = Image.open(io.BytesIO(png)).convert("RGB")
    desk = Image.new("RGB", (1600, 1800), (120, 110, 100))
    desk.paste(card.rotate(7, expand=True, fillcolor=(120, 110, 100)), (380, 300))
    return _jpeg(desk)


def blank_photo() -> bytes:
    """A photo with no QR code in it (a thumb over the lens, a badge too far away)."""
    return _jpeg(Image.new("RGB", (800, 600), (200, 180, 160)))


def foreign_qr_photo() -> bytes:
    """A QR code that points somewhere else: what a fake badge carries."""
    buf = io.BytesIO()
    segno.make(f"https://{FOREIGN_HOST}/check?id=123", error="m").save(buf, kind="png", scale=8, border=4)
    return buf.getvalue()


def publish_notice(client: TestClient, db: Session, agency: Agency, tracking_no: str, text: str) -> None:
    """Resolve the complaint ``tracking_no`` as its agency would, publishing ``text`` as a case notice."""
    complaint = db.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no))
    assert complaint is not None
    headers = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    for body in ({"to": "investigating"},
                 {"to": "resolved", "finding": "经核实情况属实", "action": "criticism", "notice": text}):
        r = client.post(f"/api/complaints/{complaint.id}/transitions", json=body, headers=headers)
        assert r.status_code == 200, r.text


def shown_codes(html: str) -> list[str]:
    """The tracking number and access code a receipt page shows."""
    return re.findall(r'<output class="code mono">([^<]+)</output>', html)


def complaint_form(**overrides: Any) -> dict[str, str]:
    values = {"category": "rude_conduct", "description": "当街辱骂摊主，推翻摊位", "occurred_at": "2026-11-20T09:30",
              "location": "中山路与汉中路交叉口", "contact_phone": ""}
    values.update(overrides)
    return values
