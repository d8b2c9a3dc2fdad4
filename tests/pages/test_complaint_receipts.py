"""Filing a complaint from a page is post-redirect-get, its access code never enters a URL, and following it
with a wrong code learns nothing."""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api.domain.audit.receipts import filing_receipt
from api.domain.base import BEIJING
from api.domain.models import Complaint
from api.pages import receipt_cookie
from tests.conftest import app_on, make_settings
from tests.factories import make_agency, make_auxiliary
from tests.pages.citizen_world import complaint_form, publish_notice, shown_codes, token_of


def _count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Complaint)) or 0)


def test_filing_redirects_to_a_receipt_that_a_reload_does_not_file_again(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    before = _count(db)
    r = client.post(f"/v/{token_of(client, db, aux)}/complaint", data=complaint_form(), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/complaints/receipt"
    first = client.get("/complaints/receipt")
    again = client.get("/complaints/receipt")  # the reload
    assert first.status_code == again.status_code == 200
    tracking_no, code = shown_codes(first.text)
    assert shown_codes(again.text) == [tracking_no, code]
    assert _count(db) == before + 1
    stored = db.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no))
    assert stored is not None and stored.auxiliary_id == aux.id
    receipt = filing_receipt(db, stored.id)
    assert receipt is not None and receipt.leaf_hash.hex() in first.text


def test_the_access_code_never_travels_in_a_url_nor_in_the_clear(client: TestClient, db: Session) -> None:
    r = client.post("/complaint", data=complaint_form(), follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert r.status_code == 303 and r.headers["location"] == "/complaints/receipt"
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/complaints/receipt" in cookie
    assert f"Max-Age={receipt_cookie.LIFETIME}" in cookie
    page = client.get("/complaints/receipt").text
    tracking_no, code = shown_codes(page)
    assert code not in r.headers["location"] and code not in cookie and tracking_no not in cookie
    # The receipt page links to tracking, where the code is typed into a POST form.
    track = client.get("/track").text
    assert '<form method="post" action="/track"' in track and 'name="access_code"' in track


def test_a_receipt_cookie_altered_forged_or_expired_shows_nothing(client: TestClient, db: Session) -> None:
    client.post("/complaint", data=complaint_form(), follow_redirects=False)
    sealed = client.cookies.get(receipt_cookie.COOKIE)
    assert sealed
    secret = client.app.state.ctx.access_secret  # type: ignore[attr-defined]
    tracking_no, code = receipt_cookie.unseal(secret, sealed) or ("", "")
    stale = receipt_cookie.seal(secret, tracking_no=tracking_no, access_code=code,
                                now=time.time() - receipt_cookie.LIFETIME - 1)
    forged = receipt_cookie.seal("another secret", tracking_no=tracking_no, access_code=code)
    altered = sealed[:-4] + ("AAAA" if not sealed.endswith("AAAA") else "BBBB")
    for value in (altered, forged, stale, "", "not base64!"):
        client.cookies.clear()
        client.cookies.set(receipt_cookie.COOKIE, value, domain="testserver.local", path=receipt_cookie.PATH)
        r = client.get("/complaints/receipt")
        assert r.status_code == 404 and "回执已不在本设备上" in r.text and code not in r.text, value
    client.cookies.clear()
    client.cookies.set(receipt_cookie.COOKIE, sealed, domain="testserver.local", path=receipt_cookie.PATH)
    assert shown_codes(client.get("/complaints/receipt").text) == [tracking_no, code]  # the same way, untouched


def test_the_receipt_can_be_taken_off_the_device(client: TestClient, db: Session) -> None:
    client.post("/complaint", data=complaint_form())
    r = client.post("/complaints/receipt/forget", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/track"
    assert f'{receipt_cookie.COOKIE}=""' in r.headers["set-cookie"] and "Max-Age=0" in r.headers["set-cookie"]
    client.cookies.clear()
    assert client.get("/complaints/receipt").status_code == 404


def test_open_form_names_a_badge_typed_with_look_alikes_and_keeps_what_was_typed(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    aux.badge_no = "NJ0A1B2C3D"
    db.flush()
    refused = client.post("/complaint", data=complaint_form(category="", badge_no="nj-oaib2c3d"))
    assert refused.status_code == 422 and "请选择问题类型" in refused.text
    assert "当街辱骂摊主，推翻摊位</textarea>" in refused.text and 'value="nj-oaib2c3d"' in refused.text
    assert 'value="中山路与汉中路交叉口"' in refused.text
    client.post("/complaint", data=complaint_form(badge_no="nj-oaib2c3d"))
    tracking_no, _ = shown_codes(client.get("/complaints/receipt").text)
    stored = db.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no))
    assert stored is not None and (stored.auxiliary_id, stored.badge_no) == (aux.id, "NJ0A1B2C3D")


def test_the_open_form_is_prefilled_from_a_badge_found_by_number(client: TestClient) -> None:
    page = client.get("/complaint", params={"badge_no": "NJ0A1B2C3D"}).text
    assert '<input type="text" id="badge_no" name="badge_no"' in page and 'value="NJ0A1B2C3D"' in page


# --- following a complaint ---------------------------------------------------------------------------------


def _filed(client: TestClient, db: Session) -> tuple[str, str]:
    _, aux = make_auxiliary(db, make_agency(db))
    client.post(f"/v/{token_of(client, db, aux)}/complaint", data=complaint_form())
    tracking_no, code = shown_codes(client.get("/complaints/receipt").text)
    return tracking_no, code


def test_tracking_shows_status_category_dates_and_the_log_receipt(client: TestClient, db: Session) -> None:
    tracking_no, code = _filed(client, db)
    r = client.post("/track", data={"tracking_no": tracking_no.lower(), "access_code": " " + code.lower()})
    assert r.status_code == 200
    page = r.text
    stored = db.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no))
    assert stored is not None
    receipt = filing_receipt(db, stored.id)
    assert receipt is not None
    assert "已受理，等待核查" in page and "行为粗暴，辱骂殴打行政相对人等不文明行为" in page
    due = stored.due_at.astimezone(BEIJING)
    assert f"应于 {due.year}年{due.month}月{due.day}日 前办结" in page
    assert "受理时间" in page and receipt.leaf_hash.hex() in page
    assert code not in page  # shown once, on the receipt; never again


