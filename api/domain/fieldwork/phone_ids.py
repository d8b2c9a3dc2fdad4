"""Records made on the phone carry an id made on the phone, and the phone may send them many times.

Offline sync: the same id with the same content is the same record (answered as a duplicate, never stored
twice); the same id with other content, or an id that belongs to someone else, is refused as
``id_conflict``. A read first answers the usual retry cheaply, but the primary key decides: two identical
retries that arrive together both insert, one wins, and the loser re-reads the winner's row.
"""

import hashlib
import json
import math
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from json.encoder import encode_basestring
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnDefault, CompoundSelect, Select, Table, bindparam, insert, inspect, select, union_all
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, make_transient_to_detached

from api.domain.audit.log import record_stored, stored_leaves
from api.domain.base import insert_rows
from api.domain.errors import Conflict
from api.domain.log_tables import LogPending
from api.domain.models import (
    ShiftEvent,
    Task,
)

PhoneRow = TypeVar("PhoneRow", Task, ShiftEvent)
_AS_IS = frozenset({str, int, float, bool, type(None)})


def _canonical(value: Any) -> Any:
    if type(value) in _AS_IS:  # most of a record: no isinstance checks (Mapping's is slow) for them
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_hash(payload: Mapping[str, Any]) -> str:
    """SHA-256 of the client's payload as canonical JSON, instants in UTC: the same record sent from a
    phone in +08:00 and replayed through a proxy in Z hashes the same."""
    return hashlib.sha256(_json_text(payload).encode()).hexdigest()


