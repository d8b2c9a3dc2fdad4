"""What a passing oversight check leaves outside the database, and the multiset hash of every logged record
that lets the next check start from it (``check.verify_log``)."""

import base64
import json
import multiprocessing
import os
import re
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, create_engine, func, inspect, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from api.domain.audit.checkpoints import TransparencyLog
from api.domain.audit.log import LOGGED, hashed_columns, keyed_values_match, leaf_key, values_hash
from api.domain.audit.multiset import MultisetHash
from api.domain.audit.tree import Legacy, legacy_marks, pending_refusal
from api.domain.models import LogLeaf, LogPending
from verification.tlog import CompactRange

CHUNK = 1000
CHUNK_ROWS = 5000
PARALLEL_FROM = 20_000
"""A table of fewer rows is hashed by one process, whatever the number of workers."""
SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")


@dataclass(frozen=True)
class Verified:
    """What a passing check established, as kept outside the database."""

    origin: str
    size: int
    root: bytes
    edge: tuple[bytes, ...]
    records: bytes
    at: str

    def tree(self) -> CompactRange:
        return CompactRange.from_edge(self.size, self.edge)


def _state_path(log: TransparencyLog) -> Path:
    return log.store.directory.parent / "verified.json"


def load_verified(log: TransparencyLog) -> Verified | None:
    """The last passing check's state, or None (none yet, or unreadable: then the full check runs)."""
    try:
        raw = json.loads(_state_path(log).read_text())
        state = Verified(origin=raw["origin"], size=int(raw["size"]), root=bytes.fromhex(raw["root"]),
                         edge=tuple(bytes.fromhex(h) for h in raw["edge"]),
                         records=base64.b64decode(raw["records"]), at=raw["at"])
        MultisetHash(state.records)
        if state.tree().root() != state.root or state.origin != log.origin:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


def save_verified(log: TransparencyLog, state: Verified) -> None:
    path = _state_path(log)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps({"origin": state.origin, "size": state.size, "root": state.root.hex(),
                       "edge": [h.hex() for h in state.edge], "records": base64.b64encode(state.records).decode(),
                       "at": state.at}, indent=1)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".verified-")
    with os.fdopen(fd, "w") as out:
        out.write(body)
    os.replace(tmp, path)


def _element(entity: str, entity_id: str, digest: str) -> bytes:
    return f"{entity}\n{entity_id}\n{digest}".encode()


class RecordsHash:
    """The multiset hash of every logged record with its newest logged row hash, brought up to date leaf by
    leaf: a new version is multiplied in and the one it replaces (read from the log) divided out. A version
    read wrongly from the database leaves a factor that the rows' own hash will not have."""

    def __init__(self, session: Session, digest: bytes | None) -> None:
        self.session = session
        self.hash = MultisetHash(digest)
        self.key, self.legacy = leaf_key(session), legacy_marks(session)

    def digest(self) -> bytes:
        return self.hash.digest()

    def leaves(self, chunk: Sequence[tuple[int, str, str, str]]) -> None:
        """Leaves in index order: (index, entity, entity id, row hash)."""
        chunk = [c for c in chunk if c[1] in LOGGED]
        if not chunk:
            return
        first = chunk[0][0]
        newest: dict[tuple[str, str], str] = {}
        for entity, ids in _by_entity(chunk).items():
            for entity_id, digest in self.session.execute(
                    select(LogLeaf.entity_id, LogLeaf.row_hash)
                    .where(LogLeaf.entity == entity, LogLeaf.entity_id.in_(ids), LogLeaf.idx < first)
                    .order_by(LogLeaf.idx)):
                newest[(entity, entity_id)] = digest
        self._apply(chunk, newest)

    def add_pending(self) -> None:
        """Leaves still waiting for the integrator, by their order of arrival (not kept in the state)."""
        rows = self.session.execute(select(LogPending.seq, LogPending.entity, LogPending.entity_id,
                                           LogPending.row_hash, LogPending.leaf, LogPending.leaf_hash,
                                           LogPending.mac).order_by(LogPending.seq).execution_options(
                                               yield_per=CHUNK))
        for part in rows.partitions(CHUNK):
            chunk = [(int(seq), e, i, d) for seq, e, i, d, leaf, digest, mac in part
                     if e in LOGGED and not pending_refusal(self.key, self.legacy, seq, leaf, digest, mac)]
            if not chunk:
                continue
            newest: dict[tuple[str, str], str] = {}
            for entity, ids in _by_entity(chunk).items():
                for entity_id, digest in self.session.execute(
                        select(LogLeaf.entity_id, LogLeaf.row_hash)
                        .where(LogLeaf.entity == entity, LogLeaf.entity_id.in_(ids)).order_by(LogLeaf.idx)):
                    newest[(entity, entity_id)] = digest
                for entity_id, digest in genuine_pending(self.session, self.key, self.legacy, entity, ids,
                                                          before=chunk[0][0]):
                    newest[(entity, entity_id)] = digest
            self._apply(chunk, newest)

    def _apply(self, chunk: Sequence[tuple[int, str, str, str]], newest: dict[tuple[str, str], str]) -> None:
        for _, entity, entity_id, digest in chunk:
            replaced = newest.get((entity, entity_id))
            if replaced is not None:
                self.hash.remove(_element(entity, entity_id, replaced))
            self.hash.add(_element(entity, entity_id, digest))
            newest[(entity, entity_id)] = digest