def test_a_decided_complaint_shows_its_outcome(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    client.post(f"/v/{token_of(client, db, aux)}/complaint", data=complaint_form())
    tracking_no, code = shown_codes(client.get("/complaints/receipt").text)
    publish_notice(client, db, agency, tracking_no, "经查，某街道一名辅助人员当街辱骂摊主，给予通报批评。")
    page = client.post("/track", data={"tracking_no": tracking_no, "access_code": code}).text
    assert "已办结" in page and "经核实情况属实" in page and "通报批评" in page and "办结时间" in page
    notices = client.get("/notices").text
    assert "经查，某街道一名辅助人员当街辱骂摊主，给予通报批评。" in notices and "行为粗暴" in notices


def test_a_wrong_code_and_an_unknown_number_answer_the_same_page(client: TestClient, db: Session) -> None:
    tracking_no, code = _filed(client, db)
    unknown = tracking_no[:-6] + ("ZZZZZZ" if not tracking_no.endswith("ZZZZZZ") else "YYYYYY")
    answers = [
        client.post("/track", data={"tracking_no": tracking_no, "access_code": "WRONGCODE2"}),
        client.post("/track", data={"tracking_no": tracking_no, "access_code": ""}),
        client.post("/track", data={"tracking_no": unknown, "access_code": code}),
        client.post("/track", data={"tracking_no": unknown, "access_code": "WRONGCODE2"}),
    ]
    assert {r.status_code for r in answers} == {404}
    pages = {r.text.replace(tracking_no, "№").replace(unknown, "№") for r in answers}
    assert len(pages) == 1 and "未找到该投诉，或查询码不正确" in pages.pop()


@pytest.fixture
def tight(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    """The app with every rate limit at a twentieth."""
    app = app_on(connection, make_settings(data_dir, rate_limit_scale=0.05))
    with TestClient(app) as c:
        yield c


def test_tracking_shares_the_apis_rate_limit(tight: TestClient, db: Session) -> None:
    # The API's LOOKUP rule: 60 a minute, here 3, counted alike for the page and the API.
    for _ in range(2):
        assert tight.post("/track", data={"tracking_no": "TS1", "access_code": "X"}).status_code == 404
    assert tight.get("/api/public/complaints/TS1", headers={"X-Access-Code": "X"}).status_code == 404
    r = tight.post("/track", data={"tracking_no": "TS1", "access_code": "X"})
    assert r.status_code == 429 and "请求过于频繁" in r.text and r.headers["content-type"].startswith("text/html")


def test_filing_from_a_page_shares_the_apis_complaint_limit(tight: TestClient, db: Session) -> None:
    # 10 an hour, here 1.
    assert tight.post("/complaint", data=complaint_form(), follow_redirects=False).status_code == 303
    r = tight.post("/complaint", data=complaint_form(), follow_redirects=False)
    assert r.status_code == 429 and "请求过于频繁" in r.text
