"""The ID photo: a real JPEG or PNG, bounded in bytes and in pixels, readable by those who see the record."""

import io
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from PIL import ExifTags, Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import Agency, Auxiliary, Role
from api.settings import Settings
from tests.conftest import make_settings
from tests.factories import login, make_agency, make_auxiliary, make_user
from tests.photos import assert_no_metadata, phone_photo
from tests.problems import assert_problem

MAX_BYTES = 60_000


@pytest.fixture
def app_settings(data_dir: Path) -> Settings:
    return make_settings(data_dir, photo_max_bytes=MAX_BYTES)


def _image(fmt: str, size: tuple[int, int] = (96, 128)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 180, 160)).save(buf, format=fmt)
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height``: tiny on the wire, huge once decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _rgb(image: Image.Image, x: int, y: int) -> tuple[int, ...]:
    pixel = image.convert("RGB").getpixel((x, y))
    assert isinstance(pixel, tuple)
    return pixel


def _put(client: TestClient, aux: Auxiliary, headers: dict[str, str], data: bytes, ctype: str) -> Response:
    return client.put(f"/api/auxiliaries/{aux.id}/photo", files={"file": ("p", data, ctype)}, headers=headers)


def _setup(client: TestClient, db: Session) -> tuple[Agency, Auxiliary, dict[str, str]]:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    return agency, aux, login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))


