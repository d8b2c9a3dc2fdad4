"""What a passing oversight check leaves outside the database, and the multiset hash of every logged record
that lets the next check start from it (``check.verify_log``)."""

import base64
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from api.domain.audit.checkpoints import TransparencyLog
from api.domain.audit.log import LOGGED, keyed_values_hold, leaf_key, row_hash
from api.domain.audit.multiset import MultisetHash
from api.domain.audit.tree import Legacy, legacy_marks, pending_refusal
from api.domain.models import LogLeaf, LogPending
from verification.tlog import CompactRange

CHUNK = 1000


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


def rows_digest(session: Session, checks: dict[str, int]) -> bytes:
    rows = MultisetHash()
    secret = leaf_key(session)
    for entity, model in LOGGED.items():
        key = inspect(model).primary_key[0]
        for row in session.scalars(select(model).order_by(key).execution_options(populate_existing=True,
                                                                                  yield_per=CHUNK)):
            digest = row_hash(row)
            if not keyed_values_hold(row, secret):  # a keyed value changed: the row matches no leaf
                digest = "keyed-value-altered:" + digest
            rows.add(_element(entity, str(inspect(row).identity[0]), digest))  # type: ignore[index]
            checks["rows"] += 1
    return rows.digest()
