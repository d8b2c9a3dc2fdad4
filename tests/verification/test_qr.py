"""Reading badge QR codes out of photos: generated codes made hard on purpose, and real sample photos."""

import io
import json
from pathlib import Path
from typing import Any

import pytest
import segno
from PIL import Image, ImageFilter

from verification import qr
from verification.qr import Pyramid, decode_qr, decode_qr_bytes
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

pytestmark = pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "qr-sample"
BADGE_URL = (
    "https://verify.example.gov.cn/v/eyJhbGciOiJFZERTQSIsImtpZCI6ImsyMDI2LTExIn0"
    ".eyJzdWIiOiJBODk3MjEzOCIsImlhdCI6MTc5NzM0ODc3MywidiI6MX0.X1aTxkInatWrLac5RVE3Dpmy10w0J_pI1zKh33Cs"
)
# Plenty: these tests are about what the cascade can read, not how fast a loaded CI runner is.
NO_HURRY = 10.0


def qr_image(text: str = BADGE_URL, *, scale: int = 8) -> Image.Image:
    code = segno.make(text, error="m", micro=False, encoding="utf-8")
    buffer = io.BytesIO()
    code.save(buffer, kind="png", scale=scale, border=4)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("L")


def photo_of(
    code: Image.Image, *, size: tuple[int, int] = (1600, 1200), at: tuple[int, int] = (500, 300)
) -> Image.Image:
    """``code`` pasted onto a noisy grey frame, like a badge lying on a table."""
    frame = Image.effect_noise(size, 12).point(lambda v: 90 + v // 4)
    frame.paste(code, at)
    return frame


def jpeg_bytes(image: Image.Image, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


def test_plain_code_reads_back_exact_text() -> None:
    assert decode_qr(qr_image(), budget_s=NO_HURRY) == BADGE_URL


def test_code_rotated_off_axis_in_a_photo_is_read() -> None:
    rotated = qr_image().rotate(33, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    assert decode_qr(photo_of(rotated), budget_s=NO_HURRY) == BADGE_URL


def test_blurred_code_is_read() -> None:
    blurred = qr_image(scale=6).filter(ImageFilter.GaussianBlur(2.5))
    assert decode_qr(photo_of(blurred), budget_s=NO_HURRY) == BADGE_URL


def test_small_code_in_a_twelve_megapixel_photo_is_found_and_read() -> None:
    small = qr_image(scale=3)  # three pixels a module, about 1% of the frame
    photo = photo_of(small, size=(4032, 3024), at=(2900, 1900))
    assert decode_qr_bytes(jpeg_bytes(photo), budget_s=NO_HURRY) == BADGE_URL


def test_dim_low_contrast_code_is_read() -> None:
    dim = qr_image().point(lambda v: 20 + v * 25 // 255)  # ink 20, paper 45 out of 255
    assert decode_qr(photo_of(dim).point(lambda v: v // 3), budget_s=NO_HURRY) == BADGE_URL


def test_utf8_text_with_chinese_comes_back_byte_for_byte() -> None:
    text = "https://verify.example.gov.cn/v/南京市-辅警-A8972138"
    assert decode_qr(qr_image(text), budget_s=NO_HURRY) == text


def test_exif_orientation_turns_the_photo_upright_before_decoding() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view": how phones store portrait shots
    data = jpeg_bytes(photo_of(qr_image(), size=(1600, 1200)), exif=exif)
    assert Pyramid.of_bytes(data).level(1).size == (1200, 1600)
    assert Pyramid.of_bytes(data).level(4).size == (300, 400)
    assert decode_qr_bytes(data, budget_s=NO_HURRY) == BADGE_URL


def test_of_two_codes_the_larger_one_wins() -> None:
    photo = photo_of(qr_image(scale=10), size=(2000, 1400), at=(100, 100))
    photo.paste(qr_image("https://example.com/sticker", scale=6), (1500, 900))
    assert decode_qr(photo, budget_s=NO_HURRY) == BADGE_URL


def test_photo_without_a_code_gives_none() -> None:
    frame = Image.effect_noise((1600, 1200), 30).filter(ImageFilter.GaussianBlur(3))
    assert decode_qr(frame, budget_s=NO_HURRY) is None


def test_non_jpeg_photo_bytes_are_decoded_too() -> None:
    buffer = io.BytesIO()
    photo_of(qr_image()).save(buffer, "PNG")
    assert decode_qr_bytes(buffer.getvalue(), budget_s=NO_HURRY) == BADGE_URL


def test_cascade_works_without_the_optional_zxing_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qr, "zxingcpp", None)
    assert not qr.zxing_available()
    assert qr.scan_zxing(qr_image()) == []
    blurred = qr_image(scale=6).filter(ImageFilter.GaussianBlur(2.5))
    assert decode_qr(photo_of(blurred), budget_s=NO_HURRY) == BADGE_URL


@pytest.mark.skipif(not qr.zxing_available(), reason="zxing-cpp is not installed")
def test_zxing_reader_returns_raw_utf8_bytes() -> None:
    text = "https://verify.example.gov.cn/v/南京市-辅警-A8972138"
    assert qr.scan_zxing(qr_image(text)) == [text.encode("utf-8")]


# Mixed difficulty: easy, a code pyzbar misses on the full frame, medium needing full-resolution crops,
# small, dim, glare, and a photo with no code at all.
SAMPLE_PHOTOS = ["0000.jpg", "0033.jpg", "0004.jpg", "0017.jpg", "0039.jpg", "0022.jpg", "0049.jpg"]


@pytest.fixture(scope="module")
def labels() -> dict[str, Any]:
    if not (SAMPLES / "labels.json").is_file():
        pytest.skip(f"sample badge photos not found at {SAMPLES} (CI keeps a copy in ../shared/qr-sample)")
    images: dict[str, Any] = json.loads((SAMPLES / "labels.json").read_text())["images"]
    return images


@pytest.mark.parametrize("name", SAMPLE_PHOTOS)
def test_sample_photo_decodes_to_its_label(name: str, labels: dict[str, Any]) -> None:
    expected = labels[name]["expected"]
    assert decode_qr_bytes((SAMPLES / name).read_bytes(), budget_s=NO_HURRY) == expected
