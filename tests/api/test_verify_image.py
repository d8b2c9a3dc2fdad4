"""`POST /api/public/verify-image`: a photo of a badge answers like a scan; foreign, missing or hostile
images get a problem, never a 500."""

import io
from collections.abc import Iterator

import pytest
import segno
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.models import Credential
from tests.factories import make_agency, make_auxiliary
from tests.problems import assert_problem
from verification.card import render_badge_card
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

pytestmark = pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)


def _jpeg(img: Image.Image, quality: int = 85) -> bytes:
    buf = io.BytesIO()
    img.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _photo_of_card(png: bytes) -> bytes:
    """A card lying on a desk, photographed a little turned."""
    card = Image.open(io.BytesIO(png)).convert("RGB")
    desk = Image.new("RGB", (1600, 1800), (120, 110, 100))
    desk.paste(card.rotate(7, expand=True, fillcolor=(120, 110, 100)), (380, 300))
    return _jpeg(desk)


def test_photo_of_a_printed_badge_verifies(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db, name="玄武区城市管理局"), name="张伟")
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = client.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=1)  # type: ignore[attr-defined]
    url = f"https://verify.example.gov.cn/v/{token}"
    png = render_badge_card(name="张伟", badge_no=aux.badge_no, agency="玄武区城市管理局", command_agency=None,
                            qr_text=url, photo=None)
    r = client.post("/api/public/verify-image", files={"image": ("badge.jpg", _photo_of_card(png), "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "valid" and body["name"] == "张伟" and body["decoded_text"] == url


def test_foreign_qr_names_the_host(client: TestClient) -> None:
    qr = segno.make("https://fake-chengguan.example.com/check?id=123", error="m")
    buf = io.BytesIO()
    qr.save(buf, kind="png", scale=8, border=4)
    r = client.post("/api/public/verify-image", files={"image": ("x.png", buf.getvalue(), "image/png")})
    assert assert_problem(r, 422, "foreign_qr")["decoded_host"] == "fake-chengguan.example.com"


def test_photo_without_qr_is_no_qr_found(client: TestClient) -> None:
    r = client.post("/api/public/verify-image",
                    files={"image": ("x.jpg", _jpeg(Image.new("RGB", (800, 600), (200, 180, 160))), "image/jpeg")})
    assert_problem(r, 422, "no_qr_found")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"GIF89a" + b"\x00" * 100, 415, "unsupported_image_type"),
        (b"%PDF-1.4 not an image", 415, "unsupported_image_type"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 50, 422, "image_unreadable"),
    ],
)
def test_hostile_uploads_are_refused_with_a_problem(
    client: TestClient, payload: bytes, status: int, code: str
) -> None:
    r = client.post("/api/public/verify-image", files={"image": ("x", payload, "application/octet-stream")})
    assert_problem(r, status, code)


def test_oversized_upload_is_413(client: TestClient) -> None:
    huge = b"\xff\xd8" + b"\0" * (16 << 20)
    r = client.post("/api/public/verify-image", files={"image": ("x.jpg", huge, "image/jpeg")})
    assert_problem(r, 413, "image_too_large")


def test_missing_image_field_is_422(client: TestClient) -> None:
    r = client.post("/api/public/verify-image", files={"other": ("x.jpg", b"abc", "image/jpeg")})
    assert_problem(r, 422, "validation_error")


def test_chunked_upload_is_refused_while_it_arrives(client: TestClient) -> None:
    boundary = "x1y2z3"

    def body() -> Iterator[bytes]:
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.jpg\"\r\n"
               "Content-Type: image/jpeg\r\n\r\n").encode()
        for _ in range(20):  # 20 MiB, no Content-Length: refused once 15 MiB (+ envelope) have arrived
            yield b"\xff" * (1 << 20)
        yield f"\r\n--{boundary}--\r\n".encode()

    r = client.post("/api/public/verify-image", content=body(),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert_problem(r, 413, "image_too_large")


def test_a_qr_text_that_is_no_url_at_all_is_foreign() -> None:
    from api.domain.errors import DomainError
    from api.routes.public import badge_token_from

    for text in ("https://[bad", "http://[::1/v/x", "WIFI:S:cafe;;", "https://verify.example.gov.cn.evil/v/x"):
        with pytest.raises(DomainError) as refused:
            badge_token_from(text, "https://verify.example.gov.cn")
        assert refused.value.code == "foreign_qr"
    assert badge_token_from("https://verify.example.gov.cn/v/abc.def.ghi", "https://verify.example.gov.cn") == \
        "abc.def.ghi"


def test_nothing_of_the_citizens_photo_is_kept(client: TestClient, db: Session) -> None:
    from api.domain.base import Base

    _, aux = make_auxiliary(db, make_agency(db))
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = client.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=1)  # type: ignore[attr-defined]
    png = render_badge_card(name=aux.name, badge_no=aux.badge_no, agency="机关", command_agency=None,
                            qr_text=f"https://verify.example.gov.cn/v/{token}", photo=None)
    photo = Image.open(io.BytesIO(png)).convert("RGB")
    exif = Image.Exif()
    exif[0x8825] = {2: (32.0, 2.0, 30.0), 4: (118.0, 46.0, 50.0)}  # GPS position of the citizen
    buf = io.BytesIO()
    photo.save(buf, "JPEG", exif=exif)
    data_dir = client.app.state.ctx.settings.data_dir  # type: ignore[attr-defined]
    files_before = {p for p in data_dir.rglob("*") if p.is_file()}
    counts = {t.name: db.execute(select(func.count()).select_from(t)).scalar() for t in Base.metadata.sorted_tables}
    r = client.post("/api/public/verify-image", files={"image": ("me.jpg", buf.getvalue(), "image/jpeg")})
    assert r.status_code == 200 and r.json()["status"] == "valid"
    assert {p for p in data_dir.rglob("*") if p.is_file()} == files_before
    assert counts == {t.name: db.execute(select(func.count()).select_from(t)).scalar()
                      for t in Base.metadata.sorted_tables}
