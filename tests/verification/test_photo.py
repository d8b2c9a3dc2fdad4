"""The upload gate refuses hostile photos cheaply; a decoder worker that dies or hangs costs one answer."""

import io
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import segno
from PIL import Image

from verification import photo
from verification.photo import (
    Outcome,
    PhotoRejected,
    decode_badge_photo,
    heif_supported,
    shutdown_decoder_pool,
    start_decoder_pool,
)
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

needs_zbar = pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)

TEXT = "https://verify.example.gov.cn/v/eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJBODk3MjEzOCJ9.c2lnbmF0dXJl"


def badge_photo(fmt: str = "JPEG") -> bytes:
    code = segno.make(TEXT, error="m", micro=False)
    png = io.BytesIO()
    code.save(png, kind="png", scale=6, border=4)
    frame = Image.new("RGB", (1200, 900), (120, 130, 110))
    frame.paste(Image.open(io.BytesIO(png.getvalue())).convert("RGB"), (400, 250))
    out = io.BytesIO()
    frame.save(out, fmt)
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A valid PNG header declaring ``width`` x ``height`` 1-bit pixels, with only a few KB of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + width // 8) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def refusal(data: bytes, **limits: int) -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught:
        decode_badge_photo(data, **limits)
    return caught.value


@pytest.fixture(scope="module", autouse=True)
def warm_pool() -> Iterator[None]:
    start_decoder_pool()
    yield
    shutdown_decoder_pool()


# --- decoding through the gate -------------------------------------------------------------------------


@needs_zbar
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_badge_photo_in_an_accepted_format_decodes(fmt: str) -> None:
    assert decode_badge_photo(badge_photo(fmt)) == TEXT


@needs_zbar
def test_heic_photo_decodes_when_pillow_heif_is_installed() -> None:
    if not heif_supported():
        pytest.skip("pillow-heif not installed: HEIC uploads are refused as unsupported")
    assert decode_badge_photo(badge_photo("HEIF")) == TEXT


@needs_zbar
def test_photo_without_a_code_gives_none() -> None:
    out = io.BytesIO()
    Image.effect_noise((800, 600), 20).save(out, "JPEG")
    assert decode_badge_photo(out.getvalue()) is None


# --- hostile uploads -------------------------------------------------------------------------------------


def test_upload_over_the_byte_limit_is_refused_before_parsing() -> None:
    rejected = refusal(b"\xff\xd8\xff" + b"\0" * (15 * 1024 * 1024))
    assert (rejected.code, rejected.http_status) == ("image_too_large", 413)
    assert "15 MB" in rejected.detail_en and "15 MB" in rejected.detail_zh


def test_byte_limit_is_a_parameter() -> None:
    assert refusal(badge_photo(), max_bytes=1000).code == "image_too_large"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", id="gif"),
        pytest.param(b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n", id="pdf"),
        pytest.param("徽章照片 badge photo\n".encode(), id="text"),
        pytest.param(b"", id="empty"),
    ],
)
def test_other_file_types_are_refused_as_unsupported(data: bytes) -> None:
    rejected = refusal(data)
    assert (rejected.code, rejected.http_status) == ("unsupported_image_type", 415)
    assert "JPEG" in rejected.detail_en and "JPEG" in rejected.detail_zh


def test_real_gif_is_refused_even_with_a_photo_in_it() -> None:
    out = io.BytesIO()
    Image.open(io.BytesIO(badge_photo("PNG"))).save(out, "GIF")
    assert refusal(out.getvalue()).code == "unsupported_image_type"


def test_png_magic_on_a_body_pillow_cannot_parse_is_unreadable() -> None:
    rejected = refusal(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 8)
    assert (rejected.code, rejected.http_status) == ("image_unreadable", 422)


def test_decompression_bomb_is_refused_from_its_header_in_under_a_second() -> None:
    bomb = png_bomb(50_000, 50_000)
    assert len(bomb) < 20_000
    started = time.perf_counter()
    rejected = refusal(bomb)
    assert time.perf_counter() - started < 1.0
    assert (rejected.code, rejected.http_status) == ("image_too_many_pixels", 422)


def test_photo_over_the_pixel_limit_but_under_pillows_is_refused() -> None:
    assert refusal(png_bomb(8000, 6000)).code == "image_too_many_pixels"  # 48 MP > 40 MP


def test_truncated_jpeg_is_unreadable() -> None:
    whole = badge_photo("JPEG")
    rejected = refusal(whole[: len(whole) // 2])
    assert (rejected.code, rejected.http_status) == ("image_unreadable", 422)


# --- a worker that crashes or hangs -------------------------------------------------------------------


def _segfault(data: bytes, max_pixels: int) -> Outcome:
    os.kill(os.getpid(), signal.SIGSEGV)
    return "text", None


def _exit_abruptly(data: bytes, max_pixels: int) -> Outcome:
    os._exit(70)


def _hang(data: bytes, max_pixels: int) -> Outcome:
    time.sleep(60)
    return "text", None


@needs_zbar
@pytest.mark.parametrize("fault", [_segfault, _exit_abruptly, _hang])
def test_crashed_or_hung_worker_costs_one_answer_and_the_next_photo_decodes(
    fault: photo.Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(photo, "_worker_task", fault)
        with pytest.raises(PhotoRejected) as caught:
            decode_badge_photo(badge_photo(), timeout_s=1.0)
    assert (caught.value.code, caught.value.http_status) == ("decoder_unavailable", 503)
    assert decode_badge_photo(badge_photo()) == TEXT


@needs_zbar
def test_pool_can_be_shut_down_and_comes_back_on_the_next_photo() -> None:
    shutdown_decoder_pool()
    shutdown_decoder_pool()
    assert decode_badge_photo(badge_photo()) == TEXT


def test_importing_the_gate_starts_no_process_and_pulls_in_no_web_framework() -> None:
    probe = (
        "import multiprocessing, sys\n"
        "import verification.photo\n"
        "assert not multiprocessing.active_children()\n"
        "assert 'fastapi' not in sys.modules and 'verification.qr' not in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
