"""The declarative base: one metadata with a naming convention, UTC instants, UUID keys."""

import json
import uuid
from collections.abc import Collection
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnElement,
    DateTime,
    Dialect,
    Insert,
    LargeBinary,
    MetaData,
    Table,
    TypeDecorator,
    Uuid,
    any_,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, QueryableAttribute, Session, mapped_column

# Beijing time: the day a training was completed, a tracking number's date, a roster's year. China has kept
# UTC+8 without daylight saving since 1991, so a fixed offset is exact and needs no tzdata on the host.
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")

# The rule set every record of field work, refusal and complaint is judged by: the Measures' document number
# and this service's reading of it. A new reading of any rule moves the part after the slash.
RULES_VERSION = "宁政发〔2021〕12号/2026.1"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware instant stored in UTC; SQLite drops the offset, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every instant must carry an offset")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def beijing_date(at: datetime) -> date:
    """The calendar day in Nanjing at the instant ``at``: terms of employment begin and end on these."""
    return at.astimezone(BEIJING).date()


def beijing_midnight(day: date) -> datetime:
    """The instant ``day`` begins in Nanjing."""
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, uuid.UUID: Uuid}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class CreatedMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


_COPY_FROM = 16


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]], *, typed: bool = False) -> None:
    """Insert many rows, each naming the same columns, in the session's transaction: with COPY on PostgreSQL
    (a stream of rows: no statement to parse, plan and answer per row), one executemany elsewhere and for a
    few rows (COPY takes one more round trip than an INSERT). A key
    already stored raises ``IntegrityError`` and leaves none of them stored (the caller's savepoint
    undoes the statement).

    ``typed``: every value is None or of its column's own Python type (UUID, str, bytes, int, float, bool, an
    aware datetime; never an id as text), as the service's own writers of records and leaves make them. Such
    rows are copied in PostgreSQL's binary format, where each value is sent as the column stores it: nothing
    to write out and escape as text here (a leaf's bytes as hex) and to parse again on the server."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql" or len(rows) < _COPY_FROM:
        # On the session's connection: a Core statement needs none of the ORM's handling of a statement.
        connection.execute(_insert_statement(table), rows)
        return
    import psycopg  # the PostgreSQL driver: a SQLite deployment never gets here

    columns = list(rows[0])
    types = _copy_types(connection, table, columns) if typed else None
    # COPY skips SQLAlchemy's types: their bind processing (UTCDateTime's check for an offset) is applied here.
    # Bytes go as they are: the driver's own wrapper for them would only cost a call of Python per value.
    processors = [(key, None if isinstance(table.c[key].type, LargeBinary) else table.c[key].type.bind_processor(
        dialect)) for key in columns]
    quote = dialect.identifier_preparer
    sql = (f"COPY {quote.format_table(table)} ({', '.join(quote.quote(key) for key in columns)}) FROM STDIN"
           f"{' (FORMAT BINARY)' if types else ''}")
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(sql) as copy:
            if types:
                copy.set_types(types)
            for row in rows:
                copy.write_row([row[key] if process is None else process(row[key]) for key, process in processors])
    except psycopg.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc
    finally:
        cursor.close()


# PostgreSQL's own types (their oids are the same in every database) whose binary form the driver writes from the
# Python type ``insert_rows(typed=True)`` promises: uuid, text, varchar, bytea, timestamptz, float8, bool, the ints.
_BINARY_COPY_OIDS = frozenset({2950, 25, 1043, 17, 1184, 701, 16, 21, 23, 20})
_COLUMN_OIDS: dict[tuple[str, str], dict[str, int]] = {}


def _copy_types(connection: Connection, table: Table, columns: list[str]) -> list[int] | None:
    """The oids of ``columns`` as the database declares them (read once per table), or None when one is not a
    type copied in binary here: the rows go as text then."""
    key = (str(connection.engine.url), table.name)
    oids = _COLUMN_OIDS.get(key)
    if oids is None:
        oids = _COLUMN_OIDS[key] = {name: int(oid) for name, oid in connection.execute(
            _COLUMN_TYPES, {"table": connection.dialect.identifier_preparer.format_table(table)})}
    types = [oids.get(column, 0) for column in columns]
    return types if all(oid in _BINARY_COPY_OIDS for oid in types) else None


_COLUMN_TYPES = text("SELECT attname, atttypid FROM pg_attribute WHERE attrelid = CAST(:table AS regclass) "
                     "AND attnum > 0 AND NOT attisdropped")


@cache
def _insert_statement(table: Table) -> Insert:
    """``INSERT INTO table``, made once per table: a statement made anew has its cache key worked out anew at
    every execution (a write logs a leaf with every record it stores)."""
    return insert(table)


def among(session: Session, column: QueryableAttribute[Any], values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values`` with the values as one bound parameter, however many: a PostgreSQL array, or on SQLite
    a JSON array that ``json_each`` reads. A placeholder a value would cost a parse on both sides for each, and
    a statement per few hundred to stay under SQLite's limit on parameters."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    process = column.type.bind_processor(dialect)  # as SQLite stores them: a UUID as its 32 hex digits
    items = [process(v) for v in values] if process else list(values)
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(items))))
