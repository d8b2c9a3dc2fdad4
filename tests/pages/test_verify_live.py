"""The real `/v/{token}` page, served by the app and opened in headless Chromium at a phone's size."""

import io
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import AuxiliaryStatus, Credential, CredentialStatus
from tests.browser import dump_dom, require_chromium, screenshot
from tests.factories import make_agency, make_auxiliary
from tests.live import serve

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def _photo() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (90, 120, 160)).save(buf, "JPEG")
    return buf.getvalue()


def test_scanned_badge_page_in_chromium_shows_status_person_and_photo(
    client: TestClient, db: Session, backend: str
) -> None:
    require_chromium()
    agency = make_agency(db, name="玄武区城市管理局")
    _, aux = make_auxiliary(db, agency, name="张伟", categories=["patrol"])
    aux.photo, aux.photo_type = _photo(), "image/jpeg"
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = client.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=1)  # type: ignore[attr-defined]
    db.flush()
    with serve(client.app) as base:  # type: ignore[arg-type]
        dom = dump_dom(f"{base}/v/{token}")
        assert 'data-status="valid"' in dom and "张伟" in dom and aux.badge_no in dom
        assert "不具有独立的执法资格" in dom and f"/api/public/photos/{aux.badge_no}" in dom
        shot = screenshot(f"{base}/v/{token}", ARTIFACTS / f"live-valid-{backend}.png")
        with Image.open(shot) as img:
            assert img.width == 390
            # The banner at the top is the valid green, whatever the theme of the rest.
            r, g, b = img.convert("RGB").getpixel((10, 80))  # type: ignore[misc]
            assert g > r + 40 and g > b + 20
        aux.status = AuxiliaryStatus.SUSPENDED
        cred.status = CredentialStatus.SUSPENDED
        db.flush()
        dom = dump_dom(f"{base}/v/{token}")
        assert 'data-status="suspended"' in dom and "请勿配合" in dom
        assert f"/api/public/photos/{aux.badge_no}" not in dom
