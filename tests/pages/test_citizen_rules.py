"""The rules of the citizen pages, without a browser: a typed badge number forgives look-alikes and nothing
more, a photo gets the verify-image answers as pages, every page carries its trust signals, and the colours
meet WCAG 2.2 AA."""

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api.domain.models import AuxiliaryStatus
from api.domain.staff.badge_numbers import BADGE_ALPHABET, badge_no_readings, new_badge_no
from api.main import create_app
from api.pages.layout import stylesheet
from api.pages.palette import COLOURS, PAIRINGS, Pairing
from tests.conftest import app_on, make_settings
from tests.factories import make_agency, make_auxiliary
from tests.pages.citizen_world import FOREIGN_HOST, badge_photo, blank_photo, foreign_qr_photo, token_of
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

needs_zbar = pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)

# --- badge numbers as typed ------------------------------------------------------------------------------


def test_issued_numbers_hold_no_look_alike_letter() -> None:
    assert not set("ILOU") & set(BADGE_ALPHABET)
    assert all(badge_no_readings(n) == (n,) for n in (new_badge_no() for _ in range(200)))


@pytest.mark.parametrize(("typed", "readings"), [
    ("NJ0A1B2C3D", ("NJ0A1B2C3D",)),
    ("nj0a1b2c3d", ("NJ0A1B2C3D",)),
    (" NJ-0A1B 2C3D ", ("NJ0A1B2C3D",)),
    ("ＮＪ０Ａ１Ｂ－２Ｃ３Ｄ", ("NJ0A1B2C3D",)),  # a Chinese input method's full-width forms
    ("NJOA1B2C3D", ("NJOA1B2C3D", "NJ0A1B2C3D")),  # as typed first: a number made before the scheme
    ("njoaib2c3d", ("NJOAIB2C3D", "NJ0A1B2C3D")),
    ("NJ0AlB2C3D", ("NJ0ALB2C3D", "NJ0A1B2C3D")),
    ("NJ<0A>", ()),
    ("", ()),
    ("N" * 33, ()),
])
def test_a_typed_number_is_read_as_typed_then_with_look_alikes(typed: str, readings: tuple[str, ...]) -> None:
    assert badge_no_readings(typed) == readings


def test_number_page_finds_the_badge_typed_with_look_alikes(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db, name="玄武区城市管理局"), name="张伟")
    aux.badge_no = "NJ0A1B2C3D"
    db.flush()
    for typed in ("nj-oaib 2c3d", "NJOALB2C3D", "ｎｊ０ａ１ｂ２ｃ３ｄ"):
        r = client.get("/check", params={"badge_no": typed})
        assert r.status_code == 200, typed
        assert 'data-status="valid"' in r.text and "张伟" in r.text and "NJ0A1B2C3D" in r.text
        assert 'href="/complaint?badge_no=NJ0A1B2C3D"' in r.text
    # The API forgives the same: one rule, in the domain.
    assert client.get("/api/public/badges/njoaib2c3d").json()["badge_no"] == "NJ0A1B2C3D"


