"""Complaints (第二十四条): filed by anyone, followed with a tracking number and access code, handled by
the auxiliary's employing agency (第二十八条), and published as anonymised case notices."""

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Header, Query, Response, UploadFile

from api import ratelimit
from api.deps import Admin, ContextDep, SessionDep, rate_limited
from api.domain.audit.receipts import filing_inclusion, filing_receipt
from api.domain.complaints.catalogue import ACTION_BY_CODE, CATEGORY_BY_CODE
from api.domain.complaints.handling import (
    complaint_events,
    complaint_notice,
    get_complaint,
    handles,
    list_complaints,
    list_notices,
    transition_complaint,
)
from api.domain.complaints.intake import file_complaint, track_complaint
from api.domain.complaints.photos import MAX_PHOTO_BYTES, add_complaint_photo, complaint_photos, read_complaint_photo
from api.domain.models import CaseNotice, Complaint, ComplaintStatus, User
from api.domain.privacy_tables import ReadKind
from api.read_log import log_personal_reads
from api.uploads import limited_upload_route
from schemas.common import Page
from schemas.complaints import (
    ComplaintCreate,
    ComplaintEventRead,
    ComplaintInclusion,
    ComplaintItem,
    ComplaintOutcome,
    ComplaintPhotoRead,
    ComplaintRead,
    ComplaintReceipt,
    ComplaintStatusCode,
    ComplaintStatusRead,
    ComplaintTransition,
    NoticeRead,
)

router = APIRouter(tags=["complaints"])
NO_STORE = "no-store"
Limit = Annotated[int | None, Query(ge=1, description="page size; values above 200 are clamped")]
Cursor = Annotated[str | None, Query(max_length=200)]


def notice_read(notice: CaseNotice, agency: str | None) -> NoticeRead:
    return NoticeRead(
        id=notice.id,
        published_at=notice.published_at,
        agency=agency,
        category=notice.category,
        category_name=CATEGORY_BY_CODE[notice.category].name_zh,
        action=notice.action,
        action_name=ACTION_BY_CODE[notice.action].name_zh,
        text=notice.text,
    )


@router.post(
    "/api/public/complaints", response_model=ComplaintReceipt, status_code=201,
    tags=["public"], dependencies=[rate_limited(ratelimit.COMPLAINT)],
)
def create_complaint(
    ctx: ContextDep, session: SessionDep, body: ComplaintCreate, response: Response
) -> ComplaintReceipt:
    """File a complaint about an auxiliary without an account (第二十四条).

    Name the auxiliary by `badge_no` or by the `token` from their badge's QR code; the complaint goes to
    their employing agency, or to the justice bureau when nobody can be identified (it is still accepted).
    The answer holds the tracking number and the access code: the code is shown only this once.
    """
    complaint, code = file_complaint(
        session,
        keyring=ctx.keyring,
        badge_no=body.badge_no,
        token=body.token,
        category=body.category,
        description=body.description,
        occurred_at=body.occurred_at,
        location=body.location,
        lat=body.lat,
        lon=body.lon,
        contact_phone=body.contact_phone,
    )
    response.headers["Cache-Control"] = NO_STORE
    receipt = filing_receipt(session, complaint.id)
    assert receipt is not None  # filed and logged in this very transaction
    return ComplaintReceipt(tracking_no=complaint.tracking_no, access_code=code, leaf_hash=receipt.leaf_hash.hex(),
                            log_index=receipt.log_index)


@router.get(
    "/api/public/complaints/{tracking_no}", response_model=ComplaintStatusRead, tags=["public"],
    dependencies=[rate_limited(ratelimit.LOOKUP)],
    responses={404: {"description": "`complaint_not_found`: unknown number or wrong/missing code, alike"}},
)
def read_complaint_status(
    session: SessionDep,
    tracking_no: str,
    response: Response,
    x_access_code: Annotated[str | None, Header()] = None,
) -> ComplaintStatusRead:
    """Follow a complaint with its tracking number and the `X-Access-Code` header.

    A wrong or missing code answers exactly like an unknown number (404 `complaint_not_found`), so the
    answer never tells whether a number exists.
    """
    complaint = track_complaint(session, tracking_no=tracking_no, access_code=x_access_code)
    response.headers["Cache-Control"] = NO_STORE
    outcome = None
    if complaint.decided_at is not None:
        outcome = ComplaintOutcome(
            finding=complaint.finding,
            action=complaint.action,
            action_name=ACTION_BY_CODE[complaint.action].name_zh if complaint.action else None,
            decided_at=complaint.decided_at,
        )
    receipt = filing_receipt(session, complaint.id)
    proof = filing_inclusion(session, receipt)
    return ComplaintStatusRead(
        status=complaint.status,
        category=complaint.category,
        received_at=complaint.received_at,
        outcome=outcome,
        rules_version=complaint.rules_version,
        leaf_hash=receipt.leaf_hash.hex() if receipt else None,
        log_index=receipt.log_index if receipt else None,
        inclusion=ComplaintInclusion(index=proof.index, size=proof.size, hashes=[h.hex() for h in proof.hashes],
                                     checkpoint=proof.checkpoint) if proof else None,
    )


