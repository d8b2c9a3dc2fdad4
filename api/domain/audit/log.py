"""The writers' side of the transparency log (第十条(三)): every write of a record of enforcement work or of a
person's standing appends one leaf, in the same transaction as the write.

A leaf names the record (its table, its id), the action, who did it and when, the rule set it was judged by,
and the SHA-256 of the row as stored (``row_hash``): the record's content is in its table, and the leaf proves
what it was. Leaf bytes are canonical JSON (format ``v: 1``; keys sorted, UTF-8, no spaces), hashed as RFC 6962
leaves. Writers only INSERT into ``log_pending``: nothing shared is locked, so writers never queue on each
other; the integrator (``audit.tree``) gives each leaf its index.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from api.domain.base import RULES_VERSION, Base, utcnow
from api.domain.models import (
    Agency,
    Article19Case,
    Auxiliary,
    CaseNotice,
    Complaint,
    ComplaintEvent,
    Cosignature,
    Credential,
    Evidence,
    LogPending,
    Officer,
    ShiftEvent,
    Task,
    Training,
    User,
)
from verification.tlog import leaf_hash

LEAF_FORMAT = 1
LOGGED: dict[str, type[Base]] = {
    model.__tablename__: model
    for model in (Agency, User, Officer, Auxiliary, Training, Credential, ShiftEvent, Task, Cosignature, Evidence,
                  Article19Case, Complaint, ComplaintEvent, CaseNotice)
}
"""Every table whose rows are logged, by its plural resource name (the ``entity`` of a leaf). A row of one of
these with no leaf was written behind the service's back."""


def _plain(value: Any, column: Any = None) -> Any:
    # An int written to a float column reads back as a float: hash what the database will return.
    if isinstance(value, int) and not isinstance(value, bool) and column is not None:
        try:
            if column.type.python_type is float:
                return float(value)
        except NotImplementedError:
            pass
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return hashlib.sha256(value).hexdigest()
    return value


def canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def row_hash(row: Base) -> str:
    """SHA-256 of the row's columns as stored, in a canonical JSON form."""
    mapper = inspect(type(row))
    skip = getattr(type(row), "__audit_exclude__", ())
    content = {attr.key: _plain(getattr(row, attr.key), attr.columns[0])
               for attr in mapper.column_attrs if attr.key not in skip}
    return hashlib.sha256(canonical(content)).hexdigest()


def row_key(row: Base) -> str:
    return str(inspect(row).identity[0])  # type: ignore[index]


def leaf_content(*, entity: str, entity_id: str, action: str, row_sha256: str, at: datetime,
                 actor_id: uuid.UUID | None, rules_version: str = RULES_VERSION) -> bytes:
    return canonical({
        "v": LEAF_FORMAT,
        "entity": entity,
        "id": entity_id,
        "action": action,
        "row_sha256": row_sha256,
        "at": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "actor": str(actor_id) if actor_id else None,
        "rules_version": rules_version,
    })


def record(session: Session, row: Base, action: str, *, actor_id: uuid.UUID | None) -> LogPending:
    """Append a leaf for ``row`` as it is now. Flushes, so the row's defaults are hashed too."""
    return record_many(session, [row], action, actor_id=actor_id)[0]


def record_many(
    session: Session, rows: Sequence[Base], action: str, *, actor_id: uuid.UUID | None
) -> list[LogPending]:
    """Append one leaf per row, in order, with one batched insert."""
    session.flush()
    at = utcnow()
    entries = []
    for row in rows:
        entity, entity_id, digest = type(row).__tablename__, row_key(row), row_hash(row)
        leaf = leaf_content(entity=entity, entity_id=entity_id, action=action, row_sha256=digest, at=at,
                            actor_id=actor_id, rules_version=getattr(row, "rules_version", RULES_VERSION))
        entries.append(LogPending(leaf=leaf, leaf_hash=leaf_hash(leaf), entity=entity, entity_id=entity_id,
                                  action=action, row_hash=digest, at=at))
    session.add_all(entries)
    session.flush()
    return entries


KEY_ENTITIES = ("badge_keys", "log_keys")
"""Key rotations are logged too: the leaf names the key and hashes its public form (no table holds keys)."""


def record_key(session: Session, *, entity: str, key_id: str, public_key: bytes, action: str,
               actor_id: uuid.UUID | None = None) -> LogPending:
    if entity not in KEY_ENTITIES:
        raise ValueError(f"not a key entity: {entity}")
    at, digest = utcnow(), hashlib.sha256(public_key).hexdigest()
    leaf = leaf_content(entity=entity, entity_id=key_id, action=action, row_sha256=digest, at=at,
                        actor_id=actor_id)
    entry = LogPending(leaf=leaf, leaf_hash=leaf_hash(leaf), entity=entity, entity_id=key_id, action=action,
                       row_hash=digest, at=at)
    session.add(entry)
    session.flush()
    return entry
