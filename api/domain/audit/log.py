"""The writers' side of the transparency log (第十条(三)): every write of a record of enforcement work or of a
person's standing appends one leaf, in the same transaction as the write.

A leaf names the record (its table, its id), the action, who did it and when, the rule set it was judged by,
and the SHA-256 of the row as stored (``row_hash``): the record's content is in its table, and the leaf proves
what it was. Leaf bytes are canonical JSON (format ``v: 1``; keys sorted, UTF-8, no spaces), hashed as RFC 6962
leaves. Writers only INSERT into ``log_pending``: nothing shared is locked, so writers never queue on each
other; the integrator (``audit.tree``) gives each leaf its index.

Each leaf carries a MAC (HMAC-SHA256 of its leaf hash) under a key derived from the service's secret, which the
database never holds: the session that writes carries the key (``session.info[LEAF_KEY]``, set by the service's
session factory), and a leaf queued by anyone else is refused by the integrator and by the oversight check.
"""

import hashlib
import hmac
import json
import math
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache
from json.encoder import encode_basestring
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, inspect
from sqlalchemy.orm import Session

from api.domain.base import RULES_VERSION, Base, insert_rows, utcnow
from api.domain.models import (
    Agency,
    Article19Case,
    Assessment,
    Auxiliary,
    CaseNotice,
    Commendation,
    Complaint,
    ComplaintEvent,
    ComplaintPhoto,
    Contract,
    Cosignature,
    Credential,
    Evidence,
    LogPending,
    Officer,
    RectificationEvent,
    RectificationOrder,
    Sanction,
    ShiftEvent,
    Task,
    TaskReassignment,
    Training,
    User,
)
from verification.tlog import leaf_hash

LEAF_FORMAT = 1
LOGGED: dict[str, type[Base]] = {
    model.__tablename__: model
    for model in (Agency, User, Officer, Auxiliary, Training, Credential, ShiftEvent, Task, Cosignature, Evidence,
                  Article19Case, Complaint, ComplaintEvent, CaseNotice, ComplaintPhoto, Assessment, Contract,
                  Commendation, Sanction, TaskReassignment, RectificationOrder, RectificationEvent)
}
"""Every table whose rows are logged, by its plural resource name (the ``entity`` of a leaf). A row of one of
these with no leaf was written behind the service's back."""


_AS_IS = frozenset({str, float, bool, type(None)})


def _plain(value: Any, column: Any = None) -> Any:
    if type(value) in _AS_IS:  # most values, at once (the check hashes millions of rows)
        return value
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
    """SHA-256 of the row's columns as stored, in a canonical JSON form (``values_hash``). The values the row
    holds are read without the ORM's descriptor; any not loaded, through it."""
    loaded = row.__dict__
    return values_hash(type(row), {key: loaded[key] if key in loaded else getattr(row, key)
                                   for key, *_ in _hashed_columns(type(row))})


@cache
def hashed_columns(model: type[Base]) -> tuple[tuple[str, ColumnElement[Any]], ...]:
    """(attribute, column) of each column of ``model`` that its rows' hash may hold, in mapper order."""
    return tuple((key, column) for key, column, *_ in _hashed_columns(model))


@cache
def _hashed_columns(model: type[Base]) -> tuple[tuple[str, Any, bool, str | None], ...]:
    """``hashed_columns`` with, for each, whether it is late and the column holding its keyed digest. Worked out
    once per model: a sync batch hashes hundreds of rows, the log check millions."""
    skip = getattr(model, "__audit_exclude__", ())
    late = getattr(model, "__audit_late__", ())
    keyed: dict[str, str] = getattr(model, "__audit_keyed__", {})
    return tuple((attr.key, attr.columns[0], attr.key in late, keyed.get(attr.key))
                 for attr in inspect(model).column_attrs if attr.key not in skip)