def test_the_number_as_typed_wins_over_its_look_alike_reading(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, legacy = make_auxiliary(db, agency, name="王老证")
    _, issued = make_auxiliary(db, agency, name="李新证")
    legacy.badge_no, issued.badge_no = "NJOLD00001", "NJ01D00001"
    db.flush()
    assert "王老证" in client.get("/check", params={"badge_no": "njold00001"}).text
    assert "李新证" in client.get("/check", params={"badge_no": "nj0ld00001"}).text


@pytest.mark.parametrize("typed", ["NJ0000000000", "<script>alert(1)</script>", "NJ 9999 9999"])
def test_an_unknown_number_is_a_plain_not_found(client: TestClient, db: Session, typed: str) -> None:
    make_auxiliary(db, make_agency(db), name="赵六")
    r = client.get("/check", params={"badge_no": typed})
    assert r.status_code == 404 and "未找到此证件编号" in r.text
    assert "赵六" not in r.text and "data-status" not in r.text and "<script>alert" not in r.text
    assert 'value="' + typed.strip().replace("<", "&lt;").replace(">", "&gt;") + '"' in r.text


def test_an_empty_number_shows_the_form(client: TestClient) -> None:
    r = client.get("/check")
    assert r.status_code == 200 and 'name="badge_no"' in r.text and 'method="get"' in r.text


def test_a_valid_badge_without_a_photo_shows_a_placeholder_not_a_broken_image(
    client: TestClient, db: Session
) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    page = client.get(f"/v/{token_of(client, db, aux)}").text
    assert 'data-status="valid"' in page and "<img" not in page and "/api/public/photos/" not in page
    assert '<svg class="photo nophoto" role="img" aria-label="暂无照片"' in page
    aux.photo, aux.photo_type = b"\xff\xd8 a jpeg", "image/jpeg"
    db.flush()
    page = client.get("/check", params={"badge_no": aux.badge_no}).text
    assert f'<img class="photo" src="/api/public/photos/{aux.badge_no}"' in page and 'class="photo nophoto"' not in page


# --- a photo of a badge --------------------------------------------------------------------------------------


@needs_zbar
def test_a_photo_of_a_badge_answers_with_the_verification_page(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db, name="秦淮区城市管理局"), name="孙丽")
    photo = badge_photo(client, db, aux, "秦淮区城市管理局")
    r = client.post("/check/photo", files={"image": ("badge.jpg", photo, "image/jpeg")})
    assert r.status_code == 200 and 'data-status="valid"' in r.text and "孙丽" in r.text
    assert "已识别照片中的二维码" in r.text


@needs_zbar
def test_a_photo_without_a_qr_code_says_how_to_take_it_again(client: TestClient) -> None:
    r = client.post("/check/photo", files={"image": ("x.jpg", blank_photo(), "image/jpeg")})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "照片中没有找到二维码" in r.text and "对焦清晰" in r.text and 'type="file"' in r.text


@needs_zbar
def test_a_foreign_qr_code_warns_of_a_fake_badge_naming_its_host(client: TestClient) -> None:
    r = client.post("/check/photo", files={"image": ("x.png", foreign_qr_photo(), "image/png")})
    assert r.status_code == 422 and "可能是伪造证件" in r.text and "请勿配合" in r.text
    assert f'<strong class="mono">{FOREIGN_HOST}</strong>' in r.text and "https://verify.example.gov.cn" in r.text


def test_a_photo_too_large_is_refused_as_a_page_before_it_is_read(client: TestClient) -> None:
    huge = b"\xff\xd8" + b"\0" * (16 << 20)
    r = client.post("/check/photo", files={"image": ("x.jpg", huge, "image/jpeg")})
    assert r.status_code == 413 and r.headers["content-type"].startswith("text/html")
    assert "照片太大" in r.text and "15 MB" in r.text


def test_a_file_that_is_no_photo_and_a_missing_file_are_said_plainly(client: TestClient) -> None:
    r = client.post("/check/photo", files={"image": ("x.gif", b"GIF89a" + b"\0" * 64, "image/gif")})
    assert r.status_code == 415 and "JPEG、PNG、WebP 或 HEIC" in r.text
    r = client.post("/check/photo", files={"other": ("x.jpg", b"abc", "image/jpeg")})
    assert r.status_code == 422 and "请先拍摄或选择一张证件照片" in r.text


def test_photo_uploads_share_the_apis_rate_limit(connection: Connection, data_dir: Path) -> None:
    app = app_on(connection, make_settings(data_dir, rate_limit_scale=0.1))
    with TestClient(app) as c:  # the API's IMAGE rule: 20 a minute, here 2
        statuses = [c.post("/check/photo", files={"image": ("x.gif", b"GIF89a", "image/gif")}).status_code
                    for _ in range(2)]
        statuses.append(c.post("/api/public/verify-image",
                               files={"image": ("x.gif", b"GIF89a", "image/gif")}).status_code)
        page = c.post("/check/photo", files={"image": ("x.gif", b"GIF89a", "image/gif")})
    assert statuses == [415, 415, 429]
    assert page.status_code == 429 and "请求过于频繁" in page.text and int(page.headers["retry-after"]) >= 1


# --- the frame of every page -------------------------------------------------------------------------------

