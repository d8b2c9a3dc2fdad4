"""``AUXDUTY_STORAGE_URL=file:///PATH``, and the default (``evidence/`` under the data dir) as it always was."""

import os
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.domain.fieldwork.evidence import evidence_path
from api.settings import Settings
from api.storage import FileStore, S3Store, open_store
from tests.conftest import make_settings
from tests.problems import assert_problem
from tests.storage.test_s3_evidence import blob, record_task, upload


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return tmp_path / "shared mount"  # a space: the URL is percent-encoded


@pytest.fixture
def app_settings(tmp_path: Path, shared: Path) -> Settings:
    return make_settings(tmp_path / "host-a", storage_url=shared.as_uri(), log_dir=tmp_path / "log")


def test_a_directory_shared_by_two_hosts_serves_what_either_stored(
    client: TestClient, db: Session, host: Callable[[Settings], TestClient], tmp_path: Path, shared: Path
) -> None:
    aux_h, task_id = record_task(client, db)
    data = blob(2 * 1024 * 1024)
    ev = upload(client, aux_h, task_id, data)
    stored = shared / ev["sha256"][:2] / ev["sha256"]
    assert stored.read_bytes() == data and stat.S_IMODE(stored.stat().st_mode) == 0o444
    assert not (tmp_path / "host-a" / "evidence").exists()
    other = host(make_settings(tmp_path / "host-b", storage_url=shared.as_uri()))
    got = other.get(f"/api/tasks/{task_id}/evidence/{ev['id']}", headers=aux_h)
    assert got.status_code == 200 and got.content == data
    assert not [p for p in shared.iterdir() if p.name.startswith(".upload-")]


def test_the_default_store_is_evidence_under_the_data_dir(tmp_path: Path) -> None:
    store = open_store(make_settings(tmp_path))
    assert isinstance(store, FileStore) and store.root == tmp_path / "evidence"
    assert store.root / "ab" / ("ab" + "0" * 62) == evidence_path(tmp_path, "ab" + "0" * 62)
    store.ping()


def test_an_s3_url_names_bucket_and_prefix(tmp_path: Path) -> None:
    store = open_store(make_settings(tmp_path, storage_url="s3://evidence-nj/hosts/a/", s3_endpoint_url="http://x"))
    assert isinstance(store, S3Store)
    assert (store.bucket, store.key("ab/abcd"), store.staging) == ("evidence-nj", "hosts/a/ab/abcd", tmp_path / "spool")
    bare = open_store(make_settings(tmp_path, storage_url="s3://evidence-nj"))
    assert isinstance(bare, S3Store) and bare.key("ab/abcd") == "ab/abcd"


@pytest.mark.parametrize("url", ["ftp://host/x", "file://relative/x", "s3://", "s3:///prefix", "s3://Upper_Case/x",
                                 "evidence"])
def test_a_storage_url_of_no_known_kind_is_refused_at_start(tmp_path: Path, url: str) -> None:
    with pytest.raises(ValidationError, match="storage_url"):
        make_settings(tmp_path, storage_url=url)


def test_a_directory_that_cannot_be_written_is_503_not_500(
    client: TestClient, db: Session, host: Callable[[Settings], TestClient], tmp_path: Path
) -> None:
    blocker = tmp_path / "a file"
    blocker.write_bytes(b"")
    broken = host(make_settings(tmp_path / "host-b", storage_url=(blocker / "evidence").as_uri()))
    aux_h, task_id = record_task(client, db)
    r = broken.post(f"/api/tasks/{task_id}/evidence", files={"file": ("x", os.urandom(100))}, headers=aux_h)
    assert_problem(r, 503, "storage_unavailable")
    assert "retry-after" in r.headers
