"""Photos a complainant attaches (第二十四条): bounded, stripped of every metadata, logged, for the handler only."""

import hashlib
import io
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from PIL import Image
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.audit.tree import integrate_all
from api.domain.models import Complaint, ComplaintPhoto, Role
from tests.factories import login, make_agency, make_auxiliary, make_user
from tests.photos import assert_no_metadata, phone_photo
from tests.problems import assert_problem

MB = 1024 * 1024


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + \
        chunk(b"IEND", b"")


@pytest.fixture
def filed(client: TestClient, db: Session) -> dict[str, Any]:
    """A complaint about a district's auxiliary seconded to a street, as filed by a citizen."""
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, aux = make_auxiliary(db, district, command_agency=street)
    r = client.post("/api/public/complaints", json={
        "badge_no": aux.badge_no, "category": "rude_conduct", "description": "推搡摊主。",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()})
    assert r.status_code == 201, r.text
    receipt = r.json()
    complaint = db.scalar(select(Complaint).where(Complaint.tracking_no == receipt["tracking_no"]))
    assert complaint is not None
    return {"receipt": receipt, "complaint": complaint, "district": district, "street": street}


def _send(client: TestClient, filed: dict[str, Any], data: bytes, ctype: str = "image/jpeg",
          code: str | None = None) -> Response:
    receipt = filed["receipt"]
    return client.post(f"/api/public/complaints/{receipt['tracking_no']}/photos",
                       files={"file": ("photo", data, ctype)},
                       headers={"X-Access-Code": receipt["access_code"] if code is None else code})


def _photos(db: Session, filed: dict[str, Any]) -> int:
    return db.scalar(select(func.count()).select_from(ComplaintPhoto)
                     .where(ComplaintPhoto.complaint_id == filed["complaint"].id)) or 0


def _blobs(data_dir: Path) -> set[Path]:
    return {p for p in (data_dir / "evidence").rglob("*") if p.is_file()}


def _admin(client: TestClient, db: Session, agency: Any) -> dict[str, str]:
    return login(client, make_user(db, role=Role.AGENCY_ADMIN if agency else Role.JUSTICE_ADMIN, agency=agency))


def test_a_photo_is_kept_without_exif_by_its_sha256_logged_and_served_to_the_handler(
    client: TestClient, db: Session, filed: dict[str, Any]
) -> None:
    original = phone_photo("JPEG", size=(96, 128), orientation=6)
    r = _send(client, filed, original)
    assert r.status_code == 201, r.text
    photo = r.json()
    assert (photo["content_type"], photo["width"], photo["height"]) == ("image/jpeg", 128, 96)
    assert photo["sha256"] != hashlib.sha256(original).hexdigest()  # re-encoded, not the phone's file

    handler = _admin(client, db, filed["district"])
    complaint_id = filed["complaint"].id
    got = client.get(f"/api/complaints/{complaint_id}/photos/{photo['id']}", headers=handler)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert hashlib.sha256(got.content).hexdigest() == photo["sha256"] == got.headers["etag"].strip('"')
    assert len(got.content) == photo["bytes"]
    assert assert_no_metadata(got.content).size == (128, 96)
    read = client.get(f"/api/complaints/{complaint_id}", headers=handler).json()
    assert [p["id"] for p in read["photos"]] == [photo["id"]]
    integrate_all(db)  # the leaf written with the photo gets its place in the log
    entries = client.get(f"/api/audit/records/complaint_photos/{photo['id']}",
                         headers=_admin(client, db, None)).json()["items"]
    assert [e["action"] for e in entries] == ["complaint.photo_added"]
    assert verify_log(db).ok


@pytest.mark.parametrize(("fmt", "stored"), [("PNG", "image/png"), ("WEBP", "image/jpeg"), ("HEIF", "image/jpeg")])
def test_png_stays_png_and_webp_or_heic_become_jpeg_all_without_metadata(
    client: TestClient, db: Session, filed: dict[str, Any], fmt: str, stored: str
) -> None:
    if fmt == "HEIF":
        pytest.importorskip("pillow_heif").register_heif_opener()
    r = _send(client, filed, phone_photo(fmt), f"image/{fmt.lower()}")
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == stored
    got = client.get(f"/api/complaints/{filed['complaint'].id}/photos/{r.json()['id']}",
                     headers=_admin(client, db, filed["district"]))
    assert_no_metadata(got.content)


def test_the_same_picture_again_is_the_same_photo(client: TestClient, db: Session, filed: dict[str, Any]) -> None:
    first = _send(client, filed, phone_photo())
    again = _send(client, filed, phone_photo())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"] and _photos(db, filed) == 1


def _big_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.effect_noise((2400, 2400), 120).convert("RGB").save(buf, format="JPEG", quality=100)
    return buf.getvalue() + b"\0" * (8 * MB)  # a real JPEG, then padding past 8 MB


