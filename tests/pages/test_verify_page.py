"""The verification page as a citizen's phone shows it: unmistakable status, nothing unescaped, no script.

The browser tests open the pages in real headless Chromium at phone widths and keep the screenshots in
tests/artifacts/ for a human to look at.
"""

import functools
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from api.pages.verify import (
    COMPLAINT_CATEGORIES,
    render_complaint_form,
    render_complaint_receipt,
    render_verify_page,
)
from schemas.public import DutyRead, VerificationRead, VerificationStatus
from tests.browser import dump_dom, require_chromium, screenshot

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
STATUSES: list[VerificationStatus] = ["valid", "suspended", "revoked", "superseded", "invalid"]
COMPLAIN_URL = "/complaints/new?badge_no=JB20260000123&from=qr"
CHECKED_AT = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)
# Banner colours as the stylesheet paints them: green only for a valid badge.
BANNER_RGB = {"valid": (23, 128, 61), "suspended": (180, 83, 9)} | dict.fromkeys(
    ["revoked", "superseded", "invalid"], (180, 35, 24)
)
TITLES = {
    "valid": "有效证件",
    "suspended": "证件已暂停使用",
    "revoked": "证件已注销",
    "superseded": "证件已作废（已补发新证）",
    "invalid": "无效证件（无法核验）",
}
BACKGROUND_RGB = (238, 241, 245)
TOP_BAR_RGB = (22, 52, 96)


def _verification(status: VerificationStatus, **overrides: Any) -> VerificationRead:
    fields: dict[str, Any] = {
        "status": status,
        "badge_no": None if status == "invalid" else "JB20260000123",
        "name": None if status == "invalid" else "欧阳晓明",
        # The longest agency names in Nanjing run past a phone's width: they must wrap, not overflow.
        "agency": None if status == "invalid" else "南京市江北新区管理委员会综合行政执法局（城市管理局）",
        "command_agency": None if status == "invalid" else "江北新区泰山街道综合行政执法大队",
        "photo_url": "photo.png" if status == "valid" else None,
        "independent_duties": [
            DutyRead(code="publicity", name="宣传相关法律、法规、规章和政策"),
            DutyRead(code="patrol", name="巡查责任区，及时发现、劝阻违法行为并上报"),
        ],
        "assisted_duties": [DutyRead(code="scene_order", name="维持行政执法现场秩序")],
        "notice": "",
        "checked_at": CHECKED_AT,
    }
    fields.update(overrides)
    return VerificationRead(**fields)


# --- the HTML itself ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", STATUSES)
def test_page_is_chinese_phone_sized_and_scriptless(status: VerificationStatus) -> None:
    page = render_verify_page(_verification(status), complain_url=COMPLAIN_URL)
    assert '<html lang="zh-CN">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "<script" not in page.lower()
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    assert f'data-status="{status}"' in page
    assert f"<title>{TITLES[status]} · 证件核验</title>" in page
    assert "依据《南京市行政执法辅助人员管理办法》" in page


def test_checked_at_is_shown_in_beijing_time() -> None:
    page = render_verify_page(_verification("valid"), complain_url=COMPLAIN_URL)
    assert "2026年11月26日 16:30:00（北京时间）" in page


def test_a_name_with_markup_is_escaped() -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    v = _verification(
        "valid",
        name=hostile,
        agency=hostile,
        command_agency=hostile + "!",
        badge_no=hostile,
        notice=hostile,
        independent_duties=[DutyRead(code="patrol", name=hostile)],
    )
    page = render_verify_page(v, complain_url=COMPLAIN_URL + '"><script>')
    assert "<script" not in page.lower() and "<img src=x" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_a_javascript_url_never_reaches_an_attribute() -> None:
    v = _verification("valid", photo_url="javascript:alert(1)")
    page = render_verify_page(v, complain_url="JavaScript:alert(2)")
    assert "javascript:" not in page.lower()
    assert "暂无照片" in page


@pytest.mark.parametrize("status", [s for s in STATUSES if s != "valid"])
def test_a_dead_badge_shows_no_photo_or_duties(status: VerificationStatus) -> None:
    page = render_verify_page(_verification(status, photo_url="photo.png"), complain_url=COMPLAIN_URL)
    assert "<img" not in page
    assert "巡查责任区" not in page and "欧阳晓明" not in page
    assert "请勿配合" in page and 'href="tel:12345"' in page and 'href="tel:110"' in page


def test_complaint_form_posts_every_field_without_script() -> None:
    page = render_complaint_form(
        action_url="/complaints",
        badge_no="JB<1>",
        token="eyJ.abc.def",
        categories=COMPLAINT_CATEGORIES,
        error="请填写<事情经过>",
    )
    assert "<script" not in page.lower()
    assert '<form method="post" action="/complaints" enctype="application/x-www-form-urlencoded"' in page
    for field in ("category", "description", "occurred_at", "location", "contact_phone"):
        assert f'name="{field}"' in page
    assert '<textarea id="description" name="description" required' in page
    assert '<input type="hidden" name="badge_no" value="JB&lt;1&gt;">' in page
    assert '<input type="hidden" name="token" value="eyJ.abc.def">' in page
    assert "请填写&lt;事情经过&gt;" in page
    codes = [code for code, _ in COMPLAINT_CATEGORIES]
    assert codes == [
        "no_identification",
        "privacy_leak",
        "abuse_or_bribery",
        "record_tampering",
        "beyond_scope",
        "rude_conduct",
        "other",
    ]
    assert all(f'<option value="{code}">' in page for code in codes)


