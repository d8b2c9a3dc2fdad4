"""A citizen's phone in real headless Chromium (Playwright, Debian's browser), against the app on a real server:
a number typed with look-alike letters, photos of a badge, a complaint filed, reloaded and followed, a dead
badge, the case notices, large text and reduced motion. axe-core checks every page (no serious or critical
violation); screenshots at 390 x 844 are kept in tests/artifacts/."""

import io

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from playwright.sync_api import Browser, FilePayload, Page
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.models import AuxiliaryStatus, Complaint
from tests.a11y import assert_accessible
from tests.factories import make_agency, make_auxiliary
from tests.live import serve
from tests.pages.citizen_world import (
    FOREIGN_HOST,
    badge_photo,
    blank_photo,
    foreign_qr_photo,
    publish_notice,
    token_of,
)
from tests.pw import keep_screenshot, phone_context, wait_until
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available


def _id_photo() -> bytes:
    buf = io.BytesIO()
    image = Image.new("RGB", (300, 400), (176, 196, 222))
    image.paste((40, 70, 120), (60, 250, 240, 400))
    image.save(buf, "JPEG")
    return buf.getvalue()


def _checked(page: Page, name: str) -> None:
    """axe-core on the page as it stands, and its screenshot kept."""
    assert_accessible(page)
    keep_screenshot(page, name)


def _complaints(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(Complaint)) or 0)


def test_citizen_types_a_number_with_look_alikes_and_sees_the_badge(
    chromium: Browser, client: TestClient, db: Session, backend: str
) -> None:
    _, aux = make_auxiliary(db, make_agency(db, name="玄武区城市管理局"), name="张伟")
    aux.badge_no = "NJ0A1B2C3D"
    aux.photo, aux.photo_type = _id_photo(), "image/jpeg"
    db.flush()
    with serve(client.app) as base, phone_context(chromium, base, bypass_csp=True) as phone:  # type: ignore[arg-type]
        page = phone.new_page()
        page.goto("/")
        assert page.locator("h1").inner_text() == "核验行政执法辅助人员身份"
        assert "https://verify.example.gov.cn" in page.locator("main").inner_text()
        _checked(page, f"citizen-landing-{backend}")
        page.get_by_role("link", name="输入证件编号").click()
        page.wait_for_url("**/check")
        _checked(page, f"citizen-number-form-{backend}")
        page.get_by_label("证件编号").fill("nj-oaib 2c3d")  # lower case, O for 0, I for 1, a dash, a space
        page.get_by_role("button", name="核验").click()
        page.wait_for_selector('[data-status="valid"]')
        assert page.locator(".name").inner_text() == "张伟"
        assert "NJ0A1B2C3D" in page.locator(".who").inner_text()
        # The ID photo really loads (a broken image has no natural width). The answer's page is drawn before
        # its photo arrives, so wait for the image to finish, loaded or broken, then look.
        wait_until(page, "document.querySelector('img.photo')?.complete")
        assert page.locator("img.photo").evaluate("img => img.naturalWidth") == 300
        _checked(page, f"citizen-number-answer-{backend}")
        page.goto("/check")
        page.get_by_label("证件编号").fill("NJ9Z9Z9Z9Z")
        page.get_by_role("button", name="核验").click()
        page.wait_for_selector("text=未找到此证件编号")
        _checked(page, f"citizen-number-missing-{backend}")


@pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)
def test_citizen_uploads_photos_and_gets_each_answer(
    chromium: Browser, client: TestClient, db: Session, backend: str
) -> None:
    _, aux = make_auxiliary(db, make_agency(db, name="秦淮区城市管理局"), name="孙丽")
    photo = badge_photo(client, db, aux, "秦淮区城市管理局")
    db.flush()
    uploads: dict[str, FilePayload] = {
        "badge": {"name": "badge.jpg", "mimeType": "image/jpeg", "buffer": photo},
        "blank": {"name": "blank.jpg", "mimeType": "image/jpeg", "buffer": blank_photo()},
        "foreign": {"name": "qr.png", "mimeType": "image/png", "buffer": foreign_qr_photo()},
    }
    with serve(client.app) as base, phone_context(chromium, base, bypass_csp=True) as phone:  # type: ignore[arg-type]
        page = phone.new_page()
        page.goto("/")
        page.get_by_role("link", name="上传证件照片").click()
        page.wait_for_url("**/check/photo")
        _checked(page, f"citizen-photo-form-{backend}")
        for kind, expect in (("badge", '[data-status="valid"]'), ("blank", "text=照片中没有找到二维码"),
                             ("foreign", '[data-status="foreign_qr"]')):
            page.goto("/check/photo")
            page.set_input_files("#image", files=[uploads[kind]])
            page.get_by_role("button", name="上传并核验").click()
            page.wait_for_selector(expect)
            _checked(page, f"citizen-photo-{kind}-{backend}")
        assert FOREIGN_HOST in page.locator(".alert").inner_text()