def genuine_pending(session: Session, key: bytes, legacy: Legacy, entity: str, ids: Sequence[str], *,
                     before: int | None = None) -> Iterator[tuple[str, str]]:
    """(entity id, row hash) of the queued leaves of these records that the integrator would accept, in order."""
    query = select(LogPending.seq, LogPending.entity_id, LogPending.row_hash, LogPending.leaf, LogPending.leaf_hash,
                   LogPending.mac).where(LogPending.entity == entity, LogPending.entity_id.in_(ids))
    if before is not None:
        query = query.where(LogPending.seq < before)
    for seq, entity_id, digest, leaf, hashed, mac in session.execute(query.order_by(LogPending.seq)):
        if not pending_refusal(key, legacy, seq, leaf, hashed, mac):
            yield entity_id, digest


def _by_entity(chunk: Sequence[tuple[int, str, str, str]]) -> dict[str, list[str]]:
    ids: dict[str, set[str]] = {}
    for _, entity, entity_id, _digest in chunk:
        ids.setdefault(entity, set()).add(entity_id)
    return {entity: sorted(values) for entity, values in ids.items()}


def rows_digest(session: Session, checks: dict[str, int], *, workers: int = 1) -> bytes:
    """The multiset hash of every logged row as stored now, each with its row hash (``_element``).

    Rows are read as column tuples (Core), not as ORM objects, and hashed by ``values_hash``, which is
    ``row_hash`` itself. With ``workers`` > 1 on PostgreSQL, the tables are cut into key ranges hashed by as
    many processes, each in the snapshot of this session's transaction (``pg_export_snapshot``): they see
    what this session sees, so this session must hold nothing uncommitted. The parts' hashes multiply into
    the whole's, so the answer is the same as one process's."""
    if workers <= 1 or session.get_bind().dialect.name != "postgresql":
        digest = MultisetHash()
        for entity in LOGGED:
            checks["rows"] += _hash_rows(session.connection(), leaf_key(session), entity, None, digest)
        return digest.digest()
    return _rows_digest_parallel(session, checks, workers)


def _hash_rows(connection: Connection, secret: bytes, entity: str,
               bounds: tuple[uuid.UUID, uuid.UUID | None] | None, digest: MultisetHash) -> int:
    model = LOGGED[entity]
    columns = hashed_columns(model)
    key_attr = inspect(model).primary_key[0]
    stmt = select(*(column.label(name) for name, column in columns))
    if bounds is not None:
        stmt = stmt.where(key_attr >= bounds[0])
        if bounds[1] is not None:
            stmt = stmt.where(key_attr < bounds[1])
    key_name = next(name for name, column in columns if column is key_attr)
    count = 0
    rows = connection.execute(stmt.execution_options(yield_per=CHUNK_ROWS))
    for part in rows.mappings().partitions(CHUNK_ROWS):
        for values in part:
            hashed = values_hash(model, values)
            if not keyed_values_match(model, values, secret):  # a keyed value changed: the row matches no leaf
                hashed = "keyed-value-altered:" + hashed
            digest.add(_element(entity, str(values[key_name]), hashed))
        count += len(part)
    return count


def _ranges(entity: str, parts: int) -> list[tuple[uuid.UUID, uuid.UUID | None] | None]:
    """``parts`` key ranges covering a table keyed by UUIDs (None: the whole table)."""
    key = inspect(LOGGED[entity]).primary_key[0]
    if parts <= 1 or key.type.python_type is not uuid.UUID:
        return [None]
    cuts: list[uuid.UUID | None] = [uuid.UUID(int=i * (1 << 128) // parts) for i in range(1, parts)]
    lows = [uuid.UUID(int=0), *cuts]
    return [(low, high) for low, high in zip(lows, [*cuts, None], strict=True) if low is not None]


def _rows_digest_parallel(session: Session, checks: dict[str, int], workers: int) -> bytes:
    snapshot = str(session.scalar(text("SELECT pg_export_snapshot()")))
    if not SNAPSHOT_ID.fullmatch(snapshot):
        raise RuntimeError(f"not a snapshot id: {snapshot!r}")
    url = session.get_bind().engine.url.render_as_string(hide_password=False)
    secret = leaf_key(session)
    sizes = {entity: int(session.scalar(select(func.count()).select_from(model)) or 0)
             for entity, model in LOGGED.items()}
    jobs = [(entity, bounds) for entity in LOGGED
            for bounds in _ranges(entity, workers * 4 if sizes[entity] > PARALLEL_FROM else 1)]
    total = MultisetHash()
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        for part, count in pool.map(_hash_part, *zip(*[(url, snapshot, secret, e, b) for e, b in jobs],
                                                       strict=True)):
            total.merge(part)
            checks["rows"] += count
    return total.digest()


def _hash_part(url: str, snapshot: str, secret: bytes, entity: str,
               bounds: tuple[uuid.UUID, uuid.UUID | None] | None) -> tuple[bytes, int]:
    """One key range of one table, in a worker process, in the snapshot of the session that asked."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                digest = MultisetHash()
                count = _hash_rows(connection, secret, entity, bounds, digest)
    finally:
        engine.dispose()
    return digest.digest(), count
