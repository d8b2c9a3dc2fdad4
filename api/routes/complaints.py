"""Complaints (第二十四条): filed by anyone, followed with a tracking number and access code, handled by
the auxiliary's employing agency (第二十八条), and published as anonymised case notices."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api import ratelimit
from api.deps import Admin, ContextDep, SessionDep, rate_limited
from api.domain.audit.receipts import filing_inclusion, filing_receipt
from api.domain.base import utcnow
from api.domain.complaints.catalogue import ACTION_BY_CODE, CATEGORY_BY_CODE, OPEN_STATUSES
from api.domain.complaints.handling import (
    complaint_events,
    complaint_notice,
    get_complaint,
    list_complaints,
    list_notices,
    transition_complaint,
)
from api.domain.complaints.intake import file_complaint, track_complaint
from api.domain.models import CaseNotice, Complaint, ComplaintStatus
from schemas.common import Page
from schemas.complaints import (
    ComplaintCreate,
    ComplaintEventRead,
    ComplaintInclusion,
    ComplaintItem,
    ComplaintOutcome,
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
    limit: Limit = None,
    cursor: Cursor = None,
) -> Page[ComplaintItem]:
    """Complaints about the caller's agency's auxiliaries, newest first; the justice bureau sees all,
    including those nobody could be identified in. Filter with `?status=`."""
    rows, next_cursor = list_complaints(
        session, user=user, status=ComplaintStatus(status) if status else None, limit=limit, cursor=cursor
    )
    return Page(items=[ComplaintItem.model_validate(c) for c in rows], next_cursor=next_cursor)


def _read(session: SessionDep, complaint: Complaint) -> ComplaintRead:
    notice = complaint_notice(session, complaint.id)
    item = ComplaintItem.model_validate(complaint)
    return ComplaintRead(
        **item.model_dump(),
        agency_id=complaint.agency_id,
        identified_by=complaint.identified_by,
        description=complaint.description,
        occurred_at=complaint.occurred_at,
        location=complaint.location,
        lat=complaint.lat,
        lon=complaint.lon,
        contact_phone=complaint.contact_phone,
        finding=complaint.finding,
        action=complaint.action,
        decided_at=complaint.decided_at,
        overdue=complaint.status in OPEN_STATUSES and complaint.due_at < utcnow(),
        events=[ComplaintEventRead.model_validate(e) for e in complaint_events(session, complaint.id)],
        notice=notice_read(notice, None) if notice else None,
    )


@router.get("/api/complaints/{complaint_id}", response_model=ComplaintRead)
def read_complaint(session: SessionDep, user: Admin, complaint_id: uuid.UUID) -> ComplaintRead:
    """One complaint with its handling history. 404 when it is not the caller's agency's."""
    return _read(session, get_complaint(session, user=user, complaint_id=complaint_id))


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
    return _read(session, complaint)