def values_hash(model: type[Base], values: Mapping[Any, Any]) -> str:
    """SHA-256 of a row of ``model`` given as its column values by attribute (as a Core select of
    ``hashed_columns`` reads them, or an ORM object holds them), in a canonical JSON form.

    A model's ``__audit_exclude__`` columns are never hashed (running counts). Its ``__audit_late__`` columns,
    added to a logged table after rows were logged, are hashed only when they hold a value: a row logged before
    the column existed still hashes as it did, and any value written into it later is a change the check sees.
    Its ``__audit_keyed__`` columns (personal data that may be erased, such as a complainant's phone) are left
    out wherever the row holds their keyed digest in the column they name: the digest is hashed instead, so
    the row's hash, and the leaves that carry it, cannot be searched for the value (a phone number has too
    few possibilities for a plain hash to hide it), and erasing the value changes nothing that was logged.
    """
    parts = []
    for key, label, column, late, digest_key, as_float in _hash_plan(model):
        value = values[key]
        if (value is None and late) or (digest_key is not None and values[digest_key] is not None):
            continue
        parts.append(label + _value_text(value, column, as_float))
    # ``canonical`` of the columns' plain values, written here a column at a time: the same bytes without a dict
    # and a dump of it per row (a sync batch hashes hundreds of rows, the log check millions).
    return hashlib.sha256(("{" + ",".join(parts) + "}").encode()).hexdigest()