@pytest.mark.parametrize(("fmt", "ctype"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_jpeg_or_png_is_stored_and_served_back(client: TestClient, db: Session, fmt: str, ctype: str) -> None:
    _, aux, headers = _setup(client, db)
    data = _image(fmt)
    r = client.put(f"/api/auxiliaries/{aux.id}/photo", files={"file": ("p", data, ctype)}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["has_photo"] is True and r.json()["id"] == str(aux.id)
    got = client.get(f"/api/auxiliaries/{aux.id}/photo", headers=headers)
    assert got.status_code == 200
    assert got.headers["content-type"] == ctype
    served = Image.open(io.BytesIO(got.content))
    assert (served.format, served.size) == (fmt, (96, 128))
    assert max(abs(a - b) for a, b in zip(_rgb(served, 40, 60), (200, 180, 160), strict=True)) <= 3
    assert verify_log(db).ok


@pytest.mark.parametrize(("fmt", "ctype"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_a_photo_with_gps_exif_is_stored_without_any_metadata_and_upright(
    client: TestClient, db: Session, fmt: str, ctype: str
) -> None:
    _, aux, headers = _setup(client, db)
    data = phone_photo(fmt, size=(96, 128), orientation=6)
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the upload has a position
    r = _put(client, aux, headers, data, ctype)
    assert r.status_code == 200, r.text
    stored = db.scalar(select(Auxiliary.photo).where(Auxiliary.id == aux.id))
    served = client.get(f"/api/auxiliaries/{aux.id}/photo", headers=headers).content
    assert stored == served
    image = assert_no_metadata(served)
    # Orientation 6 turns the picture a quarter clockwise: applied to the pixels, the red left half is on top.
    assert image.size == (128, 96)
    assert _rgb(image, 64, 10)[0] > 200 and _rgb(image, 64, 86)[2] > 200
    assert verify_log(db).ok


def test_stored_type_is_what_the_bytes_are_not_what_the_client_says(client: TestClient, db: Session) -> None:
    _, aux, headers = _setup(client, db)
    data = _image("PNG")
    r = client.put(f"/api/auxiliaries/{aux.id}/photo", files={"file": ("p.jpg", data, "image/jpeg")},
                   headers=headers)
    assert r.status_code == 200
    served = client.get(f"/api/auxiliaries/{aux.id}/photo", headers=headers)
    assert served.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("data", "ctype"),
    [(b"GIF89a" + b"\0" * 64, "image/gif"), (b"hello", "text/plain")],
    ids=["gif", "text"],
)
def test_other_media_types_are_415(client: TestClient, db: Session, data: bytes, ctype: str) -> None:
    _, aux, headers = _setup(client, db)
    r = client.put(f"/api/auxiliaries/{aux.id}/photo", files={"file": ("p", data, ctype)}, headers=headers)
    assert_problem(r, 415, "unsupported_image_type")


def test_a_real_gif_sent_as_png_is_415(client: TestClient, db: Session) -> None:
    _, aux, headers = _setup(client, db)
    r = client.put(f"/api/auxiliaries/{aux.id}/photo", files={"file": ("p", _image("GIF"), "image/png")},
                   headers=headers)
    assert_problem(r, 415, "unsupported_image_type")


@pytest.mark.parametrize("data", [b"not an image at all", _image("PNG")[:60]], ids=["text", "truncated"])
def test_bytes_that_are_no_image_are_422(client: TestClient, db: Session, data: bytes) -> None:
    _, aux, headers = _setup(client, db)
    r = _put(client, aux, headers, data, "image/png")
    assert_problem(r, 422, "image_unreadable")


def test_too_big_upload_is_413(client: TestClient, db: Session) -> None:
    _, aux, headers = _setup(client, db)
    data = _image("PNG") + b"\0" * (MAX_BYTES + 100)
    r = _put(client, aux, headers, data, "image/png")
    assert_problem(r, 413, "image_too_large")


def test_oversized_body_is_refused_by_content_length_or_while_streaming(
    client: TestClient, db: Session
) -> None:
    _, aux, headers = _setup(client, db)
    big = b"x" * (MAX_BYTES + 128 * 1024)
    declared = client.put(f"/api/auxiliaries/{aux.id}/photo", content=big,
                          headers={**headers, "content-type": "multipart/form-data; boundary=b"})
    assert_problem(declared, 413, "image_too_large")

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"x" * 8192

    streamed = client.put(f"/api/auxiliaries/{aux.id}/photo", content=chunks(),
                          headers={**headers, "content-type": "multipart/form-data; boundary=b"})
    assert_problem(streamed, 413, "image_too_large")


@pytest.mark.parametrize("side", [8_000, 40_000])
def test_huge_dimension_png_is_refused_before_decoding(client: TestClient, db: Session, side: int) -> None:
    _, aux, headers = _setup(client, db)
    bomb = _png_header_only(side, side)
    assert len(bomb) < 2_000
    r = _put(client, aux, headers, bomb, "image/png")
    assert_problem(r, 422, "image_too_many_pixels")
    assert client.get(f"/api/auxiliaries/{aux.id}", headers=headers).json()["has_photo"] is False


def test_missing_file_field_is_listed(client: TestClient, db: Session) -> None:
    _, aux, headers = _setup(client, db)
    r = client.put(f"/api/auxiliaries/{aux.id}/photo", files={"other": ("p", _image("PNG"), "image/png")},
                   headers=headers)
    assert [e["field"] for e in assert_problem(r, 422, "validation_error")["errors"]] == ["file"]


def test_only_the_employer_sets_the_photo_and_strangers_cannot_see_it(
    client: TestClient, db: Session
) -> None:
    _, aux, headers = _setup(client, db)
    outsider = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    r = client.put(f"/api/auxiliaries/{aux.id}/photo", files={"file": ("p", _image("JPEG"), "image/jpeg")},
                   headers=outsider)
    assert_problem(r, 404, "not_found")
    assert_problem(client.get(f"/api/auxiliaries/{aux.id}/photo", headers=headers), 404, "not_found")  # none yet
    client.put(f"/api/auxiliaries/{aux.id}/photo", files={"file": ("p", _image("JPEG"), "image/jpeg")},
               headers=headers)
    assert_problem(client.get(f"/api/auxiliaries/{aux.id}/photo", headers=outsider), 404, "not_found")
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    assert client.get(f"/api/auxiliaries/{aux.id}/photo", headers=justice).status_code == 200
