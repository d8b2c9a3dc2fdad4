"""The printed badge card carries a QR code that verifies as the auxiliary's valid badge."""

import io
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from api.domain.models import AuxiliaryStatus, Role
from tests.factories import login, make_agency, make_auxiliary, make_user
from tests.problems import assert_problem
from verification.qr_zbar import ZBAR_MISSING_REASON, scan_qr, zbar_available


@pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)
def test_badge_card_qr_verifies_as_this_auxiliary(client: TestClient, db: Session) -> None:
    agency = make_agency(db, name="玄武区城市管理局")
    _, aux = make_auxiliary(db, agency, name="张伟")
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    r = client.get(f"/api/auxiliaries/{aux.id}/badge.png", headers=login(client, admin))
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    card = Image.open(io.BytesIO(r.content))
    assert card.mode == "RGB" and card.size == (638, 1011)
    (text,) = scan_qr(card)
    url = text.decode()
    assert url.startswith("HTTPS://VERIFY.EXAMPLE.GOV.CN/B/")  # the compact form, unless AUXDUTY_BADGE_QR=jws
    body = client.get(urlsplit(url).path.replace("/B/", "/api/public/verify/")).json()
    assert body["status"] == "valid" and body["name"] == "张伟" and body["badge_no"] == aux.badge_no


def test_badge_card_is_for_the_employer_only_and_needs_a_valid_credential(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency, status=AuxiliaryStatus.SUSPENDED)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    r = client.get(f"/api/auxiliaries/{aux.id}/badge.png", headers=login(client, admin))
    assert_problem(r, 409, "credential_not_valid", "第二十三条")
    stranger = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    r = client.get(f"/api/auxiliaries/{aux.id}/badge.png", headers=login(client, stranger))
    assert_problem(r, 404, "not_found")
