"""Complainants' phone numbers are kept only while they may be needed to call back (第十条(一)): a set number
of days (``AUXDUTY_COMPLAINANT_PHONE_DAYS``) after a complaint is resolved or dismissed, the number is erased.

The complaint stays a logged record (第十条(三)). A leaf holds only the SHA-256 of the row, never its content.
Since 0013 that hash covers the phone's keyed digest (``contact_phone_digest``) instead of the phone, so no leaf
can be searched for the number (a plain hash of a row would give it up to anyone trying the few hundred million
mobile numbers), and erasing it leaves the row's hash as it was. Complaints filed before 0013 hash the phone
itself: erasing it changes the row, so the erasure is logged either way, as a new leaf of the complaint
(``complaint.phone_erased``) with the row's hash after the erasure; the oversight check compares each row with
its newest leaf, so an erased complaint still verifies, and a phone cleared behind the service's back on such
a row (with no such leaf) is still ``row_altered``.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit.log import record_many
from api.domain.models import Complaint, ComplaintStatus

ERASED_ACTION = "complaint.phone_erased"
BATCH = 500
"""Complaints erased per transaction: a sweep never holds a long write lock."""


def erase_closed_complainant_phones(
    session: Session, *, now: datetime, days: int, actor_id: uuid.UUID | None = None, limit: int = BATCH
) -> int:
    """Erase the phone of up to ``limit`` complaints decided (resolved or dismissed) more than ``days`` days
    before ``now``; log each erasure. Returns how many were erased (callers repeat until 0)."""
    cutoff = now - timedelta(days=days)
    due = session.scalars(
        select(Complaint)
        .where(Complaint.status.in_((ComplaintStatus.RESOLVED, ComplaintStatus.DISMISSED)),
               Complaint.decided_at < cutoff, Complaint.contact_phone.is_not(None))
        .order_by(Complaint.decided_at, Complaint.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for complaint in due:
        complaint.contact_phone = None
    if due:
        record_many(session, due, ERASED_ACTION, actor_id=actor_id)
    return len(due)