def _value_text(value: Any, column: Any, as_float: bool) -> str:
    text = _JSON_TEXT.get(type(value))
    if text is None or (as_float and type(value) is int):
        return json.dumps(_plain(value, column), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text(value)


def values_hashes(model: type[Base], rows: Sequence[Mapping[Any, Any]]) -> list[str]:
    """``values_hash`` of each of many rows of ``model``. A column whose value is the same object in every row
    (a batch's recorder, agency and rules version; None where no row has a value) is written once for all of
    them, and runs of such columns as one piece of text: a row then costs only the columns it has of its own."""
    if len(rows) < 2:
        return [values_hash(model, row) for row in rows]
    first = rows[0]
    shared = {key for key, *_ in _hashed_columns(model) if all(row[key] is first[key] for row in rows)}
    pieces: list[str | tuple[str, str, Any, bool, str | None, bool]] = []
    run: list[str] = []
    for entry in _hash_plan(model):
        key, label, column, late, digest_key, as_float = entry
        if key in shared and (digest_key is None or digest_key in shared):
            value = first[key]
            if not ((value is None and late) or (digest_key is not None and first[digest_key] is not None)):
                run.append(label + _value_text(value, column, as_float))
            continue
        if run:
            pieces.append(",".join(run))
            run = []
        pieces.append(entry)
    if run:
        pieces.append(",".join(run))
    hashes = []
    for values in rows:
        parts = []
        for piece in pieces:
            if isinstance(piece, str):
                parts.append(piece)
                continue
            key, label, column, late, digest_key, as_float = piece
            value = values[key]
            if not ((value is None and late) or (digest_key is not None and values[digest_key] is not None)):
                parts.append(label + _value_text(value, column, as_float))
        hashes.append(hashlib.sha256(("{" + ",".join(parts) + "}").encode()).hexdigest())
    return hashes


@cache
def _hash_plan(model: type[Base]) -> tuple[tuple[str, str, Any, bool, str | None, bool], ...]:
    """``_hashed_columns`` in the order ``canonical`` writes them (sorted by name), each with its ``"name":`` and
    whether it holds floats (an int written to it is hashed as the float the database returns)."""
    plan = []
    for key, column, late, digest_key in _hashed_columns(model):
        try:
            as_float = column.type.python_type is float
        except NotImplementedError:
            as_float = False
        plan.append((key, encode_basestring(key) + ":", column, late, digest_key, as_float))
    return tuple(sorted(plan, key=lambda entry: entry[0]))


def _float_text(value: float) -> str:
    return float.__repr__(value) if math.isfinite(value) else json.dumps(value)


def _instant_text(value: datetime) -> str:
    return '"' + (value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()) + '"'


_JSON_TEXT: dict[type, Callable[[Any], str]] = {
    # A value of these exact types as json.dumps writes ``_plain`` of it; any other goes through both. Their
    # text (digits, hex, ISO 8601) needs no escaping.
    str: encode_basestring,
    type(None): lambda _: "null",
    bool: lambda value: "true" if value else "false",
    int: int.__repr__,
    float: _float_text,
    uuid.UUID: lambda value: '"' + str(value) + '"',
    datetime: _instant_text,
    date: lambda value: '"' + value.isoformat() + '"',
    bytes: lambda value: '"' + hashlib.sha256(value).hexdigest() + '"',
}


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


LEAF_KEY = "auxduty_log_leaf_key"
"""Where a session carries the leaf MAC key (``Session.info``)."""


class LeafKeyMissing(RuntimeError):
    """A session that writes records was made without the leaf MAC key (a programming error, not a user's)."""


def derive_leaf_key(secret: str) -> bytes:
    """The leaf MAC key, from the service's secret (``AUXDUTY_SECRET_KEY``, the same on every host)."""
    return hmac.new(secret.encode(), b"auxduty/log-leaf-mac/v1", hashlib.sha256).digest()


def leaf_key(session: Session) -> bytes:
    key = session.info.get(LEAF_KEY)
    if not isinstance(key, bytes) or len(key) != 32:
        raise LeafKeyMissing("this session has no leaf MAC key: make it with api.db.make_sessionmaker")
    return key


def personal_digest(key: bytes, column: str, value: str) -> str:
    """The keyed digest of personal data that a logged row keeps beside it (``__audit_keyed__``) and the log
    hashes instead of it: the same on every host (``key`` is the leaf key), useless for guessing the value
    without the service's secret. ``column``: ``table.column``, so one value digests apart in two places."""
    return hmac.new(key, f"auxduty/{column}/v1\0{value}".encode(), hashlib.sha256).hexdigest()


def keyed_values_hold(row: Base, key: bytes) -> bool:
    """Whether each keyed value still present matches the digest the log hashed in its place: the value itself
    is not in the row's hash, so this is how a change of it behind the service's back is seen."""
    keyed: dict[str, str] = getattr(type(row), "__audit_keyed__", {})
    return keyed_values_match(type(row), {c: getattr(row, c) for pair in keyed.items() for c in pair}, key)


def keyed_values_match(model: type[Base], values: Mapping[Any, Any], key: bytes) -> bool:
    """``keyed_values_hold`` of a row given as its column values by attribute."""
    keyed: dict[str, str] = getattr(model, "__audit_keyed__", {})
    for column, digest_column in keyed.items():
        value, digest = values[column], values[digest_column]
        if value is not None and digest is not None and not hmac.compare_digest(
                personal_digest(key, f"{model.__tablename__}.{column}", str(value)), str(digest)):
            return False
    return True


def leaf_mac(key: bytes, digest: bytes) -> bytes:
    return hmac.digest(key, bytes(digest), "sha256")  # HMAC-SHA256 in one call, without an HMAC object


def genuine(key: bytes, leaf: bytes, digest: bytes, mac: bytes | None) -> bool:
    """The leaf's bytes hash to its hash, and its MAC is the service's."""
    return mac is not None and leaf_hash(bytes(leaf)) == bytes(digest) and hmac.compare_digest(
        bytes(mac), leaf_mac(key, digest))


def record(session: Session, row: Base, action: str, *, actor_id: uuid.UUID | None) -> None:
    """Append a leaf for ``row`` as it is now. Flushes, so the row's defaults are hashed too."""
    record_many(session, [row], action, actor_id=actor_id)


def record_many(session: Session, rows: Sequence[Base], action: str, *, actor_id: uuid.UUID | None) -> None:
    """Append one leaf per row, in order, with one batched insert. The leaves are written, not kept as objects
    of the session: the ORM would read each one's ``seq`` back, one statement a leaf on SQLite."""
    record_each(session, [(row, action) for row in rows], actor_id=actor_id)


def record_each(session: Session, done: Sequence[tuple[Base, str]], *, actor_id: uuid.UUID | None) -> None:
    """``record_many`` for rows that each had their own action (a suspension: the credential's and the
    person's), in order: one flush and one insert for all of them."""
    session.flush()
    _append(session, [(type(row).__tablename__, row_key(row), row_hash(row),
                       getattr(row, "rules_version", RULES_VERSION), action) for row, action in done],
            actor_id=actor_id)


def record_stored(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], action: str, *,
                  actor_id: uuid.UUID | None) -> None:
    """``record_many`` for rows inserted as plain values (every column by attribute, as stored, the key ``id``),
    with no ORM object: the same leaves, byte for byte, as for objects holding those values."""
    insert_rows(session, cast(Table, LogPending.__table__),
                stored_leaves(session, model, rows, action, actor_id=actor_id), typed=True)