PAGES = ["/", "/check", "/check/photo", "/track", "/notices", "/complaint", "/complaints/receipt"]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_scriptless_names_its_issuer_and_moves(client: TestClient, path: str) -> None:
    r = client.get(path)
    page = r.text
    assert '<html lang="zh-CN">' in page and "<script" not in page.lower() and "<link" not in page.lower()
    assert "南京市司法局 主办" in page and "主办单位：南京市司法局" in page
    assert '<div class="live" aria-hidden="true"><span></span></div>' in page
    assert "网站标识码" not in page and "beian.miit.gov.cn" not in page  # not set: not shown
    csp = r.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["cache-control"] == "no-store"


def test_issuer_site_code_and_icp_number_come_from_the_settings(connection: Connection, data_dir: Path) -> None:
    app = create_app(make_settings(data_dir, issuer_name="南京市江宁区司法局", site_code="3201150001",
                                   icp_number="苏ICP备12345678号-1"), engine=connection.engine, migrate=False)
    with TestClient(app) as c:
        page = c.get("/").text
    assert "南京市江宁区司法局 主办" in page and "网站标识码：3201150001" in page
    assert '<a href="https://beian.miit.gov.cn/" rel="noreferrer">苏ICP备12345678号-1</a>' in page


def test_the_moving_stripe_honours_reduced_motion() -> None:
    css = stylesheet()
    assert re.search(r"\.live span\{[^}]*animation:live-sweep", css)
    reduced = re.search(r"@media \(prefers-reduced-motion:reduce\)\{(.*?)\}\}", css)
    assert reduced is not None
    # Under reduced motion it no longer moves: it fades in place (a screenshot still shows no change).
    assert "live-sweep" not in reduced.group(1) and "animation:live-glow" in reduced.group(1)
    assert re.search(r"@keyframes live-glow\{from\{opacity:1\}to\{opacity:[.\d]+\}\}", css)


def test_large_text_mode_works_without_script_and_is_kept(client: TestClient) -> None:
    page = client.get("/").text
    assert '<html lang="zh-CN">' in page and 'href="/?size=large">大字版</a>' in page
    r = client.get("/check?badge_no=&size=large")
    assert '<html lang="zh-CN" class="large">' in r.text and "auxduty_text_size=large" in r.headers["set-cookie"]
    assert 'href="/check?badge_no=&amp;size=normal">标准字号</a>' in r.text
    assert 'class="large"' in client.get("/track").text  # the cookie keeps it
    client.get("/?size=normal")
    assert 'class="large"' not in client.get("/track").text
    assert "html.large{font-size:125%}" in stylesheet()


# --- contrast --------------------------------------------------------------------------------------------


def _luminance(colour: str) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)


def contrast(a: str, b: str) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula_matches_wcags_reference_values() -> None:
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#66707d", "#eef1f5") == pytest.approx(4.44, abs=0.01)  # the old footer: too faint


@pytest.mark.parametrize("pairing", PAIRINGS, ids=lambda p: p.where)
def test_every_pairing_of_text_and_ground_meets_wcag_aa(pairing: Pairing) -> None:
    where, ink, ground, minimum = pairing
    ratio = contrast(COLOURS[ink], COLOURS[ground])
    assert ratio >= minimum, f"{where}: {COLOURS[ink]} on {COLOURS[ground]} is {ratio:.2f}:1"


def test_the_stylesheet_uses_only_the_palettes_colours_and_all_of_them() -> None:
    css = stylesheet()
    used = set(re.findall(r"#[0-9a-fA-F]{6}\b|#[0-9a-fA-F]{3}\b", css))
    assert used <= set(COLOURS.values()), used - set(COLOURS.values())
    paired = {COLOURS[p.ink] for p in PAIRINGS} | {COLOURS[p.ground] for p in PAIRINGS}
    decorative = {COLOURS[k] for k in ("rule", "notice_edge", "tag_edge", "slot_figure", "sweep")}
    assert set(COLOURS.values()) <= paired | decorative


def test_a_suspended_badge_found_by_number_leads_with_do_not_cooperate(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db), status=AuxiliaryStatus.SUSPENDED, name="钱七")
    r = client.get("/check", params={"badge_no": aux.badge_no.lower()})
    assert r.status_code == 200 and 'data-status="suspended"' in r.text and "请勿配合" in r.text
    assert "<img" not in r.text and 'class="photo nophoto"' not in r.text
