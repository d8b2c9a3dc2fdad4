"""`AUXDUTY_BADGE_QR`: the printed card (PNG and PDF) carries the compact form by default, the JWS URL on request;
each verifies as the auxiliary's valid badge."""

import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import segno
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from api.domain.models import Role
from api.settings import Settings
from tests.conftest import make_settings
from tests.factories import login, make_agency, make_auxiliary, make_user
from tests.pdf_page import read_pdf
from verification.qr_zbar import ZBAR_MISSING_REASON, scan_qr, zbar_available

pytestmark = pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)
PREFIX = {"compact": "HTTPS://VERIFY.EXAMPLE.GOV.CN/B/", "jws": "https://verify.example.gov.cn/v/"}


@pytest.fixture(params=["compact", "jws"])
def app_settings(request: pytest.FixtureRequest, data_dir: Path) -> Settings:
    return make_settings(data_dir, badge_qr=request.param)


@pytest.mark.parametrize("kind", ["png", "pdf"])
def test_card_carries_the_configured_form_and_verifies(
    client: TestClient, db: Session, app_settings: Settings, kind: str
) -> None:
    agency = make_agency(db, name="玄武区城市管理局")
    _, aux = make_auxiliary(db, agency, name="张伟")
    r = client.get(f"/api/auxiliaries/{aux.id}/badge.{kind}",
                   headers=login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency)))
    assert r.status_code == 200
    image = Image.open(io.BytesIO(r.content)) if kind == "png" else read_pdf(r.content).raster(scale=8)
    (text,) = scan_qr(image)
    url = text.decode()
    assert url.startswith(PREFIX[app_settings.badge_qr])
    version = int(segno.make(url, error="m", boost_error=False).version)
    assert version <= 8 if app_settings.badge_qr == "compact" else version > 8
    body = client.get("/api/public/verify/" + urlsplit(url).path.rsplit("/", 1)[1]).json()
    assert body["status"] == "valid" and body["name"] == "张伟"
