"""Photos a complainant attaches to a complaint (第二十四条): what they saw, for the agency that handles it.

Anyone may upload, so a photo passes the same gate as a citizen's badge photo (``verification.photo``:
bytes first, then the format by its magic bytes and by Pillow's reading, then the pixel count from the
header): JPEG, PNG, WebP and HEIC (when pillow-heif is installed), at most 8 MB and 40 megapixels, at most
three per complaint, and only while the complaint is open. What is kept is the picture alone, re-encoded
(``api.domain.images``): a phone's photo carries the complainant's position, the time and the phone itself in
its EXIF, and none of that is the agency's to have. The stored bytes are named by their SHA-256 in the
service's store, the row is logged like every record of a complaint (第十条(三)), and the bytes are
re-hashed whenever they are served. Only the handling agency sees them.
"""

import hashlib
import os
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.complaints.catalogue import OPEN_STATUSES
from api.domain.complaints.handling import get_complaint, handles
from api.domain.errors import Conflict, DomainError, Forbidden, NotFound
from api.domain.images import PhotoRefused, strip_metadata
from api.domain.models import Complaint, ComplaintPhoto, User
from api.domain.storage import BlobMissing, BlobStore, content_name, unavailable
from verification.photo import PhotoRejected, check_upload

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000


class PhotoFileMissing(DomainError):
    status = 410

    def __init__(self) -> None:
        super().__init__("photo_file_missing", "照片文件已不在存储中，请联系管理员",
                         "the photo's file is missing from storage")


class PhotoAltered(DomainError):
    """The stored bytes no longer hash to the recorded SHA-256 (第十条(三)): not served."""

    status = 410

    def __init__(self) -> None:
        super().__init__("photo_altered", "照片文件在存储中已被改动，与登记的 SHA-256 不符，不予提供",
                         "the stored photo no longer matches its recorded SHA-256 and is not served",
                         article="第十条")


def _check_open(complaint: Complaint) -> None:
    if complaint.status not in OPEN_STATUSES:
        raise Conflict("complaint_closed", "投诉已办结，不能再补充照片",
                       "the complaint is decided; no more photos can be added")


def _put(store: BlobStore, data: bytes, sha: str) -> None:
    try:
        store.staging.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=store.staging, prefix=".upload-")
    except OSError as exc:
        raise unavailable("staging", exc) from exc
    staged = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        store.put(content_name(sha), staged, sha256=sha)
    except OSError as exc:
        raise unavailable("staging", exc) from exc
    finally:
        staged.unlink(missing_ok=True)


def add_complaint_photo(
    session: Session, *, complaint: Complaint, data: bytes, store: BlobStore
) -> tuple[ComplaintPhoto, bool]:
    """Keep a photo for an open complaint; (photo, created). The same picture again answers the stored one.
    Refused: 413 over 8 MB, 415 not JPEG/PNG/WebP/HEIC, 422 unreadable, over 40 MP or a fourth photo, 409
    once the complaint is decided. Nothing is stored when it is refused."""
    _check_open(complaint)
    try:
        check_upload(data, max_bytes=MAX_PHOTO_BYTES, max_pixels=MAX_PIXELS)
    except PhotoRejected as exc:
        raise PhotoRefused(exc.http_status, exc.code, exc.detail_zh, exc.detail_en) from None
    clean = strip_metadata(data)
    sha = hashlib.sha256(clean.data).hexdigest()
    # The complaint's row, locked: two uploads at once cannot both take the third place (PostgreSQL; a write
    # on SQLite holds the database's write lock from its start).
    session.execute(select(Complaint.id).where(Complaint.id == complaint.id).with_for_update())
    existing = session.scalar(select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == complaint.id,
                                                           ComplaintPhoto.sha256 == sha))
    if existing is not None:
        return existing, False
    kept = session.scalar(select(func.count()).select_from(ComplaintPhoto)
                          .where(ComplaintPhoto.complaint_id == complaint.id)) or 0
    if kept >= MAX_PHOTOS:
        raise DomainError("too_many_photos", f"每件投诉最多附 {MAX_PHOTOS} 张照片",
                          f"a complaint takes at most {MAX_PHOTOS} photos", max_photos=MAX_PHOTOS)
    _put(store, clean.data, sha)
    photo = ComplaintPhoto(id=uuid.uuid4(), complaint_id=complaint.id, sha256=sha, bytes=len(clean.data),
                           content_type=clean.media_type, width=clean.width, height=clean.height)
    try:
        with session.begin_nested():
            session.add(photo)
            session.flush()
    except IntegrityError:
        stored = session.scalar(select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == complaint.id,
                                                             ComplaintPhoto.sha256 == sha))
        if stored is None:
            raise
        return stored, False
    audit.record(session, photo, "complaint.photo_added", actor_id=None)
    return photo, True


def complaint_photos(session: Session, complaint_id: uuid.UUID) -> list[ComplaintPhoto]:
    return list(session.scalars(select(ComplaintPhoto).where(ComplaintPhoto.complaint_id == complaint_id)
                                .order_by(ComplaintPhoto.created_at, ComplaintPhoto.id)))


def read_complaint_photo(
    session: Session, *, user: User, complaint_id: uuid.UUID, photo_id: uuid.UUID, store: BlobStore
) -> tuple[ComplaintPhoto, bytes]:
    """A photo and its bytes, re-hashed, for the handling agency only: 404 for whoever may not read the
    complaint, 403 for the street that reads it as the commanding agency (第二十二条)."""
    complaint = get_complaint(session, user=user, complaint_id=complaint_id)
    if not handles(user, complaint):
        raise Forbidden("not_handling_agency", "投诉照片仅供处理投诉的行政执法机关查看",
                        "only the agency handling the complaint sees its photos", article="第二十四条")
    photo = session.get(ComplaintPhoto, photo_id)
    if photo is None or photo.complaint_id != complaint.id:
        raise NotFound("photo", "照片")
    try:
        blob = store.open(content_name(photo.sha256))
    except BlobMissing:
        raise PhotoFileMissing() from None
    try:
        with blob:
            data = blob.read(photo.bytes + 1)
    except OSError as exc:
        raise unavailable("storage", exc) from exc
    if hashlib.sha256(data).hexdigest() != photo.sha256:
        raise PhotoAltered()
    return photo, data
