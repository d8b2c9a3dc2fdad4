"""A store that does not answer (refused, silent, refusing our key) is 503 ``storage_unavailable`` with
``Retry-After`` on every route that touches it: never a 500, never a record without its file."""

import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.models import Evidence, Role
from api.domain.storage import StorageUnavailable
from api.settings import Settings
from api.storage import open_store
from tests.factories import login, make_user
from tests.live import free_port
from tests.problems import assert_problem
from tests.storage.conftest import s3_settings
from tests.storage.test_s3_evidence import blob, record_task, upload

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A server that takes connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def _broken(kind: str, silent: str) -> dict[str, object]:
    if kind == "refused":
        return {"s3_endpoint_url": f"http://127.0.0.1:{free_port()}"}
    if kind == "silent":
        return {"s3_endpoint_url": silent, "storage_timeout_seconds": 0.5}
    return {"s3_secret_access_key": "not-the-secret"}


@pytest.mark.parametrize("kind", ["refused", "silent", "bad_key"])
def test_a_store_that_does_not_answer_is_503_with_retry_after(
    client: TestClient, db: Session, host: Callable[[Settings], TestClient], bucket: str, prefix: str,
    tmp_path: Path, silent_endpoint: str, kind: str,
) -> None:
    aux_h, task_id = record_task(client, db)
    stored = upload(client, aux_h, task_id, blob(3000))
    broken = host(s3_settings(tmp_path / "host-b", bucket, prefix, **_broken(kind, silent_endpoint)))
    rows = db.scalar(select(func.count()).select_from(Evidence))

    started = time.monotonic()
    r = broken.post(f"/api/tasks/{task_id}/evidence", files={"file": ("b", blob(2000))}, headers=aux_h)
    assert_problem(r, 503, "storage_unavailable")
    assert int(r.headers["retry-after"]) > 0
    assert time.monotonic() - started < 8  # bounded by the store's timeout, not hung
    assert db.scalar(select(func.count()).select_from(Evidence)) == rows  # no record without its file

    r = broken.get(f"/api/tasks/{task_id}/evidence/{stored['id']}", headers=aux_h)
    assert_problem(r, 503, "storage_unavailable")
    assert "retry-after" in r.headers
    admin = login(broken, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    assert_problem(broken.get("/api/audit/verify", params={"full": "true"}, headers=admin), 503,
                   "storage_unavailable")
    # The same files through a host whose store answers: all there.
    assert client.get(f"/api/tasks/{task_id}/evidence/{stored['id']}", headers=aux_h).status_code == 200


def test_a_bucket_that_is_not_there_is_unavailable_not_missing(tmp_path: Path, s3: "S3Client") -> None:
    store = open_store(s3_settings(tmp_path, "auxduty-no-such-bucket", "x"))
    with pytest.raises(StorageUnavailable):
        store.open("ab/ab")
    with pytest.raises(StorageUnavailable):
        store.ping()


def test_two_hosts_putting_one_name_at_once_both_succeed(tmp_path: Path, s3: "S3Client", bucket: str,
                                                         prefix: str) -> None:
    data = blob(200_000)
    sha = hashlib.sha256(data).hexdigest()
    stores = [open_store(s3_settings(tmp_path / f"h{i}", bucket, prefix)) for i in range(4)]
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def put(i: int) -> None:
        staged = tmp_path / f"staged-{i}"
        staged.write_bytes(data)
        barrier.wait()
        try:
            stores[i].put(f"{sha[:2]}/{sha}", staged, sha256=sha)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert s3.get_object(Bucket=bucket, Key=f"{prefix}/{sha[:2]}/{sha}")["Body"].read() == data
