"""Keeping account of reads of personal data at the edge (第十条(一); the rule is api/domain/privacy/reads.py).

A route that shows someone's record calls ``log_personal_reads`` once it has read what it shows. The read's own
transaction is then ended and the account written in a short transaction of its own on the same session,
committed by the request as usual. Why not in the read's transaction: a GET's transaction on SQLite begins
DEFERRED so reads never queue behind writers; an INSERT in it would turn the whole read into a writer, and one
whose snapshot may be stale (SQLITE_BUSY_SNAPSHOT, which no busy timeout cures). Why not after the response
(a background task, like a dead badge scan): the account must not miss a read that was served, so a read that
cannot be recorded is not served. Why the same session: a second connection per request could starve the
pool that the database slots are sized to (api/capacity.py).
"""

import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from api.db import READ_ONLY
from api.domain.models import User
from api.domain.privacy.reads import record_reads
from api.domain.privacy_tables import ReadKind
from api.observability import current_request_id


def log_personal_reads(
    session: Session,
    user: User,
    kind: ReadKind,
    record_ids: Iterable[uuid.UUID | None],
    *,
    agency_id: uuid.UUID | None = None,
    year: int | None = None,
    format: str | None = None,
    row_count: int | None = None,
) -> None:
    ids = list(record_ids)
    if not ids:
        return
    if session.in_transaction() and session.connection().get_execution_options().get(READ_ONLY, False):
        session.commit()  # the read is over; what follows is a write transaction (BEGIN IMMEDIATE on SQLite)
    record_reads(session, user=user, kind=kind, record_ids=ids, request_id=current_request_id(),
                 agency_id=agency_id, year=year, format=format, row_count=row_count)
