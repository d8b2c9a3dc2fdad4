"""When an auxiliary's credential was out of force (第二十三条 持证上岗; 第二十七条): the lapses, from each of their
credentials' entries in the transparency log and from each credential's last status change.

Field work reaches the service late (a phone offline for a day), so whether it was done with a valid
credential is a question about the moment it was done, not about now. A lapse begins when a credential is
suspended or revoked and ends when it is reinstated; a reissue (the old credential superseded, a new one
valid) is no lapse.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from api.domain.models import Credential, CredentialStatus, LogLeaf, LogPending
from api.domain.staff.status import STATUS_MOVES

LAPSED = frozenset({CredentialStatus.SUSPENDED, CredentialStatus.REVOKED})
# The status each logged action leaves a credential in, as staff/credentials.py and staff/status.py log them.
STATUS_AFTER: dict[str, CredentialStatus] = {
    "credential.issued": CredentialStatus.VALID,
    "credential.superseded": CredentialStatus.SUPERSEDED,
    **{action: after for _, after, action in (move.credential for move in STATUS_MOVES.values())},
}


@dataclass(frozen=True)
class Lapse:
    start: datetime
    end: datetime | None  # None: still out of force


@dataclass(frozen=True)
class CredentialHistory:
    issued: bool  # the auxiliary was ever issued a credential
    lapses: tuple[Lapse, ...]

    def lapsed_at(self, at: datetime) -> bool:
        return any(lapse.start <= at and (lapse.end is None or at < lapse.end) for lapse in self.lapses)

    def lapsed_after(self, at: datetime) -> bool:
        """A lapse began after ``at``: work done then was received after a suspension or revocation."""
        return any(lapse.start > at for lapse in self.lapses)


def _lapses(changes: Iterable[tuple[datetime, CredentialStatus]]) -> list[Lapse]:
    lapses: list[Lapse] = []
    start: datetime | None = None
    for at, status in sorted(changes, key=lambda change: change[0]):
        if status in LAPSED and start is None:
            start = at
        elif status == CredentialStatus.VALID and start is not None:
            lapses.append(Lapse(start, at))
            start = None
    if start is not None:
        lapses.append(Lapse(start, None))
    return lapses


def credential_history(session: Session, auxiliary_id: uuid.UUID) -> CredentialHistory:
    """Every lapse of every credential the auxiliary held. Two queries; read only for work that is not plainly
    within the current credential's validity (fieldwork/timing.py)."""
    credentials = session.execute(
        select(Credential.id, Credential.status, Credential.status_changed_at)
        .where(Credential.auxiliary_id == auxiliary_id)).all()
    changes: dict[str, list[tuple[datetime, CredentialStatus]]] = {
        str(cred_id): [(changed_at, CredentialStatus(status))] for cred_id, status, changed_at in credentials
    }
    if changes:
        entries = union_all(*(
            select(table.entity_id, table.action, table.at)
            .where(table.entity == Credential.__tablename__, table.entity_id.in_(changes),
                   table.action.in_(STATUS_AFTER))
            for table in (LogLeaf, LogPending)))
        for entity_id, action, at in session.execute(entries):
            changes[entity_id].append((at, STATUS_AFTER[action]))
    lapses = [lapse for credential in changes.values() for lapse in _lapses(credential)]
    return CredentialHistory(issued=bool(credentials), lapses=tuple(sorted(lapses, key=lambda lapse: lapse.start)))
