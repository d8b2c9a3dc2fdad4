"""Where evidence bytes are kept, as the domain sees it: named blobs that are written once and never changed.

A name is a content address (``<sha[:2]>/<sha>``), so a blob written twice is the same blob and a retried
upload stores nothing new. The backends (a directory, an S3-compatible bucket) live outside the domain, in
``api/storage``; the domain hashes what it reads and decides what a missing or changed blob means.
"""

import hashlib
import logging
from pathlib import Path
from typing import IO, Protocol

from api.domain.errors import DomainError

CHUNK = 1024 * 1024
log = logging.getLogger("auxduty")


class BlobMissing(LookupError):
    """The store answered, and it holds nothing under that name."""


class StorageUnavailable(DomainError):
    """The store did not answer (down, timed out, refused our credentials): try again, nothing was kept."""

    status = 503

    def __init__(self, retry_after: int = 2) -> None:
        super().__init__(
            "storage_unavailable",
            f"文件存储暂时不可用，请{retry_after}秒后重试",
            f"the file store is unavailable; retry in {retry_after} s",
        )
        self.retry_after = retry_after


def unavailable(where: str, exc: BaseException) -> StorageUnavailable:
    """The refusal for a store that failed with ``exc``, logged for whoever runs the service."""
    log.warning("%s storage unavailable: %s: %s", where, type(exc).__name__, exc)
    return StorageUnavailable()


class BlobStore(Protocol):
    @property
    def staging(self) -> Path:
        """A local directory for bytes on their way in (an upload being received) or out (a download being
        checked); for a directory store, beside the blobs themselves so that placing one is a link."""
        ...

    def put(self, name: str, staged: Path, *, sha256: str) -> None:
        """Keep the bytes of ``staged`` under ``name``: visible whole or not at all, and a name already kept
        is left as it is (its bytes are the same bytes, or they were altered and must stay as evidence of it).
        """
        ...

    def open(self, name: str) -> IO[bytes]:
        """The kept bytes, to read once from the start; ``BlobMissing`` if there are none. Reads may raise
        ``StorageUnavailable``."""
        ...

    def ping(self) -> None:
        """Return when the store answers; ``StorageUnavailable`` otherwise."""
        ...


def content_name(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


def stream_sha256(stream: IO[bytes], copy_to: IO[bytes] | None = None) -> str:
    """The SHA-256 of what is left in ``stream``, read in bounded chunks (and copied to ``copy_to``)."""
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        if copy_to is not None:
            copy_to.write(chunk)
    return digest.hexdigest()
