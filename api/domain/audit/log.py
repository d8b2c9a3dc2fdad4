"""The hash-chained audit log (第十条(三)): every write on a record of enforcement work is logged with a
hash of the row as written, each entry chained to the one before. ``verify_log`` re-hashes the rows as
they are now, so a row changed or removed behind the application's back, or a broken chain, shows.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session

from api.domain.base import Base, utcnow
from api.domain.models import AuditEntry

GENESIS = "0" * 64


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


def row_hash(row: Base) -> str:
    """SHA-256 of the row's columns as stored, in a canonical JSON form."""
    mapper = inspect(type(row))
    skip = getattr(type(row), "__audit_exclude__", ())
    content = {attr.key: _plain(getattr(row, attr.key), attr.columns[0])
               for attr in mapper.column_attrs if attr.key not in skip}
    blob = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _entry_hash(prev: str, seq_free: dict[str, Any]) -> str:
    blob = json.dumps(seq_free, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256((prev + blob).encode()).hexdigest()


def _entry_content(e: AuditEntry) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "actor_id": str(e.actor_id) if e.actor_id else None,
        "action": e.action,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "row_hash": e.row_hash,
    }


_LOCK_HELD = "auxduty_audit_lock"


def hold_chain_lock(session: Session) -> None:
    """Serialise appends to the chain, so two transactions never chain onto the same head.

    On PostgreSQL an advisory lock held to the end of the transaction, taken once per transaction; writers
    that also lock rows take it first, so every writer locks in the same order. SQLite's BEGIN IMMEDIATE
    already serialises writers.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get(_LOCK_HELD) is transaction:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
    session.info[_LOCK_HELD] = transaction


def record(session: Session, row: Base, action: str, *, actor_id: uuid.UUID | None) -> AuditEntry:
    """Append an entry for ``row`` as it is now. Flushes, so the row's defaults are hashed too."""
    return record_many(session, [row], action, actor_id=actor_id)[0]


def record_many(
    session: Session, rows: Sequence[Base], action: str, *, actor_id: uuid.UUID | None
) -> list[AuditEntry]:
    """Append one entry per row, chained in order, with one read of the head and one batched insert."""
    session.flush()
    hold_chain_lock(session)
    head = session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)) or GENESIS
    entries = []
    for row in rows:
        entry = AuditEntry(
            actor_id=actor_id,
            action=action,
            entity=type(row).__tablename__,
            entity_id=str(inspect(row).identity[0]),  # type: ignore[index]
            row_hash=row_hash(row),
            prev_hash=head,
        )
        entry.at = utcnow()
        entry.entry_hash = head = _entry_hash(entry.prev_hash, _entry_content(entry))
        entries.append(entry)
    session.add_all(entries)
    session.flush()
    return entries


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    entries: int
    head: str
    first_bad: dict[str, Any] | None = None


def _tables() -> dict[str, type[Base]]:
    return {m.class_.__tablename__: m.class_ for m in Base.registry.mappers}


def verify_log(session: Session) -> AuditReport:
    """Walk the chain in order, then compare every logged row's newest hash with the row as stored now."""
    prev = GENESIS
    latest: dict[tuple[str, str], AuditEntry] = {}
    count = 0
    for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000):
        count += 1
        if entry.prev_hash != prev or _entry_hash(prev, _entry_content(entry)) != entry.entry_hash:
            return AuditReport(False, count, prev, _bad(entry, "chain_broken"))
        prev = entry.entry_hash
        latest[(entry.entity, entry.entity_id)] = entry
    expected = session.scalar(select(func.count()).select_from(AuditEntry))
    if expected != count:
        return AuditReport(False, count, prev, {"reason": "entries_missing"})
    tables = _tables()
    for (entity, entity_id), entry in latest.items():
        model = tables[entity]
        pk_col = inspect(model).primary_key[0]
        key: Any = uuid.UUID(entity_id) if pk_col.type.python_type is uuid.UUID else entity_id
        row = session.get(model, key, populate_existing=True)
        if row is None:
            return AuditReport(False, count, prev, _bad(entry, "row_removed"))
        if row_hash(row) != entry.row_hash:
            return AuditReport(False, count, prev, _bad(entry, "row_altered"))
    return AuditReport(True, count, prev)


def _bad(entry: AuditEntry, reason: str) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "action": entry.action,
        "reason": reason,
    }