def test_complaint_form_without_a_badge_sends_no_hidden_fields() -> None:
    page = render_complaint_form(action_url="/c", badge_no=None, token=None, categories=COMPLAINT_CATEGORIES)
    assert 'type="hidden"' not in page and 'role="alert"' not in page


def test_receipt_shows_both_codes_and_says_to_keep_them() -> None:
    page = render_complaint_receipt(tracking_no="TS20261126-0042", access_code="<K7QM>")
    assert "TS20261126-0042" in page and "&lt;K7QM&gt;" in page
    assert "保存" in page and "<script" not in page.lower()


def test_a_notice_that_restates_the_page_is_not_repeated_but_news_is_shown() -> None:
    same = _verification("revoked", notice="该证件已注销。请勿配合其执法要求。")
    news = _verification("revoked", notice="该证件已于2026年11月20日收回。")
    assert render_verify_page(same, complain_url=COMPLAIN_URL).count("请勿配合") == 1
    assert "该证件已于2026年11月20日收回。" in render_verify_page(news, complain_url=COMPLAIN_URL)


# --- in a real browser --------------------------------------------------------------------------------------


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The rendered pages and an ID photo, served over HTTP on 127.0.0.1 for this module's tests."""
    require_chromium()
    root = tmp_path_factory.mktemp("site")
    photo = Image.new("RGB", (300, 400), (176, 196, 222))
    photo.paste((40, 70, 120), (60, 250, 240, 400))
    photo.save(root / "photo.png")
    for status in STATUSES:
        page = render_verify_page(_verification(status), complain_url=COMPLAIN_URL)
        (root / f"{status}.html").write_text(page, encoding="utf-8")
    form = render_complaint_form(
        action_url="/complaints",
        badge_no="JB20260000123",
        token="eyJ.abc.def",
        categories=COMPLAINT_CATEGORIES,
    )
    (root / "complaint.html").write_text(form, encoding="utf-8")
    receipt = render_complaint_receipt(tracking_no="TS20261126-0042", access_code="K7QM-2XWP")
    (root / "receipt.html").write_text(receipt, encoding="utf-8")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class _Dom(HTMLParser):
    """What the tests look for: the status banner, its heading's text, and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.banners: list[str] = []
        self.links: dict[str, str] = {}
        self.headings: list[str] = []
        self._href: str | None = None
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if found.get("data-status"):
            self.banners.append(found["data-status"] or "")
        if tag == "a":
            self._href = found.get("href")
        if tag == "h1":
            self._in_h1 = True
            self.headings.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.headings[-1] += data
        if self._href is not None and data.strip():
            self.links[data.strip()] = self._href
            self._href = None


def _open_png(path: Path) -> Image.Image:
    image = Image.open(io.BytesIO(path.read_bytes()))
    assert image.format == "PNG"
    return image.convert("RGB")


def _assert_no_horizontal_overflow(shot: Image.Image, banner: tuple[int, int, int]) -> None:
    # Cards keep a margin on the right: only full-width bars may touch the edge. Anything else there is
    # content pushed past the screen.
    edge = shot.crop((shot.width - 6, 0, shot.width, shot.height))
    colours = {colour for _count, colour in edge.getcolors(maxcolors=4096) or []}
    assert colours <= {BACKGROUND_RGB, TOP_BAR_RGB, banner}, f"content reaches the right edge: {colours}"


@pytest.mark.parametrize("status", STATUSES)
def test_dom_in_chromium_has_the_banner_texts_and_complaint_link(
    site: str, status: VerificationStatus
) -> None:
    dom = dump_dom(f"{site}/{status}.html")
    parsed = _Dom()
    parsed.feed(dom)
    assert parsed.banners == [status]
    assert parsed.headings[0] == TITLES[status]
    assert parsed.links["投诉/举报此证件"] == COMPLAIN_URL
    if status == "valid":
        assert "不具有独立的执法资格" in dom and "可独立从事的工作" in dom and "请勿配合" not in dom
    else:
        assert "请勿配合" in dom and "12345" in dom and "110" in dom


@pytest.mark.parametrize("status", STATUSES)
def test_screenshot_on_a_phone_shows_the_status_and_fits(site: str, status: VerificationStatus) -> None:
    out = screenshot(f"{site}/{status}.html", ARTIFACTS / f"verify-{status}.png", width=390, height=844)
    shot = _open_png(out)
    assert shot.size == (390, 844)
    assert len(shot.getcolors(maxcolors=1 << 16) or []) > 50, "the screenshot is (nearly) blank"
    banner = BANNER_RGB[status]
    first_screen = shot.crop((0, 0, 390, 300))
    painted = sum(
        count for count, colour in first_screen.getcolors(maxcolors=1 << 16) or [] if colour == banner
    )
    assert painted > 390 * 80, "the status banner is not a large block at the top of the screen"
    _assert_no_horizontal_overflow(shot, banner)


@pytest.mark.parametrize("page", ["valid", "complaint", "receipt"])
def test_narrowest_phone_has_no_horizontal_overflow(site: str, page: str) -> None:
    out = screenshot(f"{site}/{page}.html", ARTIFACTS / f"narrow-360-{page}.png", width=360, height=1400)
    shot = _open_png(out)
    assert shot.width == 360
    _assert_no_horizontal_overflow(shot, BANNER_RGB["valid"])
