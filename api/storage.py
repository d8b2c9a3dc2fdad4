"""The stores behind ``AUXDUTY_STORAGE_URL`` (the ``BlobStore`` of ``api.domain.storage``), and the response that
streams a stored blob.

``file:///PATH`` (default: ``evidence/`` under the data dir) is a directory: a blob is written once through a
temporary file beside it and a hard link that cannot overwrite, then made read-only. ``s3://BUCKET/PREFIX`` is
any S3-compatible bucket (SeaweedFS, MinIO, Ceph, OSS, COS, S3) shared by every host: a blob is one PUT, which a
store makes visible whole or not at all, sent only when the name is not there yet and with ``If-None-Match: *``
so that even two hosts racing never replace one another's object, and with its SHA-256 for the store to check.

A store that does not answer (refused, timed out, credentials refused, bucket gone) raises
``StorageUnavailable``: 503 with ``Retry-After``, never a 500 and never a half-kept record.
"""

import base64
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from starlette.responses import StreamingResponse

from api.domain.fieldwork.evidence import evidence_root
from api.domain.storage import BlobMissing, BlobStore, unavailable
from api.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

SEND_CHUNK = 64 * 1024
READ_CHUNK = 1024 * 1024


class FileStore:
    """Blobs as read-only files under ``root`` (a local disk, or a mount every host shares)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def staging(self) -> Path:
        return self.root

    def put(self, name: str, staged: Path, *, sha256: str) -> None:
        target = self.root / name
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.chmod(0o444)
            try:
                os.link(staged, target)
            except FileExistsError:
                pass  # the same bytes are already stored: their name is their hash
            except OSError:
                # A filesystem without hard links: a rename is still atomic, and the bytes it could replace
                # are the same bytes.
                if not target.exists():
                    os.replace(staged, target)
        except OSError as exc:
            raise unavailable("file", exc) from exc
        finally:
            staged.unlink(missing_ok=True)

    def open(self, name: str) -> IO[bytes]:
        try:
            return (self.root / name).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise BlobMissing(name) from None
        except OSError as exc:
            raise unavailable("file", exc) from exc

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise unavailable("file", exc) from exc
        if not os.access(self.root, os.W_OK):
            raise unavailable("file", PermissionError(str(self.root)))


class S3Store:
    """Blobs as objects ``PREFIX/<name>`` in one bucket; downloads are checked in ``staging`` before serving."""

    def __init__(self, client: "S3Client", bucket: str, prefix: str, staging: Path) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._staging = staging

    @property
    def staging(self) -> Path:
        return self._staging

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, name: str, staged: Path, *, sha256: str) -> None:
        key = self.key(name)
        with _answering():
            if self._exists(key):
                return  # a retried upload, or the same bytes on another task: stored once
            checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
            with staged.open("rb") as body:
                try:
                    self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentLength=os.fstat(
                        body.fileno()).st_size, ChecksumSHA256=checksum, IfNoneMatch="*")
                except ClientError as exc:
                    # 412: another host put it first; 409: it is putting it now. Either way, the same bytes.
                    if _status(exc) not in (409, 412):
                        raise

    def open(self, name: str) -> IO[bytes]:
        with _answering():
            try:
                got = self.client.get_object(Bucket=self.bucket, Key=self.key(name))
            except ClientError as exc:
                if _status(exc) == 404 and _code(exc) != "NoSuchBucket":
                    raise BlobMissing(name) from None
                raise
        return io.BufferedReader(_ObjectBody(got), READ_CHUNK)

    def ping(self) -> None:
        with _answering():
            self.client.head_bucket(Bucket=self.bucket)

    def _exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _status(exc) == 404:
                return False
            raise
        return True


class _ObjectBody(io.RawIOBase):
    """An object's body as a raw stream whose failures mid-read are ``StorageUnavailable`` too."""

    def __init__(self, got: "GetObjectOutputTypeDef") -> None:
        self._body = got["Body"]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _answering():
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def open_store(settings: Settings) -> BlobStore:
    """The store ``settings.storage_url`` names; made once per process, shared by its threads."""
    url = settings.storage_url
    if not url:
        return FileStore(evidence_root(settings.data_dir))
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileStore(Path(unquote(parts.path)))
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key,
        region_name=settings.s3_region,
        config=Config(
            connect_timeout=settings.storage_timeout_seconds,
            read_timeout=settings.storage_timeout_seconds,
            retries={"max_attempts": 2, "mode": "standard"},
            max_pool_connections=settings.db_slots + 8,
            # Only what a store must check: our own SHA-256 goes with every PUT; many S3-compatible stores
            # refuse the CRC trailers newer clients add by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            s3={"addressing_style": settings.s3_addressing_style
                or ("path" if settings.s3_endpoint_url else "auto")},
        ),
    )
    return S3Store(client, parts.netloc, unquote(parts.path), settings.data_dir / "spool")


class BlobResponse(StreamingResponse):
    """A blob sent as an attachment from an open stream, in chunks, closed at the end."""

    def __init__(self, blob: IO[bytes], *, size: int, media_type: str, filename: str,
                 headers: dict[str, str], status_code: int = 200) -> None:
        quoted = quote(filename)
        disposition = (f"attachment; filename*=utf-8''{quoted}" if quoted != filename
                       else f'attachment; filename="{filename}"')
        super().__init__(_chunks(blob), status_code, media_type=media_type, headers={
            **headers, "Content-Length": str(size), "Content-Disposition": disposition})


def _chunks(blob: IO[bytes]) -> Iterator[bytes]:
    with blob:
        while chunk := blob.read(SEND_CHUNK):
            yield chunk


@contextmanager
def _answering() -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError, OSError) as exc:
        raise unavailable("s3", exc) from exc


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
