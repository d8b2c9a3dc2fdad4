"""The printable badge as a vector PDF: a well-formed one-page CR80 PDF whose QR code, drawn as vector
squares, reads back as the auxiliary's valid badge, with the number and the address to check it beside it.

No PDF library is installed: tests/pdf_page.py checks the file's cross-reference table, decodes its content
stream and paints its filled rectangles onto a bitmap for zbar."""

import io
import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from api.domain.models import AuxiliaryStatus, Role
from tests.factories import login, make_agency, make_auxiliary, make_user
from tests.pdf_page import read_pdf
from tests.problems import assert_problem
from verification.card_pdf import render_badge_pdf
from verification.qr_zbar import ZBAR_MISSING_REASON, scan_qr, zbar_available

CR80_PT = (54 / 25.4 * 72, 85.6 / 25.4 * 72)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (90, 120, 160)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)
def test_badge_pdf_is_a_vector_card_whose_qr_verifies_as_this_auxiliary(client: TestClient, db: Session) -> None:
    agency = make_agency(db, name="玄武区城市管理局")
    _, aux = make_auxiliary(db, agency, name="张伟")
    aux.photo, aux.photo_type = _jpeg(), "image/jpeg"
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    r = client.get(f"/api/auxiliaries/{aux.id}/badge.pdf", headers=login(client, admin))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="badge-{aux.badge_no}.pdf"'
    page = read_pdf(r.content)
    assert (page.width, page.height) == pytest.approx(CR80_PT, abs=0.01)
    lines = page.text.splitlines()
    assert "张伟" in lines and aux.badge_no in lines and "玄武区城市管理局" in lines
    assert "verify.example.gov.cn/check" in lines  # where to check the number by hand, beside it
    assert "行政执法辅助人员 · 无独立执法资格" in lines
    assert page.images == 1  # the ID photo: the only bitmap
    # Hundreds of black squares, and nothing else: the QR code is vectors, readable once painted.
    assert sum(1 for *_, colour in page.rects if colour == (0, 0, 0)) > 200
    (text,) = scan_qr(page.raster(scale=8))
    url = text.decode()
    assert url.startswith("HTTPS://VERIFY.EXAMPLE.GOV.CN/B/")  # the compact form, unless AUXDUTY_BADGE_QR=jws
    body = client.get(urlsplit(url).path.replace("/B/", "/api/public/verify/")).json()
    assert body["status"] == "valid" and body["name"] == "张伟" and body["badge_no"] == aux.badge_no


def test_badge_pdf_has_the_png_cards_access_rules(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency, status=AuxiliaryStatus.SUSPENDED)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    path = f"/api/auxiliaries/{aux.id}/badge.pdf"
    assert_problem(client.get(path, headers=login(client, admin)), 409, "credential_not_valid", "第二十三条")
    stranger = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    assert_problem(client.get(path, headers=login(client, stranger)), 404, "not_found")
    assert_problem(client.get(path), 401, "unauthenticated")


def test_a_card_without_a_photo_keeps_its_slot_and_long_names_fit() -> None:
    long_agency = "南京市江北新区管理委员会综合行政执法局（城市管理局）"
    pdf = render_badge_pdf(name="欧阳晓明", badge_no="NJ8K2M4Q7T", agency=long_agency,
                           command_agency="江北新区泰山街道综合行政执法大队", qr_text="https://verify.example.gov.cn/v/x",
                           photo=None, check_url="verify.example.gov.cn/check")
    page = read_pdf(pdf)
    assert page.images == 0 and "照片" in page.text.splitlines()
    for run in page.runs:  # nothing printed past the card's edges
        font = re.search(rb"/BaseFont /([\w-]+)", page.fonts[run.font.lstrip("/")])
        assert font is not None
        right = run.x + pdfmetrics.stringWidth(run.text, font.group(1).decode(), run.size)
        assert run.x > 0 and right < page.width and 0 < run.y < page.height, run
    agency_lines = [line for line in page.text.splitlines() if line.rstrip("…") and line.rstrip("…") in long_agency]
    assert len(agency_lines) == 2 and agency_lines[-1].endswith("…")  # two lines beside a command agency