def stored_leaves(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]], action: str, *,
                  actor_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The ``log_pending`` rows ``record_stored`` inserts, for a caller that inserts them with the rows they
    log, in one statement."""
    entity = model.__tablename__
    return _leaves(session, [(entity, str(row["id"]), digest, row.get("rules_version", RULES_VERSION), action)
                             for row, digest in zip(rows, values_hashes(model, rows), strict=True)],
                   actor_id=actor_id)


def _append(session: Session, named: Sequence[tuple[str, str, str, str, str]], *,
            actor_id: uuid.UUID | None) -> None:
    """The leaves of (entity, entity id, row hash, rules version, action), in order, with one batched insert."""
    insert_rows(session, cast(Table, LogPending.__table__), _leaves(session, named, actor_id=actor_id), typed=True)


def _leaves(session: Session, named: Sequence[tuple[str, str, str, str, str]], *,
            actor_id: uuid.UUID | None) -> list[dict[str, Any]]:
    """The ``log_pending`` rows of (entity, entity id, row hash, rules version, action), in order. Every leaf of
    one append shares its actor and instant: the bytes of leaves of one entity, rules version and action around
    the id and the row hash are worked out once (``_leaf_frame``), not by a JSON dump a leaf."""
    at, key = utcnow(), leaf_key(session)
    frames: dict[tuple[str, str, str], tuple[bytes, bytes, bytes]] = {}
    entries = []
    for entity, entity_id, digest, rules_version, action in named:
        frame = frames.get((entity, rules_version, action))
        if frame is None:
            frame = frames[entity, rules_version, action] = _leaf_frame(
                entity=entity, action=action, at=at, actor_id=actor_id, rules_version=rules_version)
        head, middle, tail = frame
        leaf = b"".join((head, _json_text(entity_id), middle, _json_text(digest), tail))
        hashed = leaf_hash(leaf)
        entries.append({"leaf": leaf, "leaf_hash": hashed, "entity": entity, "entity_id": entity_id,
                        "action": action, "row_hash": digest, "at": at, "mac": leaf_mac(key, hashed)})
    return entries


_ID, _ROW = "\0id\0", "\0row\0"  # stand-ins no id or digest can be: the leaf is cut where they stand


def _leaf_frame(*, entity: str, action: str, at: datetime, actor_id: uuid.UUID | None, rules_version: str
                ) -> tuple[bytes, bytes, bytes]:
    """``leaf_content``'s bytes before the id, between the id and the row hash, and after it, for leaves that
    differ only in those two: the leaf is ``head + id + middle + row hash + tail``, each value as JSON."""
    whole = leaf_content(entity=entity, entity_id=_ID, action=action, row_sha256=_ROW, at=at, actor_id=actor_id,
                         rules_version=rules_version)
    head, rest = whole.split(_json_text(_ID))
    middle, tail = rest.split(_json_text(_ROW))
    return head, middle, tail


def _json_text(text: str) -> bytes:
    """A string as ``canonical`` writes it (the JSON encoder's own function)."""
    return encode_basestring(text).encode()


KEY_ENTITIES = ("badge_keys", "log_keys")
"""Key rotations are logged too: the leaf names the key and hashes its public form (no table holds keys)."""


def record_key(session: Session, *, entity: str, key_id: str, public_key: bytes, action: str,
               actor_id: uuid.UUID | None = None) -> LogPending:
    if entity not in KEY_ENTITIES:
        raise ValueError(f"not a key entity: {entity}")
    at, digest = utcnow(), hashlib.sha256(public_key).hexdigest()
    leaf = leaf_content(entity=entity, entity_id=key_id, action=action, row_sha256=digest, at=at,
                        actor_id=actor_id)
    hashed = leaf_hash(leaf)
    entry = LogPending(leaf=leaf, leaf_hash=hashed, entity=entity, entity_id=key_id, action=action,
                       row_hash=digest, at=at, mac=leaf_mac(leaf_key(session), hashed))
    session.add(entry)
    session.flush()
    return entry
