"""Evidence in a shared S3-compatible bucket: stored through one host, served by every host, re-hashed on every
read, refused (410) or reported (file_altered, file_missing) when the bucket no longer holds what was stored."""

import hashlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.fieldwork.evidence import store_evidence
from api.domain.models import Auxiliary, Evidence, Role, Task, User
from api.settings import Settings
from api.storage import S3Store
from tests.factories import login, make_agency, make_auxiliary, make_user, task_payload
from tests.problems import assert_problem
from tests.storage.conftest import ACCESS_KEY, ENDPOINT, SECRET_KEY, s3_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def blob(size: int) -> bytes:
    return (bytes(range(256)) * (size // 256 + 1))[:size] + os.urandom(16)


def record_task(client: TestClient, db: Session) -> tuple[dict[str, str], str]:
    aux_user, _ = make_auxiliary(db, make_agency(db))
    aux_h = login(client, aux_user)
    return aux_h, client.post("/api/tasks", json=task_payload(), headers=aux_h).json()["id"]


def upload(client: TestClient, headers: dict[str, str], task_id: str, data: bytes) -> dict[str, Any]:
    r = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("现场 1.jpg", data, "image/jpeg")},
                    headers=headers)
    assert r.status_code in (200, 201), r.text
    body: dict[str, Any] = r.json()
    return body


