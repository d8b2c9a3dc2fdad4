"""Evidence files: stored by their hash, byte for byte, never overwritten, within a size limit."""

import hashlib
import io
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import ExifTags, Image
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.fieldwork.evidence import evidence_path
from api.domain.models import Evidence, Role
from tests.conftest import app_on, make_settings
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user, task_payload
from tests.photos import phone_photo
from tests.problems import assert_problem


def _blob(size: int = 300_000) -> bytes:
    # Every byte value, including NUL and CR/LF, so any text-mode mangling would show.
    return (bytes(range(256)) * (size // 256 + 1))[:size] + os.urandom(16)


def _evidence_rows(db: Session, task_id: str) -> int:
    stmt = select(func.count()).select_from(Evidence).where(Evidence.task_id == uuid.UUID(task_id))
    return db.scalar(stmt) or 0


def _task(client: TestClient, db: Session, *, assisted: bool = False) -> tuple[dict[str, str], dict[str, str], str]:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    aux_h = login(client, aux_user)
    body = task_payload(category="inspection", officer_id=str(officer.id)) if assisted else task_payload()
    task_id = client.post("/api/tasks", json=body, headers=aux_h).json()["id"]
    return aux_h, login(client, officer_user), task_id


def test_upload_and_download_are_byte_for_byte(client: TestClient, db: Session, data_dir: Path) -> None:
    aux_h, _, task_id = _task(client, db)
    data = _blob()
    r = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("现场.jpg", data, "image/jpeg")},
                    headers=aux_h)
    assert r.status_code == 201, r.text
    ev = r.json()
    assert (ev["sha256"], ev["bytes"], ev["content_type"]) == (hashlib.sha256(data).hexdigest(), len(data),
                                                                "image/jpeg")
    got = client.get(f"/api/tasks/{task_id}/evidence/{ev['id']}", headers=aux_h)
    assert got.status_code == 200
    assert got.content == data
    assert hashlib.sha256(got.content).hexdigest() == ev["sha256"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment")
    stored = evidence_path(data_dir, ev["sha256"])
    assert stored.read_bytes() == data
    assert stat.S_IMODE(stored.stat().st_mode) == 0o444
    assert [e["id"] for e in client.get(f"/api/tasks/{task_id}", headers=aux_h).json()["evidence"]] == [ev["id"]]
    assert not [p for p in stored.parent.parent.iterdir() if p.name.startswith(".upload-")]
    assert verify_log(db).ok


def test_an_evidence_photo_keeps_its_exif_byte_for_byte(client: TestClient, db: Session) -> None:
    """Unlike an ID photo, evidence is never re-encoded: the phone's SHA-256 of the file must match ours."""
    aux_h, _, task_id = _task(client, db)
    data = phone_photo("JPEG")
    ev = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("scene.jpg", data, "image/jpeg")},
                     headers=aux_h).json()
    assert ev["sha256"] == hashlib.sha256(data).hexdigest()
    got = client.get(f"/api/tasks/{task_id}/evidence/{ev['id']}", headers=aux_h)
    assert got.content == data
    assert Image.open(io.BytesIO(got.content)).getexif().get_ifd(ExifTags.IFD.GPSInfo)


def test_the_same_file_again_is_the_same_record(client: TestClient, db: Session) -> None:
    aux_h, officer_h, task_id = _task(client, db, assisted=True)
    data = _blob(1000)
    first = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("a.bin", data)}, headers=aux_h)
    again = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("b.bin", data)}, headers=officer_h)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert _evidence_rows(db, task_id) == 1


def test_the_same_bytes_on_another_task_share_the_file(client: TestClient, db: Session, data_dir: Path) -> None:
    aux_h, _, task_a = _task(client, db)
    task_b = client.post("/api/tasks", json=task_payload(), headers=aux_h).json()["id"]
    data = _blob(2000)
    a = client.post(f"/api/tasks/{task_a}/evidence", files={"file": ("x", data)}, headers=aux_h).json()
    b = client.post(f"/api/tasks/{task_b}/evidence", files={"file": ("x", data)}, headers=aux_h)
    assert b.status_code == 201 and b.json()["id"] != a["id"] and b.json()["sha256"] == a["sha256"]
    assert client.get(f"/api/tasks/{task_b}/evidence/{b.json()['id']}", headers=aux_h).content == data


