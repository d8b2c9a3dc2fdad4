"""Reads of personal data (第十条(一)): the justice bureau's account of who was shown whose record."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import JusticeAdmin, SessionDep
from api.domain.privacy.reads import list_reads
from api.domain.privacy_tables import ReadKind
from schemas.common import Instant, Page
from schemas.privacy import PersonalDataReadItem

router = APIRouter(prefix="/api", tags=["oversight"])


@router.get("/personal-data-reads", response_model=Page[PersonalDataReadItem])
def list_personal_data_reads(
    session: SessionDep,
    _user: JusticeAdmin,
    user_id: Annotated[uuid.UUID | None, Query(description="only this account's reads")] = None,
    kind: Annotated[ReadKind | None, Query(description="only reads of this kind")] = None,
    since: Annotated[Instant | None, Query(description="only reads at or after this instant (RFC 3339)")] = None,
    limit: Annotated[int | None, Query(ge=1, description="page size; values above 200 are clamped")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[PersonalDataReadItem]:
    """Every read of personal data, newest first, for the justice bureau only (403 `role_not_allowed` for anyone else):
    each time an auxiliary's record (alone or in the list), standing, ID photo or printed badge card, a
    complainant's phone number or photo, or a roster export was shown, who was shown it (account and role), what
    (`kind` and `record_id`; for a roster the agency, year, format and row count), when, and the request id of the
    service's logs. The data itself is never in it. Kept append-only: nobody can remove a read from it."""
    rows, next_cursor = list_reads(session, user_id=user_id, kind=kind, since=since, limit=limit, cursor=cursor)
    return Page(items=[PersonalDataReadItem.model_validate(r) for r in rows], next_cursor=next_cursor)
