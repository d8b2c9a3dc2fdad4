"""Switching accounts off and on (API.md, "Accounts"), and the co-signatures a deactivated officer leaves
waiting, which the agency hands to another officer (POST /api/tasks/{id}/reassign)."""

import uuid
from typing import Annotated, cast

from fastapi import APIRouter, Query
from sqlalchemy import Select, select

from api.deps import Admin, SessionDep
from api.domain.fieldwork.reassignment import count_pending_cosign, pending_cosign_query
from api.domain.fieldwork.tasks import bundle_tasks
from api.domain.models import Officer, Task, User
from api.domain.organisation.deactivation import deactivate_account, reactivate_account
from api.domain.pagination import paginate
from schemas.agencies import AccountRead
from schemas.common import Page
from schemas.tasks import TaskRead, task_read

router = APIRouter(prefix="/api", tags=["agencies"])


def _account(session: SessionDep, user: User) -> AccountRead:
    officer_id = session.scalar(select(Officer.id).where(Officer.user_id == user.id))
    return AccountRead(id=user.id, username=user.username, role=user.role, agency_id=user.agency_id, name=user.name,
                       active=user.active, officer_id=officer_id, pending_cosign=count_pending_cosign(session, user.id))


@router.post("/users/{user_id}/deactivate", response_model=AccountRead)
def deactivate_user(session: SessionDep, actor: Admin, user_id: uuid.UUID) -> AccountRead:
    """Switch an account off: it can no longer log in or refresh, and every login it has ends at once. The
    justice bureau, or an agency admin for the accounts of their own agency (403 `not_your_agency`). A
    deactivated officer is no longer available to direct work (a new record naming them is refused as
    officer_not_available, 第八条) nor to co-sign: `pending_cosign` counts the records still waiting for them, listed by
    `GET /api/users/{id}/pending-tasks`, each to be handed to another officer. 409 `cannot_deactivate_self`
    for one's own account, `account_already_inactive` for one switched off already, and
    `account_follows_departure` for an auxiliary's: it closes with their departure (第二十七条)."""
    return _account(session, deactivate_account(session, actor=actor, user_id=user_id))


@router.post("/users/{user_id}/reactivate", response_model=AccountRead)
def reactivate_user(session: SessionDep, actor: Admin, user_id: uuid.UUID) -> AccountRead:
    """Switch an account on again (the same admins as deactivation). Its old logins stay ended: the person
    logs in anew. 409 `account_already_active`, `cannot_deactivate_self`, `account_follows_departure`."""
    return _account(session, reactivate_account(session, actor=actor, user_id=user_id))


@router.get("/users/{user_id}/pending-tasks", response_model=Page[TaskRead])
def list_pending_tasks(
    session: SessionDep,
    actor: Admin,
    user_id: uuid.UUID,
    limit: Annotated[int | None, Query(ge=1)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[TaskRead]:
    """The records waiting for the co-signature of this officer's account, newest first (empty for an
    account that is not an officer's), so the agency can name another officer for each
    (`POST /api/tasks/{id}/reassign`). For the admins who may deactivate the account."""
    stmt = pending_cosign_query(session, actor=actor, user_id=user_id)
    rows, next_cursor = paginate(session, cast("Select[tuple[Task]]", stmt), created=Task.created_at, key=Task.id,
                                 limit=limit, cursor=cursor)
    return Page(items=[task_read(b) for b in bundle_tasks(session, rows)], next_cursor=next_cursor)
