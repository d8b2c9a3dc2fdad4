"""Reads of personal data, kept for the justice bureau (第十条(一): auxiliaries keep confidential the personal
information they learn; the service keeps account of who was shown whose).

Every time an auxiliary's record, standing, ID photo or badge card, a complainant's phone number or photo, or a
roster export is shown to someone, one row per record shown is appended to ``personal_data_reads``: the account and
its role, the kind and the record's id (for a roster: agency, year, format and how many rows), the time, and the
request id of the logs. Never the data itself, so the account of reads is not one more copy of what it protects.

Reads are not leaves of the transparency log (第十条(三)). They are many (every list page, every desk
refresh) and would swamp the log that proves the records of enforcement work; they are not records of work or
standing but an account of access to them; and the table is already append-only in the database (triggers
on both backends, and the service's role may only SELECT and INSERT it), which is what oversight of reads
needs: nobody running the service can quietly remove a read from the account.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.base import utcnow
from api.domain.models import User
from api.domain.pagination import paginate
from api.domain.privacy_tables import PersonalDataRead, ReadKind


def record_reads(
    session: Session,
    *,
    user: User,
    kind: ReadKind,
    record_ids: Iterable[uuid.UUID | None],
    request_id: str | None,
    agency_id: uuid.UUID | None = None,
    year: int | None = None,
    format: str | None = None,
    row_count: int | None = None,
) -> list[PersonalDataRead]:
    """Append one read per record shown, all at the same instant."""
    at = utcnow()
    rows = [
        PersonalDataRead(read_at=at, user_id=user.id, role=user.role, kind=kind, record_id=record_id,
                         agency_id=agency_id, year=year, format=format, row_count=row_count,
                         request_id=request_id)
        for record_id in record_ids
    ]
    session.add_all(rows)
    session.flush()
    return rows


def list_reads(
    session: Session,
    *,
    user_id: uuid.UUID | None,
    kind: ReadKind | None,
    since: datetime | None,
    limit: int | None,
    cursor: str | None,
) -> tuple[Sequence[PersonalDataRead], str | None]:
    """Reads, newest first, by one account, of one kind, or from an instant on. Who may list them is the
    route's to say (the justice bureau only)."""
    stmt = select(PersonalDataRead)
    if user_id is not None:
        stmt = stmt.where(PersonalDataRead.user_id == user_id)
    if kind is not None:
        stmt = stmt.where(PersonalDataRead.kind == kind)
    if since is not None:
        stmt = stmt.where(PersonalDataRead.read_at >= since)
    return paginate(session, stmt, created=PersonalDataRead.read_at, key=PersonalDataRead.id, limit=limit,
                    cursor=cursor)