@pytest.fixture
def small_limit_client(connection: Connection, data_dir: Path) -> Iterator[TestClient]:
    app = app_on(connection, make_settings(data_dir, evidence_max_bytes=1024))
    with TestClient(app) as c:
        yield c


def test_a_file_over_the_limit_is_413_and_nothing_is_kept(
    small_limit_client: TestClient, db: Session, data_dir: Path
) -> None:
    client = small_limit_client
    aux_h, _, task_id = _task(client, db)
    big = os.urandom(1025)
    r = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("big", big)}, headers=aux_h)
    assert_problem(r, 413, "evidence_too_large")
    assert _evidence_rows(db, task_id) == 0
    assert not evidence_path(data_dir, hashlib.sha256(big).hexdigest()).exists()
    ok = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("ok", os.urandom(1024))}, headers=aux_h)
    assert ok.status_code == 201


def test_who_may_upload_and_read(client: TestClient, db: Session) -> None:
    aux_h, officer_h, task_id = _task(client, db)
    data = _blob(500)
    # The officer is not named on this independent record.
    r = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("x", data)}, headers=officer_h)
    assert_problem(r, 404, "not_found")
    stranger, _ = make_auxiliary(db, make_agency(db))
    r = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("x", data)}, headers=login(client, stranger))
    assert_problem(r, 404, "not_found")
    outsider_h = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    justice_h = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    r = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("x", data)}, headers=justice_h)
    assert_problem(r, 403, "not_task_party")
    ev = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("x", data)}, headers=aux_h).json()
    assert client.get(f"/api/tasks/{task_id}/evidence/{ev['id']}", headers=justice_h).content == data
    assert_problem(client.get(f"/api/tasks/{task_id}/evidence/{ev['id']}", headers=outsider_h), 404, "not_found")


def test_unknown_evidence_or_wrong_task_is_404(client: TestClient, db: Session) -> None:
    aux_h, _, task_id = _task(client, db)
    other_task = client.post("/api/tasks", json=task_payload(), headers=aux_h).json()["id"]
    ev = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("x", b"abc")}, headers=aux_h).json()
    assert_problem(client.get(f"/api/tasks/{other_task}/evidence/{ev['id']}", headers=aux_h), 404, "not_found")
    assert_problem(client.get(f"/api/tasks/{task_id}/evidence/{uuid.uuid4()}", headers=aux_h), 404, "not_found")
    assert_problem(client.get(f"/api/tasks/{task_id}/evidence/nope", headers=aux_h), 422, "validation_error")


def test_hostile_names_and_types_are_neutralised(client: TestClient, db: Session) -> None:
    aux_h, _, task_id = _task(client, db)
    r = client.post(f"/api/tasks/{task_id}/evidence",
                    files={"file": ("../../etc/passwd", b"<script>", "text/html; charset=utf-8")}, headers=aux_h)
    assert r.status_code == 201
    assert r.json()["filename"] == "passwd" and r.json()["content_type"] == "text/html"
    odd = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("x", b"1", "not a type")}, headers=aux_h)
    assert odd.json()["content_type"] == "application/octet-stream"


def test_a_media_type_wider_than_its_column_is_kept_as_octet_stream(client: TestClient, db: Session) -> None:
    aux_h, _, task_id = _task(client, db)
    declared = "a" * 63 + "/" + "b" * 63  # well-formed per RFC 6838, 127 characters
    r = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("x", b"1", declared)}, headers=aux_h)
    assert r.status_code == 201 and r.json()["content_type"] == "application/octet-stream"


def test_upload_without_a_file_is_422(client: TestClient, db: Session) -> None:
    aux_h, _, task_id = _task(client, db)
    r = client.post(f"/api/tasks/{task_id}/evidence", data={"x": "1"}, headers=aux_h)
    assert_problem(r, 422, "validation_error")
