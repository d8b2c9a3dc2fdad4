"""The printed badge: its QR scans first time, its Chinese is real glyphs, a bad photo does not stop it."""

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from verification.card import (
    CARD_SIZE,
    PHOTO_BOX,
    QR_QUIET_MODULES,
    FontMissing,
    draws_cjk,
    find_cjk_fonts,
    render_badge_card,
)

try:
    from pyzbar import pyzbar  # type: ignore[import-untyped]
except ImportError:  # the Python package is there but libzbar0 is not
    pyzbar = None

needs_zbar = pytest.mark.skipif(pyzbar is None, reason="libzbar not installed: apt-get install libzbar0")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _verify_url(length: int = 250) -> str:
    """A URL shaped like a real badge's: the verify origin and an EdDSA compact JWS, `length` characters."""
    header = _b64(json.dumps({"alg": "EdDSA", "kid": "k2026-11"}, separators=(",", ":")).encode())
    signature = _b64(hashlib.sha512(b"badge").digest())
    prefix = f"https://verify.example.gov.cn/v/{header}."
    url = ""
    for pad in range(length):
        claims = {"sub": "A8972138", "cred": "C-2026-000417", "iat": 1797348773, "v": 1, "jti": "x" * pad}
        url = prefix + _b64(json.dumps(claims).encode()) + "." + signature
        if len(url) >= length:
            break
    # base64 grows in steps of one or two characters: trim the opaque signature to land exactly.
    return url[:length]


URL = _verify_url()


def _photo(orientation: int | None = None) -> bytes:
    """An upright ID photo, red above and blue below; stored sideways when given an EXIF orientation."""
    upright = Image.new("RGB", (300, 400), (200, 30, 30))
    upright.paste((30, 30, 200), (0, 200, 300, 400))
    out = io.BytesIO()
    if orientation == 6:
        # Stored rotated a quarter turn anticlockwise; orientation 6 tells the viewer to turn it back.
        exif = Image.Exif()
        exif[0x0112] = 6
        upright.transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", exif=exif)
    else:
        upright.save(out, "JPEG")
    return out.getvalue()


def _card(**overrides: Any) -> Image.Image:
    args: dict[str, Any] = {
        "name": "张三",
        "badge_no": "A8972138",
        "agency": "南京市玄武区城市管理局",
        "command_agency": "玄武区新街口街道办事处",
        "qr_text": URL,
        "photo": _photo(),
    }
    args.update(overrides)
    png = render_badge_card(**args)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image


def _as_photographed(card: Image.Image, scale: float) -> Image.Image:
    """The card at `scale` of its print resolution, through a phone's lossy JPEG."""
    small = card.resize((round(card.width * scale), round(card.height * scale)), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, "JPEG", quality=75)
    return Image.open(out)


def test_card_is_an_opaque_png_of_cr80_size() -> None:
    card = _card()
    assert card.mode == "RGB"
    assert card.size == CARD_SIZE
    assert round(card.info["dpi"][0]) == 300


def test_url_of_the_test_is_as_long_as_a_real_badge_url() -> None:
    assert len(URL) == 250
    assert URL.startswith("https://verify.example.gov.cn/v/") and URL.count(".") == 5


@needs_zbar
@pytest.mark.parametrize("scale", [1.0, 0.5], ids=["print", "photo-at-half-size"])
def test_qr_decodes_to_the_exact_url_with_zbar(scale: float) -> None:
    image = _as_photographed(_card(), scale) if scale != 1.0 else _card()
    assert pyzbar is not None
    decoded = pyzbar.decode(image, symbols=[pyzbar.ZBarSymbol.QRCODE])
    assert [d.data.decode() for d in decoded] == [URL]


@pytest.mark.parametrize("scale", [1.0, 0.5], ids=["print", "photo-at-half-size"])
def test_qr_decodes_to_the_exact_url_with_zxing(scale: float) -> None:
    zxingcpp = pytest.importorskip("zxingcpp", reason="zxing-cpp not installed: pip install zxing-cpp")
    image = _as_photographed(_card(), scale) if scale != 1.0 else _card()
    results = zxingcpp.read_barcodes(image)
    assert [r.text for r in results] == [URL]
    assert results[0].ec_level in {"M", "Q", "H"}