def verify(client: TestClient, db: Session) -> dict[str, Any]:
    db.expire_all()
    admin = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    r = client.get("/api/audit/verify", params={"full": "true"}, headers=admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def keys(s3: "S3Client", bucket: str, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", [])]


def test_evidence_stored_through_one_host_is_served_byte_for_byte_by_another(
    client: TestClient, db: Session, host: Callable[[Settings], TestClient], s3: "S3Client", bucket: str,
    prefix: str, tmp_path: Path,
) -> None:
    aux_h, task_id = record_task(client, db)
    data = blob(3 * 1024 * 1024 + 5)  # over one chunk: the download is checked in a spooled copy on disk
    ev = upload(client, aux_h, task_id, data)
    sha = hashlib.sha256(data).hexdigest()
    assert (ev["sha256"], ev["bytes"]) == (sha, len(data))
    assert keys(s3, bucket, prefix) == [f"{prefix}/{sha[:2]}/{sha}"]
    assert not (tmp_path / "host-a" / "evidence").exists()  # nothing of it on host A's own disk

    other = host(s3_settings(tmp_path / "host-b", bucket, prefix))
    got = other.get(f"/api/tasks/{task_id}/evidence/{ev['id']}", headers=aux_h)  # a login on one works on all
    assert got.status_code == 200, got.text
    assert got.content == data
    assert got.headers["etag"] == f'"{sha}"'
    assert got.headers["content-length"] == str(len(data))
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["content-disposition"] == "attachment; filename*=utf-8''%E7%8E%B0%E5%9C%BA%201.jpg"
    assert got.headers["x-content-type-options"] == "nosniff"
    for side in ("host-a", "host-b"):  # nothing staged is left behind, on either host
        assert not list((tmp_path / side / "spool").glob("*"))
    report = verify(other, db)
    assert (report["ok"], report["checks"]["files"]) == (True, 1), report


def test_bytes_altered_in_the_bucket_are_never_served_and_the_check_names_them(
    client: TestClient, db: Session, s3: "S3Client", bucket: str, prefix: str
) -> None:
    aux_h, task_id = record_task(client, db)
    ev = upload(client, aux_h, task_id, blob(5000))
    key = f"{prefix}/{ev['sha256'][:2]}/{ev['sha256']}"
    s3.put_object(Bucket=bucket, Key=key, Body=b"forged" + os.urandom(5000))
    r = client.get(f"/api/tasks/{task_id}/evidence/{ev['id']}", headers=aux_h)
    assert_problem(r, 410, "evidence_altered", "第十条")
    assert verify(client, db)["first_bad"] == {"entity": "evidence", "entity_id": ev["id"], "reason": "file_altered"}


def test_an_object_deleted_from_the_bucket_is_missing(
    client: TestClient, db: Session, s3: "S3Client", bucket: str, prefix: str
) -> None:
    aux_h, task_id = record_task(client, db)
    ev = upload(client, aux_h, task_id, blob(5000))
    s3.delete_object(Bucket=bucket, Key=f"{prefix}/{ev['sha256'][:2]}/{ev['sha256']}")
    r = client.get(f"/api/tasks/{task_id}/evidence/{ev['id']}", headers=aux_h)
    assert_problem(r, 410, "evidence_file_missing")
    assert verify(client, db)["first_bad"] == {"entity": "evidence", "entity_id": ev["id"], "reason": "file_missing"}


def test_the_same_bytes_again_are_one_object_and_an_object_is_never_replaced(
    client: TestClient, db: Session, s3: "S3Client", bucket: str, prefix: str
) -> None:
    aux_h, task_a = record_task(client, db)
    task_b = client.post("/api/tasks", json=task_payload(), headers=aux_h).json()["id"]
    data = blob(4000)
    store = client.app.state.ctx.storage  # type: ignore[attr-defined]
    assert isinstance(store, S3Store)
    puts: list[str] = []
    store.client.meta.events.register("before-parameter-build.s3.PutObject",
                                      lambda **kw: puts.append(kw["params"]["Key"]))

    first = upload(client, aux_h, task_a, data)
    again = upload(client, aux_h, task_a, data)  # a retried upload: the same record
    other = upload(client, aux_h, task_b, data)  # the same bytes on another task: another record, one object
    assert again["id"] == first["id"] and other["id"] != first["id"]
    key = f"{prefix}/{first['sha256'][:2]}/{first['sha256']}"
    assert puts == [key] and keys(s3, bucket, prefix) == [key]

    # Bytes altered in the bucket stay as they are, the evidence of it: an upload of the true bytes does not
    # cover it up, and the download keeps refusing them.
    forged = b"forged" + os.urandom(100)
    s3.put_object(Bucket=bucket, Key=key, Body=forged)
    task_c = client.post("/api/tasks", json=task_payload(), headers=aux_h).json()["id"]
    third = upload(client, aux_h, task_c, data)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == forged
    assert_problem(client.get(f"/api/tasks/{task_c}/evidence/{third['id']}", headers=aux_h), 410, "evidence_altered")
    assert puts == [key]


class Killed(BaseException):
    """The process stops here (a deploy, the OOM killer), in the middle of receiving an upload."""


class CutOff:
    def __init__(self) -> None:
        self.sent = False

    def read(self, size: int = -1) -> bytes:
        if self.sent:
            raise Killed
        self.sent = True
        return os.urandom(1024 * 1024)


def test_an_upload_stopped_midway_leaves_nothing_visible(
    client: TestClient, db: Session, s3: "S3Client", bucket: str, prefix: str, tmp_path: Path
) -> None:
    _, task_id = record_task(client, db)
    task = db.get(Task, uuid.UUID(task_id))
    assert task is not None
    aux = db.get(Auxiliary, task.auxiliary_id)
    user = db.get(User, aux.user_id) if aux else None
    assert user is not None
    rows = db.scalar(select(func.count()).select_from(Evidence))
    with pytest.raises(Killed):
        store_evidence(db, task=task, user=user, stream=cast(BinaryIO, CutOff()), filename="x", content_type=None,
                       store=client.app.state.ctx.storage, max_bytes=50 * 1024 * 1024)  # type: ignore[attr-defined]
    assert keys(s3, bucket, prefix) == []
    assert db.scalar(select(func.count()).select_from(Evidence)) == rows
    assert not list((tmp_path / "host-a" / "spool").glob("*"))


def test_the_store_shows_an_object_cut_off_midway_not_at_all(s3: "S3Client", bucket: str, prefix: str) -> None:
    """What a PUT of ours relies on: a server that is sent half a body keeps nothing under the name."""
    key = f"{prefix}/cut/off"
    size = 2 * 1024 * 1024
    request = AWSRequest(method="PUT", url=f"{ENDPOINT}/{bucket}/{key}", headers={
        "Content-Length": str(size), "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", "If-None-Match": "*"})
    S3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    url = urlsplit(ENDPOINT)
    with socket.create_connection((url.hostname, url.port or 80), timeout=5) as sock:
        head = [f"PUT /{bucket}/{key} HTTP/1.1", f"Host: {url.netloc}"]
        head += [f"{name}: {value}" for name, value in request.headers.items()]
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + os.urandom(size // 2))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # give the server time to notice the connection is gone
        time.sleep(0.2)
        assert keys(s3, bucket, prefix) == []
    try:
        s3.head_object(Bucket=bucket, Key=key)
        raise AssertionError("half an object is visible")
    except ClientError as exc:
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
