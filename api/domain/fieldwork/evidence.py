"""Evidence files of a task (第十条(三): never altered). Content-addressed: a file is kept under
``<sha[:2]>/<sha>`` in the service's store (``AUXDUTY_STORAGE_URL``: by default ``evidence/`` under the data
dir, where it is written once through a temporary file and a link that cannot overwrite, then made read-only;
or an S3-compatible bucket shared by every host). The database row says which task it belongs to; the same
bytes uploaded twice for one task are one record. Every download re-hashes the bytes it serves.
"""

import hashlib
import os
import re
import tempfile
import uuid
from pathlib import Path
from typing import IO, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.errors import DomainError, Forbidden, NotFound
from api.domain.models import Auxiliary, Evidence, Officer, Task, User
from api.domain.storage import CHUNK, BlobMissing, BlobStore, content_name, stream_sha256, unavailable

_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}$")
# The stored column's width: RFC 6838 allows 127 characters, anything longer than this is kept as unknown.
MAX_MEDIA_TYPE = 100


class EvidenceTooLarge(DomainError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(
            "evidence_too_large",
            f"证据文件超过大小上限（{limit} 字节）",
            f"evidence file exceeds the size limit of {limit} bytes",
            limit=limit,
        )


class EvidenceMissing(DomainError):
    status = 410

    def __init__(self) -> None:
        super().__init__(
            "evidence_file_missing",
            "证据文件已不在存储中，请联系管理员",
            "the evidence file is missing from storage",
        )


class EvidenceAltered(DomainError):
    """The stored bytes no longer hash to the recorded SHA-256 (第十条(三)): they are not served as evidence."""

    status = 410

    def __init__(self) -> None:
        super().__init__(
            "evidence_altered",
            "证据文件在存储中已被改动，与登记的 SHA-256 不符，不予提供；请联系司法行政部门",
            "the stored evidence file no longer matches its recorded SHA-256 and is not served",
            article="第十条",
        )


def evidence_root(data_dir: Path) -> Path:
    """The default store: ``evidence/`` under the data dir."""
    return data_dir / "evidence"


def evidence_path(data_dir: Path, sha256: str) -> Path:
    return evidence_root(data_dir) / sha256[:2] / sha256


def clean_media_type(value: str | None) -> str:
    media = (value or "").split(";")[0].strip().lower()
    return media if len(media) <= MAX_MEDIA_TYPE and _MEDIA_TYPE.fullmatch(media) else "application/octet-stream"


def clean_filename(value: str | None) -> str | None:
    if not value:
        return None
    name = re.split(r"[\\/]", value)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).encode("utf-8", "ignore").decode()[:255]
    return name or None


def check_uploader(session: Session, *, task: Task, user: User) -> None:
    """The auxiliary who recorded the task, or the officer it names (第八条), may add evidence."""
    aux_id = session.scalar(select(Auxiliary.id).where(Auxiliary.user_id == user.id))
    officer_id = session.scalar(select(Officer.id).where(Officer.user_id == user.id))
    recorder = aux_id is not None and aux_id == task.auxiliary_id
    named_officer = officer_id is not None and officer_id == task.officer_id
    if not (recorder or named_officer):
        raise Forbidden(
            "not_task_party",
            "只有记录该任务的辅助人员或注明的执法人员可以上传证据",
            "only the recording auxiliary or the named officer may add evidence",
        )


def _spool(stream: BinaryIO, directory: Path, max_bytes: int) -> tuple[Path, str, int]:
    """Copy the upload into a temporary file in the store's staging directory, hashing as it goes."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=directory, prefix=".upload-")
    except OSError as exc:
        raise unavailable("staging", exc) from exc  # the disk the store stages on is full, gone or read-only
    tmp = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise EvidenceTooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise unavailable("staging", exc) from exc
        raise
    return tmp, digest.hexdigest(), size


def store_evidence(
    session: Session,
    *,
    task: Task,
    user: User,
    stream: BinaryIO,
    filename: str | None,
    content_type: str | None,
    store: BlobStore,
    max_bytes: int,
) -> tuple[Evidence, bool]:
    """Store an upload for ``task``; (evidence, created). The same bytes again for the same task answer
    the stored record."""
    check_uploader(session, task=task, user=user)
    # Stored exactly as received, EXIF and GPS position included, unlike an ID or complaint photo
    # (api/domain/images.py): the bytes are the evidence (第十条(三)), the phone hashed them when it took
    # the photo, and a re-encoded copy would match neither that hash nor what a court is shown.
    tmp, sha, size = _spool(stream, store.staging, max_bytes)
    try:
        existing = session.scalar(select(Evidence).where(Evidence.task_id == task.id, Evidence.sha256 == sha))
        if existing is not None:
            return existing, False
        store.put(content_name(sha), tmp, sha256=sha)
    finally:
        tmp.unlink(missing_ok=True)
    evidence = Evidence(
        id=uuid.uuid4(),
        task_id=task.id,
        sha256=sha,
        bytes=size,
        content_type=clean_media_type(content_type),
        filename=clean_filename(filename),
        uploaded_by=user.id,
    )
    try:
        with session.begin_nested():
            session.add(evidence)
            session.flush()
    except IntegrityError:
        stored = session.scalar(select(Evidence).where(Evidence.task_id == task.id, Evidence.sha256 == sha))
        if stored is None:
            raise
        return stored, False
    audit.record(session, evidence, "evidence.uploaded", actor_id=user.id)
    return evidence, True


def get_evidence(
    session: Session, *, task: Task, evidence_id: uuid.UUID, store: BlobStore
) -> tuple[Evidence, IO[bytes]]:
    """The record and its bytes, read from the start; the caller closes the stream."""
    evidence = session.get(Evidence, evidence_id)
    if evidence is None or evidence.task_id != task.id:
        raise NotFound("evidence", "证据")
    try:
        blob = store.open(content_name(evidence.sha256))
    except BlobMissing:
        raise EvidenceMissing() from None
    return evidence, _checked(blob, evidence.sha256, store.staging)


def _checked(blob: IO[bytes], sha256: str, staging: Path) -> IO[bytes]:
    """Re-hashed on every download: bytes swapped in storage are refused, never served under the old ETag.
    What is served is what was hashed: a local, read-only file is read again from its start; a stream from
    elsewhere is copied as it is hashed (in memory up to one chunk, on disk beyond)."""
    out: IO[bytes] = blob
    try:
        if blob.seekable():
            got = stream_sha256(blob)
        else:
            staging.mkdir(parents=True, exist_ok=True)
            # Closed by whoever serves it (or below, when it is refused).
            out = tempfile.SpooledTemporaryFile(max_size=CHUNK, dir=str(staging))  # noqa: SIM115
            with blob:
                got = stream_sha256(blob, out)
        if got != sha256:
            raise EvidenceAltered()
        out.seek(0)
    except BaseException as exc:
        out.close()
        blob.close()
        if isinstance(exc, OSError):
            raise unavailable("staging", exc) from exc
        raise
    return out