def _json_text(value: Any) -> str:
    """``json.dumps(_canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))``, written
    directly for what a record holds (a sync batch hashes hundreds): the same text, without the copy."""
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if value is None:
        return "null"
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    if kind is datetime:
        return '"' + cast(datetime, value).astimezone(UTC).isoformat() + '"'
    if kind is uuid.UUID:
        return '"' + str(value) + '"'
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is dict:
        labelled = _labelled(tuple(value))
        if labelled is not None:
            return "{" + ",".join([label + _json_text(value[k]) for k, label in labelled]) + "}"
        items = {str(k): v for k, v in value.items()}
        if len(items) == len(value):  # else keys that read alike: left to the dump below
            return "{" + ",".join(encode_basestring(k) + ":" + _json_text(items[k]) for k in sorted(items)) + "}"
    return json.dumps(_canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@lru_cache(maxsize=64)
def _labelled(keys: tuple[Any, ...]) -> tuple[tuple[str, str], ...] | None:
    """Each key of a dict keyed by text with its ``"key":``, in the order the dump sorts them; None for other
    keys. Worked out once per set of keys: every record of a kind has the same (a batch hashes hundreds)."""
    if not all(type(k) is str for k in keys):
        return None
    return tuple((k, encode_basestring(k) + ":") for k in sorted(keys))


def id_conflict() -> Conflict:
    return Conflict(
        "id_conflict",
        "该记录编号已被另一条内容不同的记录使用",
        "this record id is already used by a record with other content",
    )


def same_or_conflict(existing: PhoneRow, *, auxiliary_id: uuid.UUID, digest: str) -> PhoneRow:
    """The stored row if it is this very record again; otherwise ``id_conflict`` (also when the id is
    another auxiliary's: whose it is stays unsaid)."""
    if existing.auxiliary_id != auxiliary_id or existing.content_hash != digest:
        raise id_conflict()
    return existing


def insert_once(
    session: Session, row: PhoneRow, *, model: type[PhoneRow], auxiliary_id: uuid.UUID
) -> tuple[PhoneRow, bool]:
    """Insert ``row`` keyed by its phone-made id; (row, True) when new, (stored row, False) when the id is
    stored already (a retry, or a concurrent request that stored the same record first).

    One ``INSERT ... ON CONFLICT (id) DO NOTHING``, and no savepoint: a duplicate id is not an error that
    aborts the transaction. On PostgreSQL an insert that meets a concurrent one waits for its commit and then
    does nothing, and the re-read sees the committed row. The row joins the session as stored, every column
    given (Python-side defaults filled in here), so nothing is read back."""
    values = _stored_values(row)
    if session.execute(_insert_once_statement(model, session.get_bind().dialect.name), values).first() is not None:
        make_transient_to_detached(row)
        session.add(row)
        return row, True
    stored = session.get(model, row.id, populate_existing=True)
    if stored is None:
        raise RuntimeError(f"{model.__tablename__} {row.id}: the insert did nothing and no row is stored")
    return same_or_conflict(stored, auxiliary_id=auxiliary_id, digest=row.content_hash), False


def insert_values_once(session: Session, given: Mapping[str, Any], *, model: type[PhoneRow]) -> dict[str, Any] | None:
    """``insert_once`` of a row given as plain values by attribute (no ORM object made, nothing joins the
    session): the row as stored, every column named and its Python-side defaults filled in, or None when the id
    is stored already (the caller reads the stored row then)."""
    values = _completed(model, given)
    statement = _insert_once_statement(model, session.get_bind().dialect.name)
    # On the session's connection: a Core statement needs none of the ORM's handling of a statement.
    return values if session.connection().execute(statement, values).first() is not None else None


def insert_logged_once(session: Session, given: Mapping[str, Any], *, model: type[PhoneRow], action: str,
                       actor_id: uuid.UUID | None) -> dict[str, Any] | None:
    """``insert_values_once`` and, when the row is new, its leaf (``audit.record_stored``): the row as stored,
    or None when the id is stored already. On PostgreSQL the row and its leaf are one statement, an INSERT whose
    leaf is written from the rows the INSERT of the record returns: both or neither, in one round trip, so the
    statement stands alone even where each statement commits by itself."""
    if session.get_bind().dialect.name != "postgresql":
        stored = insert_values_once(session, given, model=model)
        if stored is not None:
            record_stored(session, model, [stored], action, actor_id=actor_id)
        return stored
    [stored] = insert_logged_new(session, [(given, actor_id)], model=model, action=action)
    return stored


def insert_logged_new(session: Session, rows: Sequence[tuple[Mapping[str, Any], uuid.UUID | None]], *,
                      model: type[PhoneRow], action: str) -> list[dict[str, Any] | None]:
    """``insert_logged_once`` of many rows, each with who stored it, in one statement on PostgreSQL: a row
    inserted with its leaf, or leaves nothing when its id is stored already. Each row as stored, or None for
    one whose id was stored already; the statement is all or nothing."""
    values = [_completed(model, given) for given, _ in rows]
    parameters: dict[str, Any] = {}
    for i, (row, (_, actor_id)) in enumerate(zip(values, rows, strict=True)):
        [leaf] = stored_leaves(session, model, [row], action, actor_id=actor_id)
        parameters.update({f"{name}_{i}": value for name, value in row.items()})
        parameters.update({f"{_LEAF_PARAMETER}{name}_{i}": value for name, value in leaf.items()})
    stored = set(session.connection().execute(_logged_new_statement(model, len(rows)), parameters).scalars())
    return [row if str(row["id"]) in stored else None for row in values]


@lru_cache(maxsize=64)
def _logged_new_statement(model: type[Any], n: int) -> Any:
    """``WITH stored AS (INSERT INTO <table> SELECT <n rows> ON CONFLICT (id) DO NOTHING RETURNING id) INSERT
    INTO log_pending (...) <the leaf of each row stored> RETURNING entity_id``, made once for each n."""
    table, leaves = cast(Table, model.__table__), cast(Table, LogPending.__table__)
    key = inspect(model).primary_key[0]
    # INSERT ... SELECT: an INSERT of many VALUES rows has no cache key, so it would be compiled every time.
    given = _union([select(*(bindparam(f"{c.key}_{i}", type_=c.type) for c in table.columns)) for i in range(n)])
    stored = (postgresql_insert(table).from_select([c.key for c in table.columns], given)
              .on_conflict_do_nothing(index_elements=[key]).returning(key).cte("stored"))
    columns = [c for c in leaves.columns if c.key != "seq"]
    each = [select(*(bindparam(f"{_LEAF_PARAMETER}{c.key}_{i}", type_=c.type) for c in columns))
            .where(select(stored.c[key.key]).where(stored.c[key.key] == bindparam(f"{key.key}_{i}")).exists())
            for i in range(n)]
    return insert(leaves).from_select([c.key for c in columns], _union(each)).returning(leaves.c.entity_id)


def _union(selects: list[Select[Any]]) -> Select[Any] | CompoundSelect[Any]:
    return selects[0] if len(selects) == 1 else union_all(*selects)


_LEAF_PARAMETER = "log_pending_"  # the leaf's parameters beside the row's (each named <column>_<row index>)


def insert_new(session: Session, rows: Sequence[Mapping[str, Any]], *, model: type[PhoneRow]
               ) -> list[dict[str, Any]]:
    """Insert rows believed new all at once (``insert_rows``: COPY on PostgreSQL) as plain values: no ORM
    object, no unit of work, nothing read back. Each row is given by attribute; the columns it leaves out or
    None take their Python-side defaults here, as ``insert_once`` fills them, and the rows are returned as
    stored, every column named. An id already stored raises ``IntegrityError`` and inserts nothing; the
    caller runs this in a savepoint and takes the rows one by one then. Each value is of its column's own Python
    type (``insert_rows(typed=True)``), as ``new_task_values`` makes them."""
    stored = [_completed(model, row) for row in rows]
    if stored:
        insert_rows(session, cast(Table, model.__table__), stored, typed=True)
    return stored


def _completed(model: type[PhoneRow], given: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, default in _defaults(model):
        value = given.get(key)
        if value is None and default is not None:
            value = default.arg(None) if default.is_callable else default.arg
        values[key] = value
    return values


@cache
def _insert_once_statement(model: type[Any], dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (id) DO NOTHING RETURNING id`` with the values as parameters: made once, so no
    request pays for building it and working out its cache key from the values."""
    key = inspect(model).primary_key[0]
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return dialect_insert(cast(Table, model.__table__)).on_conflict_do_nothing(index_elements=[key]).returning(key)


def _stored_values(row: PhoneRow) -> dict[str, Any]:
    """Every column of ``row`` as it will be stored, its Python-side defaults filled in (on the row too)."""
    values: dict[str, Any] = {}
    given = row.__dict__  # what was set on the row, read without the ORM's descriptor
    for key, default in _defaults(type(row)):
        value = given[key] if key in given else getattr(row, key)
        if value is None and default is not None:
            value = default.arg(None) if default.is_callable else default.arg
            setattr(row, key, value)
        values[key] = value
    return values


@cache
def _defaults(model: type[Any]) -> tuple[tuple[str, ColumnDefault | None], ...]:
    return tuple((attr.key, d if isinstance(d := attr.columns[0].default, ColumnDefault) else None)
                 for attr in inspect(model).column_attrs)