@pytest.mark.parametrize(
    ("make", "ctype", "status", "code"),
    [
        (_big_jpeg, "image/jpeg", 413, "image_too_large"),
        (lambda: b"GIF89a" + b"\0" * 64, "image/gif", 415, "unsupported_image_type"),
        (lambda: b"%PDF-1.7 not a photo", "application/pdf", 415, "unsupported_image_type"),
        (lambda: phone_photo("GIF"), "image/jpeg", 415, "unsupported_image_type"),
        (lambda: phone_photo("JPEG")[:200], "image/jpeg", 422, "image_unreadable"),
        (lambda: _png_header_only(20_000, 20_000), "image/png", 422, "image_too_many_pixels"),
    ],
    ids=["over-8MB", "gif-bytes", "pdf", "real-gif-called-jpeg", "truncated", "pixel-bomb"],
)
def test_refused_photos_are_problems_and_nothing_is_stored(
    client: TestClient, db: Session, filed: dict[str, Any], data_dir: Path,
    make: Any, ctype: str, status: int, code: str,
) -> None:
    before = _blobs(data_dir)
    assert_problem(_send(client, filed, make(), ctype), status, code)
    assert _photos(db, filed) == 0 and _blobs(data_dir) == before


def test_a_body_far_over_the_limit_is_refused_while_it_arrives(
    client: TestClient, db: Session, filed: dict[str, Any], data_dir: Path
) -> None:
    before = _blobs(data_dir)
    receipt = filed["receipt"]
    headers = {"X-Access-Code": receipt["access_code"], "content-type": "multipart/form-data; boundary=b"}
    r = client.post(f"/api/public/complaints/{receipt['tracking_no']}/photos", content=b"x" * (9 * MB),
                    headers=headers)
    assert_problem(r, 413, "image_too_large")
    assert _photos(db, filed) == 0 and _blobs(data_dir) == before


def test_a_fourth_photo_is_422_and_nothing_of_it_is_stored(
    client: TestClient, db: Session, filed: dict[str, Any], data_dir: Path
) -> None:
    for size in ((60, 80), (61, 80), (62, 80)):
        assert _send(client, filed, phone_photo(size=size)).status_code == 201
    before = _blobs(data_dir)
    body = assert_problem(_send(client, filed, phone_photo(size=(63, 80))), 422, "too_many_photos")
    assert body["max_photos"] == 3
    assert _photos(db, filed) == 3 and _blobs(data_dir) == before


def test_a_wrong_code_learns_nothing_and_a_decided_complaint_takes_no_photo(
    client: TestClient, db: Session, filed: dict[str, Any]
) -> None:
    assert_problem(_send(client, filed, phone_photo(), code="WRONGCODE2"), 404, "complaint_not_found")
    assert_problem(client.post("/api/public/complaints/TS20260101ABCDEF/photos",
                               files={"file": ("p", phone_photo(), "image/jpeg")},
                               headers={"X-Access-Code": filed["receipt"]["access_code"]}),
                   404, "complaint_not_found")
    handler = _admin(client, db, filed["district"])
    r = client.post(f"/api/complaints/{filed['complaint'].id}/transitions", json={"to": "dismissed"},
                    headers=handler)
    assert r.status_code == 200, r.text
    assert_problem(_send(client, filed, phone_photo()), 409, "complaint_closed")
    assert _photos(db, filed) == 0


def test_only_the_handling_agency_sees_the_photos(client: TestClient, db: Session, filed: dict[str, Any]) -> None:
    photo_id = _send(client, filed, phone_photo()).json()["id"]
    url = f"/api/complaints/{filed['complaint'].id}/photos/{photo_id}"
    street = _admin(client, db, filed["street"])  # commands the auxiliary, reads the complaint (第二十二条)
    assert client.get(f"/api/complaints/{filed['complaint'].id}", headers=street).json()["photos"] is None
    assert_problem(client.get(url, headers=street), 403, "not_handling_agency")
    assert_problem(client.get(url, headers=_admin(client, db, None)), 403, "not_handling_agency")
    assert_problem(client.get(url, headers=_admin(client, db, make_agency(db))), 404, "not_found")
    assert_problem(client.get(url), 401, "unauthenticated")
    handler = _admin(client, db, filed["district"])
    assert client.get(url, headers=handler).status_code == 200
    other = _send_elsewhere(client, db)
    assert_problem(client.get(f"/api/complaints/{filed['complaint'].id}/photos/{other}", headers=handler),
                   404, "not_found")


def _send_elsewhere(client: TestClient, db: Session) -> str:
    _, aux = make_auxiliary(db, make_agency(db))
    receipt = client.post("/api/public/complaints", json={
        "badge_no": aux.badge_no, "category": "other", "description": "另一件。",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}).json()
    r = client.post(f"/api/public/complaints/{receipt['tracking_no']}/photos",
                    files={"file": ("p", phone_photo(size=(70, 70)), "image/jpeg")},
                    headers={"X-Access-Code": receipt["access_code"]})
    assert r.status_code == 201, r.text
    photo_id: str = r.json()["id"]
    return photo_id


@pytest.mark.parametrize("statement", ["DELETE FROM complaint_photos", "UPDATE complaint_photos SET bytes = 0"])
def test_the_database_refuses_to_delete_or_change_a_complaint_photo(
    client: TestClient, db: Session, filed: dict[str, Any], statement: str
) -> None:
    assert _send(client, filed, phone_photo()).status_code == 201
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text(statement))
    assert _photos(db, filed) == 1
