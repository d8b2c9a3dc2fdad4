"""Telling an officer that records wait for their co-signature (第八条): what to send to which of their browsers
when assisted records come to wait for them (recorded, synced, corrected, or handed to them by their agency).

One message per officer and occasion, naming the newest of the records and how many wait for them in all; it
goes only to the browsers of an active account, and not past a browser's own expiry. The message is encrypted
to the browser (RFC 8291): the push service that carries it cannot read the auxiliary's name in it.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.domain.duties import DUTY_BY_CODE
from api.domain.models import Auxiliary, Officer, PushSubscription, Task, TaskStatus, User

QUEUE_URL = "/app/#/queue"


@dataclass(frozen=True)
class Notice:
    """One message to one browser."""

    subscription_id: uuid.UUID
    endpoint: str
    p256dh: str
    auth: str
    payload: dict[str, Any]


def cosign_pending_notices(session: Session, task_ids: Sequence[uuid.UUID], *, now: datetime) -> list[Notice]:
    """The messages for the officers named by those of ``task_ids`` that still wait for a co-signature: three
    queries, and one more only when someone is to be told."""
    rows = session.execute(
        select(Task.id, Task.category, Task.officer_id, Auxiliary.name, Officer.user_id)
        .join(Auxiliary, Auxiliary.id == Task.auxiliary_id)
        .join(Officer, Officer.id == Task.officer_id)
        .join(User, User.id == Officer.user_id)
        .where(Task.id.in_(list(task_ids)), Task.status == TaskStatus.PENDING_COSIGN, User.active.is_(True))
    ).all()
    if not rows:
        return []
    browsers: dict[uuid.UUID, list[PushSubscription]] = {}
    for sub in session.scalars(
        select(PushSubscription)
        .where(PushSubscription.user_id.in_({r.user_id for r in rows}),
               or_(PushSubscription.expires_at.is_(None), PushSubscription.expires_at > now))
        .order_by(PushSubscription.updated_at)
    ):
        browsers.setdefault(sub.user_id, []).append(sub)
    rows = [r for r in rows if r.user_id in browsers]
    if not rows:
        return []
    officers = {r.officer_id for r in rows}
    pending = {officer_id: int(count) for officer_id, count in session.execute(
        select(Task.officer_id, func.count()).where(Task.officer_id.in_(officers),
                                                    Task.status == TaskStatus.PENDING_COSIGN)
        .group_by(Task.officer_id))}
    order = {task_id: i for i, task_id in enumerate(task_ids)}
    by_officer: dict[uuid.UUID, list[Any]] = {}
    for row in sorted(rows, key=lambda r: order[r.id]):
        by_officer.setdefault(row.officer_id, []).append(row)
    notices = []
    for officer_id, tasks in by_officer.items():
        newest = tasks[-1]
        payload = {
            "type": "cosign_pending",
            "task_id": str(newest.id),
            "category": newest.category,
            "category_name": DUTY_BY_CODE[newest.category].name_zh,
            "auxiliary_name": newest.name,
            "pending": pending.get(officer_id, 0),
            "task_ids": [str(t.id) for t in tasks],
            "url": QUEUE_URL,
        }
        notices += [Notice(sub.id, sub.endpoint, sub.p256dh, sub.auth, payload) for sub in browsers[newest.user_id]]
    return notices
