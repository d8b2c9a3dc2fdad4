"""An auxiliary's status on a given day, for filings that speak of a day gone by (第十二条: the December roster).

The row holds only the status of today; the transparency log holds every move of it, each leaf naming the
auxiliary, the action and when it was recorded. The status at the end of ``day`` (Beijing time) is:

1. ``departed`` if ``left_on`` is on or before ``day``. A departure counts from the day the person left, as
   the agency recorded it, not from the day it was recorded: someone recorded in December as leaving on
   15 January was still employed on 31 December, and someone recorded in January as having left on
   20 December was not.
2. Otherwise the status set by the last move logged at or before the end of ``day``: hired → pending
   training, credential issued → active, suspended, reinstated → active (departures aside, see 1).
3. Otherwise (nothing logged by then: a record entered later with an earlier ``hired_on``, or rows that came
   without their history) the status the row holds now; for someone who has departed since, the last status
   logged before the departure, or ``active`` when none was.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlalchemy import literal_column, select, union_all
from sqlalchemy.orm import Session

from api.domain.base import BEIJING, among
from api.domain.models import Auxiliary, AuxiliaryStatus, LogLeaf, LogPending

STATUS_SET_BY: dict[str, AuxiliaryStatus] = {
    "auxiliary.hired": AuxiliaryStatus.PENDING_TRAINING,
    "auxiliary.activated": AuxiliaryStatus.ACTIVE,  # the credential's issue (第二十三条)
    "auxiliary.suspended": AuxiliaryStatus.SUSPENDED,
    "auxiliary.reinstated": AuxiliaryStatus.ACTIVE,
}
"""The log's actions that move an auxiliary's status (api/domain/staff/status.py, credentials.py, hiring.py)."""


def end_of(day: date) -> datetime:
    """The first instant after ``day`` in Beijing, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(), BEIJING).astimezone(UTC)


def _moves(session: Session, keys: Sequence[str]) -> Iterable[tuple[str, str, datetime]]:
    """(auxiliary id as the log writes it, action, when), from the log's leaves and its queue, oldest first: one
    statement however many people (a roster of thousands), and a leaf the integrator moves from the queue to
    the tree meanwhile is seen once."""
    if not keys:
        return []
    parts = [
        select(table.entity_id.label("entity_id"), table.action.label("action"), table.at.label("at"))
        .where(table.entity == Auxiliary.__tablename__, among(session, table.entity_id, keys),
               table.action.in_(STATUS_SET_BY))
        for table in (LogLeaf, LogPending)
    ]
    both = union_all(*parts).subquery()
    return session.execute(select(both.c.entity_id, both.c.action, both.c.at).order_by(literal_column("at")))


def _aware(value: datetime | str) -> datetime:
    # A union's column bypasses the column type on SQLite: a naive UTC value, or its text.
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


class Standing(Protocol):
    """What the rule reads of a person besides the log: an ``Auxiliary``, or a roster's plain row of one."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def status(self) -> str: ...
    @property
    def left_on(self) -> date | None: ...


def statuses_on(session: Session, auxiliaries: Sequence[Standing], day: date) -> dict[uuid.UUID, AuxiliaryStatus]:
    """Each auxiliary's status at the end of ``day`` (the rule in this module's docstring)."""
    cutoff = end_of(day)
    before: dict[uuid.UUID, AuxiliaryStatus] = {}
    latest: dict[uuid.UUID, AuxiliaryStatus] = {}
    ids = {str(a.id): a.id for a in auxiliaries}  # the log's text of each id, looked up rather than parsed back
    for entity_id, action, at in _moves(session, list(ids)):
        aux_id = ids[entity_id]
        latest[aux_id] = STATUS_SET_BY[action]
        if _aware(at) < cutoff:
            before[aux_id] = STATUS_SET_BY[action]
    statuses: dict[uuid.UUID, AuxiliaryStatus] = {}
    for aux in auxiliaries:
        if aux.left_on is not None and aux.left_on <= day:
            statuses[aux.id] = AuxiliaryStatus.DEPARTED
        elif aux.id in before:
            statuses[aux.id] = before[aux.id]
        elif aux.status != AuxiliaryStatus.DEPARTED:
            statuses[aux.id] = AuxiliaryStatus(aux.status)
        else:
            statuses[aux.id] = latest.get(aux.id, AuxiliaryStatus.ACTIVE)
    return statuses