@needs_zbar
def test_qr_has_a_quiet_zone_of_four_modules() -> None:
    card = _card().convert("L")
    assert pyzbar is not None
    (decoded,) = pyzbar.decode(card, symbols=[pyzbar.ZBarSymbol.QRCODE])
    # zbar's rectangle is approximate: find the symbol's exact dark extent just around it.
    r = decoded.rect
    near = (r.left - 6, r.top - 6, r.left + r.width + 6, r.top + r.height + 6)
    dark = card.crop(near).point(lambda p: 255 if p < 128 else 0)
    box = dark.getbbox()
    assert box is not None
    left, top, right, bottom = near[0] + box[0], near[1] + box[1], near[0] + box[2], near[1] + box[3]
    # The top-left finder pattern is 7 modules wide: its first row is one dark run.
    row = card.crop((left, top, right, top + 1)).tobytes()
    module = next(i for i, p in enumerate(row) if p >= 128) / 7
    quiet = round(QR_QUIET_MODULES * module)
    zone = card.crop((left - quiet, top - quiet, right + quiet, bottom + quiet))
    zone.paste(255, (quiet, quiet, quiet + right - left, quiet + bottom - top))
    assert module >= 4, "modules smaller than 4 px at 300 dpi are too fine for a phone at arm's length"
    darkest, _lightest = zone.getextrema()
    assert isinstance(darkest, int) and darkest >= 250, "something is printed inside the QR's quiet zone"


def test_the_font_found_draws_chinese_glyphs_not_boxes() -> None:
    regular, bold = find_cjk_fonts()
    assert draws_cjk(regular.at(40))
    assert draws_cjk(bold.at(40))


def _name_region(card: Image.Image) -> Image.Image:
    return card.crop((PHOTO_BOX[2] + 10, PHOTO_BOX[1], CARD_SIZE[0], PHOTO_BOX[1] + 70))


def test_different_chinese_names_print_differently() -> None:
    # A font without Chinese would draw both names as the same two .notdef boxes.
    zhang, li = _name_region(_card(name="张三")), _name_region(_card(name="李四"))
    assert ImageChops.difference(zhang, li).getbbox() is not None
    darkest, _lightest = zhang.convert("L").getextrema()
    assert isinstance(darkest, int) and darkest < 64, "the name is not printed in dark ink"


def _photo_region(card: Image.Image) -> Image.Image:
    left, top, right, bottom = PHOTO_BOX
    return card.crop((left + 4, top + 4, right - 4, bottom - 4))


@pytest.mark.parametrize(
    "photo",
    [b"not an image", b"\xff\xd8\xff\xe0" + b"\x00" * 64, _photo()[:600], b""],
    ids=["garbage", "jpeg-header-only", "truncated-jpeg", "empty"],
)
def test_a_bad_photo_leaves_the_empty_slot(photo: bytes) -> None:
    expected = _photo_region(_card(photo=None))
    assert ImageChops.difference(_photo_region(_card(photo=photo)), expected).getbbox() is None


def test_a_good_photo_fills_the_slot() -> None:
    slot = _photo_region(_card(photo=None))
    assert ImageChops.difference(_photo_region(_card()), slot).getbbox() is not None


def test_photo_is_turned_upright_by_its_exif_orientation() -> None:
    region = _photo_region(_card(photo=_photo(orientation=6)))
    top = region.getpixel((region.width // 2, 10))
    bottom = region.getpixel((region.width // 2, region.height - 10))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 150 > top[2], f"top of the photo should be red, is {top}"
    assert bottom[2] > 150 > bottom[0], f"bottom of the photo should be blue, is {bottom}"


def test_no_cjk_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "broken.ttf"
    fake.write_bytes(b"not a font")
    monkeypatch.setenv("AUXDUTY_CJK_FONT", str(fake))
    with pytest.raises(FontMissing, match="apt-get install fonts-noto-cjk"):
        render_badge_card(
            name="张三", badge_no="A1", agency="某局", command_agency=None, qr_text=URL, photo=None
        )


def test_a_latin_only_font_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    latin = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    if not latin.is_file():
        pytest.skip("DejaVu Sans not installed: apt-get install fonts-dejavu-core")
    monkeypatch.setenv("AUXDUTY_CJK_FONT", str(latin))
    with pytest.raises(FontMissing, match="no Chinese glyphs"):
        find_cjk_fonts()