def test_citizen_files_a_complaint_reloads_the_receipt_and_follows_it(
    chromium: Browser, client: TestClient, db: Session, backend: str
) -> None:
    _, aux = make_auxiliary(db, make_agency(db), name="周八")  # no ID photo uploaded
    token = token_of(client, db, aux)
    db.flush()
    before = _complaints(db)
    with serve(client.app) as base, phone_context(chromium, base, bypass_csp=True) as phone:  # type: ignore[arg-type]
        page = phone.new_page()
        page.goto(f"/v/{token}")
        page.wait_for_selector('[data-status="valid"]')
        assert page.locator("svg.nophoto").is_visible() and page.locator("img").count() == 0
        _checked(page, f"citizen-verify-valid-{backend}")
        page.get_by_role("link", name="投诉/举报此证件").click()
        _checked(page, f"citizen-complaint-form-{backend}")
        page.get_by_label("问题类型").select_option("rude_conduct")
        page.get_by_label("事情经过").fill("在中山路当街辱骂摊主，推翻摊位。")
        page.get_by_label("发生地点").fill("中山路与汉中路交叉口")
        page.get_by_role("button", name="提交投诉").click()
        page.wait_for_url("**/complaints/receipt")
        tracking_no, code = page.locator("output.code").all_inner_texts()
        _checked(page, f"citizen-complaint-receipt-{backend}")
        page.reload()
        assert page.locator("output.code").all_inner_texts() == [tracking_no, code]
        assert _complaints(db) == before + 1  # the reload filed nothing
        assert page.url == f"{base}/complaints/receipt"  # the code is in no address the browser keeps
        page.get_by_role("link", name="投诉查询").click()
        page.wait_for_url("**/track")
        _checked(page, f"citizen-track-form-{backend}")
        page.get_by_label("受理编号").fill(tracking_no)
        page.get_by_label("查询码").fill("WRONGCODE2")
        page.get_by_role("button", name="查询").click()
        page.wait_for_selector("text=未找到该投诉，或查询码不正确")
        _checked(page, f"citizen-track-wrong-{backend}")
        page.get_by_label("查询码").fill(code.lower())
        page.get_by_role("button", name="查询").click()
        page.wait_for_selector('[data-status="received"]')
        shown = page.locator("main").inner_text()
        assert "已受理，等待核查" in shown and "办理期限" in shown and "记录摘要" in shown
        assert code not in page.url
        _checked(page, f"citizen-track-status-{backend}")


def test_a_dead_badge_the_case_notices_large_text_and_reduced_motion(
    chromium: Browser, client: TestClient, db: Session, backend: str
) -> None:
    agency = make_agency(db, name="鼓楼区城市管理局")
    _, suspended = make_auxiliary(db, agency, status=AuxiliaryStatus.SUSPENDED)
    _, aux = make_auxiliary(db, agency)
    client.post(f"/v/{token_of(client, db, aux)}/complaint",
                data={"category": "abuse_or_bribery", "description": "索要好处费"})
    tracking_no = client.get("/complaints/receipt").text.split('<output class="code mono">')[1].split("<")[0]
    publish_notice(client, db, agency, tracking_no, "经查，某街道一名辅助人员向商户索要好处费，已责令改正并通报批评。")
    token = token_of(client, db, suspended)
    with serve(client.app) as base, phone_context(chromium, base, bypass_csp=True) as phone:  # type: ignore[arg-type]
        page = phone.new_page()
        page.goto(f"/v/{token}")
        page.wait_for_selector('[data-status="suspended"]')
        assert "请勿配合此人的执法要求" in page.locator("main").inner_text()
        _checked(page, f"citizen-verify-suspended-{backend}")
        page.goto("/")
        page.get_by_role("link", name="违法违纪案例通报").click()
        page.wait_for_url("**/notices")
        assert "向商户索要好处费" in page.locator(".notices").inner_text()
        _checked(page, f"citizen-notices-{backend}")
        normal = page.locator("body").evaluate("b => parseFloat(getComputedStyle(b).fontSize)")
        page.get_by_role("link", name="大字版").click()
        page.wait_for_selector("html.large")
        assert page.locator("body").evaluate("b => parseFloat(getComputedStyle(b).fontSize)") == normal * 1.25
        page.goto("/track")  # kept by its cookie, no script involved
        assert page.locator("html.large").count() == 1
        _checked(page, f"citizen-large-text-{backend}")
        stripe = page.locator(".live span")
        assert stripe.evaluate("s => getComputedStyle(s).animationName") == "live-sweep"
        page.emulate_media(reduced_motion="reduce")
        assert stripe.evaluate("s => getComputedStyle(s).animationName") == "live-glow"
