"""Keyset pagination: ``?limit=&cursor=`` over (created_at, id), stable while rows are appended."""

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from api.domain.errors import DomainError

MAX_LIMIT = 200


def clamp_limit(limit: int | None) -> int:
    return max(1, min(limit or 50, MAX_LIMIT))


def _bad_cursor() -> DomainError:
    return DomainError("invalid_cursor", "分页游标无效", "cursor is not one this service gave out")


def paginate(
    session: Session,
    stmt: Select[Any],
    *,
    created: InstrumentedAttribute[datetime],
    key: InstrumentedAttribute[Any],
    limit: int | None,
    cursor: str | None,
) -> tuple[Sequence[Any], str | None]:
    """Newest first. Returns one page and the cursor for the next, or None at the end."""
    size = clamp_limit(limit)
    if cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=="))
            # A cursor is decoded from what the client sent: anything but the two strings we gave out is junk.
            if not (isinstance(raw, list) and len(raw) == 2 and all(isinstance(part, str) for part in raw)):
                raise _bad_cursor()
            at, last = datetime.fromisoformat(raw[0]), uuid.UUID(raw[1])
            if at.tzinfo is None:
                raise _bad_cursor()
            at = at.astimezone(UTC)
        except (ValueError, OverflowError, binascii.Error):
            raise _bad_cursor() from None
        stmt = stmt.where(or_(created < at, and_(created == at, key < last)))
    rows = session.scalars(stmt.order_by(created.desc(), key.desc()).limit(size + 1)).all()
    if len(rows) <= size:
        return rows, None
    page = rows[:size]
    tail = page[-1]
    token = json.dumps([getattr(tail, created.key).isoformat(), str(getattr(tail, key.key))])
    return page, base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