@router.get("/api/public/notices", response_model=Page[NoticeRead], tags=["public"],
            dependencies=[rate_limited(ratelimit.LOOKUP)])
def list_public_notices(session: SessionDep, limit: Limit = None, cursor: Cursor = None) -> Page[NoticeRead]:
    """Published case notices (违法违纪案例通报, 第二十四条), newest first; anonymised: no names."""
    rows, next_cursor = list_notices(session, limit=limit, cursor=cursor)
    return Page(items=[notice_read(n, agency) for n, agency in rows], next_cursor=next_cursor)


@router.get("/api/complaints", response_model=Page[ComplaintItem])
def list_agency_complaints(
    session: SessionDep,
    user: Admin,
    status: ComplaintStatusCode | None = None,
    overdue: Annotated[bool | None, Query(description="true: only those past due_at and still open; "
                                                       "false: only the others")] = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[ComplaintItem]:
    """Complaints about the caller's agency's auxiliaries, newest first; the justice bureau sees all,
    including those nobody could be identified in. The street that commands a seconded auxiliary
    (第二十二条) sees the complaints about them too, to read (`can_handle: false`): the employing agency
    handles them (第二十八条). Filter with `?status=` and `?overdue=true`."""
    rows, next_cursor = list_complaints(
        session, user=user, status=ComplaintStatus(status) if status else None, overdue=overdue, limit=limit,
        cursor=cursor,
    )
    return Page(items=[_item(user, c) for c in rows], next_cursor=next_cursor)


def _item(user: User, complaint: Complaint) -> ComplaintItem:
    return ComplaintItem.model_validate({
        **{k: getattr(complaint, k) for k in ComplaintItem.model_fields if k != "can_handle"},
        "can_handle": handles(user, complaint),
    })


def _read(session: SessionDep, user: User, complaint: Complaint) -> ComplaintRead:
    notice = complaint_notice(session, complaint.id)
    item = _item(user, complaint)
    read = ComplaintRead(
        **item.model_dump(),
        agency_id=complaint.agency_id,
        identified_by=complaint.identified_by,
        description=complaint.description,
        occurred_at=complaint.occurred_at,
        location=complaint.location,
        lat=complaint.lat,
        lon=complaint.lon,
        # The complainant's phone is for whoever calls them back: the handling agency, not the street.
        contact_phone=complaint.contact_phone if item.can_handle else None,
        finding=complaint.finding,
        action=complaint.action,
        decided_at=complaint.decided_at,
        events=[ComplaintEventRead.model_validate(e) for e in complaint_events(session, complaint.id)],
        notice=notice_read(notice, None) if notice else None,
        photos=[ComplaintPhotoRead.model_validate(p) for p in complaint_photos(session, complaint.id)]
        if item.can_handle else None,
    )
    if read.contact_phone is not None:
        log_personal_reads(session, user, ReadKind.COMPLAINANT_PHONE, [complaint.id])
    return read


@router.get("/api/complaints/{complaint_id}", response_model=ComplaintRead)
def read_complaint(session: SessionDep, user: Admin, complaint_id: uuid.UUID) -> ComplaintRead:
    """One complaint with its handling history. 404 when it is neither about the caller's agency's staff nor
    about staff seconded to it; the commanding street reads it without the complainant's phone."""
    return _read(session, user, get_complaint(session, user=user, complaint_id=complaint_id))


@router.post("/api/complaints/{complaint_id}/transitions", response_model=ComplaintRead)
def transition_agency_complaint(
    session: SessionDep, user: Admin, complaint_id: uuid.UUID, body: ComplaintTransition
) -> ComplaintRead:
    """Move a complaint one step (received → investigating → resolved | dismissed; received → dismissed).

    Resolving needs a `finding` and an `action` from 第二十八条, and records that action as a sanction of the
    auxiliary complained of (see `GET /api/auxiliaries/{id}/standing`), once: a `dismissal` ends their
    employment at once, as a departure does (409 `auxiliary_departed` if they have already left). With
    `notice`, the resolved case is published as an anonymised case notice; one naming the auxiliary, their badge
    number or the complainant's phone is refused (422 `notice_not_anonymised`). Any other step answers 409
    `invalid_transition`.
    """
    complaint = transition_complaint(
        session,
        user=user,
        complaint_id=complaint_id,
        to=ComplaintStatus(body.to),
        finding=body.finding,
        action=body.action,
        notice=body.notice,
    )
    return _read(session, user, complaint)


# A photo's size is refused while it arrives, before multipart parsing spools it anywhere.
_photos = APIRouter(route_class=limited_upload_route(lambda _: MAX_PHOTO_BYTES, "image_too_large", "照片", "photo"),
                    tags=["complaints"])


@_photos.post(
    "/api/public/complaints/{tracking_no}/photos", response_model=ComplaintPhotoRead, status_code=201,
    tags=["public"], dependencies=[rate_limited(ratelimit.IMAGE)],
    responses={200: {"description": "the same picture again: the stored photo"},
               404: {"description": "`complaint_not_found`: unknown number or wrong/missing code, alike"},
               409: {"description": "`complaint_closed`: the complaint is decided"},
               413: {"description": "larger than 8 MB"}, 415: {"description": "not JPEG/PNG/WebP/HEIC"},
               422: {"description": "unreadable, over 40 megapixels, or a fourth photo (`too_many_photos`)"}},
)
def add_complaint_photo_route(
    ctx: ContextDep,
    session: SessionDep,
    tracking_no: str,
    file: Annotated[UploadFile, File(description="a photo: JPEG, PNG, WebP or HEIC, at most 8 MB")],
    response: Response,
    x_access_code: Annotated[str | None, Header()] = None,
) -> ComplaintPhotoRead:
    """Attach a photo to a complaint already filed (第二十四条), with its tracking number and the
    `X-Access-Code` header, as for following it: a wrong or missing code answers exactly like an unknown
    number (404 `complaint_not_found`).

    A separate upload rather than a multipart `POST /api/public/complaints`: the complaint itself stays the
    JSON of the contract, is filed (and its receipt given) even when a photo fails on a poor network, and
    each photo can be sent again on its own. At most 3 photos per complaint (422 `too_many_photos`), each
    at most 8 MB (413) of JPEG, PNG, WebP or HEIC (415) and 40 megapixels (422), while the complaint is
    open (409 `complaint_closed`). The photo is re-encoded before it is kept: EXIF (the phone's position,
    time, model) and every other metadata are dropped, the orientation applied; a PNG stays PNG, anything
    else becomes JPEG. Only the agency handling the complaint sees the photos. The same picture sent again
    answers 200 with the stored photo."""
    complaint = track_complaint(session, tracking_no=tracking_no, access_code=x_access_code)
    response.headers["Cache-Control"] = NO_STORE
    data = file.file.read(MAX_PHOTO_BYTES + 1)
    photo, created = add_complaint_photo(session, complaint=complaint, data=data, store=ctx.storage)
    if not created:
        response.status_code = 200
    return ComplaintPhotoRead.model_validate(photo)


@router.get(
    "/api/complaints/{complaint_id}/photos/{photo_id}", response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}, "description": "the photo as stored"}},
)
def read_complaint_photo_route(
    ctx: ContextDep, session: SessionDep, user: Admin, complaint_id: uuid.UUID, photo_id: uuid.UUID
) -> Response:
    """A photo of a complaint, for the agency handling it (the employer; the justice bureau for a
    complaint tied to no agency). The street that reads it as commanding agency gets 403
    `not_handling_agency`. `ETag` is the SHA-256 of the bytes, re-hashed before they are sent (410
    `photo_altered` or `photo_file_missing` when the store no longer has them as they were)."""
    photo, data = read_complaint_photo(session, user=user, complaint_id=complaint_id, photo_id=photo_id,
                                       store=ctx.storage)
    log_personal_reads(session, user, ReadKind.COMPLAINT_PHOTO, [photo.complaint_id])
    return Response(data, media_type=photo.content_type, headers={
        "ETag": f'"{photo.sha256}"', "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


router.include_router(_photos)
