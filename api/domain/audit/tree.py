"""The integrator: it gives waiting leaves their place in the Merkle tree, as Trillian's sequencer and Tessera's
integrator do, and serves proofs from the stored perfect-subtree hashes.

One integrator runs at a time (on PostgreSQL an advisory lock taken with ``try``: a host that finds another
integrating skips its turn; SQLite serialises writers anyway). It reads the queue in order, appends each leaf
to the tree's right edge (a compact range of O(log n) hashes read from ``log_nodes``), inserts the leaves
with their indexes and the subtrees they complete, and removes them from the queue, all in one transaction:
a crash leaves either the whole batch integrated or none of it. Writers never wait for it. A queued leaf whose
MAC is not the service's (written behind its back) is moved to ``log_rejected`` and never enters the tree.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar, cast

from sqlalchemy import BigInteger, Table, any_, bindparam, delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from api.domain.audit.log import genuine, leaf_key
from api.domain.base import Base, insert_rows, utcnow
from api.domain.errors import DomainError
from api.domain.models import LogLeaf, LogLegacy, LogNode, LogPending, LogRejected
from verification.tlog import (
    CompactRange,
    consistency_proof,
    edge,
    inclusion_proof,
    nodes_for_consistency,
    nodes_for_inclusion,
)
from verification.tlog import leaf_hash as leaf_hash_of

BATCH = 5000
T = TypeVar("T")
_INTEGRATOR_LOCK = 4242002
_log = logging.getLogger("auxduty.log")


def tree_size(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(LogLeaf.idx) + 1, 0))) or 0)


class NodeSource:
    """Perfect-subtree hashes from the database, fetched in one query per request of a set."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cache: dict[tuple[int, int], bytes] = {}

    def load(self, wanted: Iterable[tuple[int, int]]) -> None:
        missing = [k for k in wanted if k not in self.cache]
        leaves = [i for level, i in missing if level == 0]
        inner = [k for k in missing if k[0] > 0]
        for chunk in _chunks(leaves):
            for idx, digest in self.session.execute(
                    select(LogLeaf.idx, LogLeaf.leaf_hash).where(LogLeaf.idx.in_(chunk))):
                self.cache[(0, idx)] = bytes(digest)
        for part in _chunks(inner):
            for level, idx, digest in self.session.execute(
                    select(LogNode.level, LogNode.idx, LogNode.hash).where(
                        tuple_(LogNode.level, LogNode.idx).in_(part))):
                self.cache[(level, idx)] = bytes(digest)

    def __call__(self, level: int, index: int) -> bytes:
        try:
            return self.cache[(level, index)]
        except KeyError:
            raise LookupError(f"the log has no node ({level}, {index})") from None


def _chunks(items: list[T], size: int = 500) -> Iterable[list[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def compact_range(session: Session, size: int) -> CompactRange:
    right = edge(size)
    nodes = NodeSource(session)
    nodes.load(right)
    return CompactRange.from_edge(size, [nodes(level, i) for level, i in right])


def root_at(session: Session, size: int) -> bytes:
    return compact_range(session, size).root()


@dataclass(frozen=True)
class Integrated:
    size: int
    added: int


def integrate(session: Session, *, batch: int = BATCH) -> Integrated | None:
    """Give the waiting leaves their indexes; None when another integrator holds the turn. Commits nothing:
    the caller commits (or rolls back) the whole batch."""
    if session.get_bind().dialect.name == "postgresql" and not session.scalar(
            text(f"SELECT pg_try_advisory_xact_lock({_INTEGRATOR_LOCK})")):
        return None
    # Read as plain rows and written with Core statements: the ORM would make, track and then forget an object
    # per leaf, and this runs beside the writers every second.
    pending = LogPending.__table__.c
    waiting = session.execute(
        select(pending.seq, pending.leaf, pending.leaf_hash, pending.entity, pending.entity_id, pending.action,
               pending.row_hash, pending.at, pending.mac).order_by(pending.seq).limit(batch)).all()
    size = tree_size(session)
    if not waiting:
        return Integrated(size, 0)
    edge = compact_range(session, size)
    key, legacy = leaf_key(session), legacy_marks(session)
    leaves: list[dict[str, object]] = []
    nodes: list[dict[str, object]] = []
    rejected: list[dict[str, object]] = []
    for entry in waiting:
        fields = {"leaf": entry.leaf, "leaf_hash": entry.leaf_hash, "entity": entry.entity,
                  "entity_id": entry.entity_id, "action": entry.action, "row_hash": entry.row_hash, "at": entry.at,
                  "mac": entry.mac}
        refusal = pending_refusal(key, legacy, entry.seq, entry.leaf, entry.leaf_hash, entry.mac)
        if refusal:
            rejected.append({**fields, "seq": entry.seq, "reason": refusal, "rejected_at": utcnow()})
            continue
        leaves.append({**fields, "idx": size + len(leaves)})
        nodes.extend({"level": level, "idx": i, "hash": digest}
                     for level, i, digest in edge.append(bytes(entry.leaf_hash)))
    insert_rows(session, _table(LogLeaf), leaves, typed=True)
    insert_rows(session, _table(LogNode), nodes, typed=True)
    if rejected:
        insert_rows(session, _table(LogRejected), rejected)
        _log.warning("log: refused %d queued leaves written behind the service's back (seq %s)", len(rejected),
                     ", ".join(str(r["seq"]) for r in rejected[:10]))
    seqs = [entry.seq for entry in waiting]
    # One array parameter on PostgreSQL rather than thousands of placeholders in the statement's text.
    on_pg = session.get_bind().dialect.name == "postgresql"
    done = pending.seq == any_(bindparam("seqs", seqs, type_=ARRAY(BigInteger))) if on_pg else pending.seq.in_(seqs)
    session.execute(delete(_table(LogPending)).where(done))
    return Integrated(size + len(leaves), len(waiting))


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


@dataclass(frozen=True)
class Legacy:
    """Where the leaves without a MAC (older than the MAC) end: leaves with ``idx < leaves_below`` and queued
    leaves with ``seq <= pending_through``."""

    leaves_below: int
    pending_through: int


def legacy_marks(session: Session) -> Legacy:
    row = session.get(LogLegacy, 1)
    return Legacy(0, 0) if row is None else Legacy(row.leaves_below, row.pending_through)


def pending_refusal(key: bytes, legacy: Legacy, seq: int, leaf: bytes, digest: bytes, mac: bytes | None) -> str | None:
    """Why a queued leaf may not enter the tree, or None."""
    if mac is None:
        return None if seq <= legacy.pending_through and leaf_hash_of(bytes(leaf)) == bytes(digest) else "no_mac"
    return None if genuine(key, leaf, digest, mac) else "bad_mac"


def integrate_all(session: Session) -> int:
    """Integrate until the queue is empty (for the CLI and tests); the new tree size."""
    while True:
        done = integrate(session)
        if done is None:
            return tree_size(session)
        if done.added < BATCH:
            return done.size


def prove_inclusion(session: Session, index: int, size: int) -> list[bytes]:
    nodes = NodeSource(session)
    nodes.load(nodes_for_inclusion(index, size))
    return inclusion_proof(index, size, nodes)


def prove_consistency(session: Session, first: int, second: int) -> list[bytes]:
    nodes = NodeSource(session)
    nodes.load(nodes_for_consistency(first, second))
    return consistency_proof(first, second, nodes)


class ProofOutOfRange(DomainError):
    """A proof was asked of a tree or a leaf the log does not have (yet)."""


def inclusion(session: Session, index: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3: the audit path of leaf ``index`` in the tree of ``size`` leaves."""
    have = tree_size(session)
    if not 0 <= index < size <= have:
        raise ProofOutOfRange("proof_out_of_range", f"需要 0 ≤ index < size ≤ {have}（当前日志大小）",
                              f"need 0 ≤ index < size ≤ {have}, the log's size", log_size=have)
    return prove_inclusion(session, index, size)


def consistency(session: Session, first: int, second: int) -> list[bytes]:
    """RFC 9162 §2.1.4: that the tree of ``second`` leaves only appended to the tree of ``first``."""
    have = tree_size(session)
    if not 0 <= first <= second <= have:
        raise ProofOutOfRange("proof_out_of_range", f"需要 0 ≤ first ≤ second ≤ {have}（当前日志大小）",
                              f"need 0 ≤ first ≤ second ≤ {have}, the log's size", log_size=have)
    return prove_consistency(session, first, second) if first else []


def entries_of(session: Session, entity: str, entity_id: str) -> list[LogLeaf]:
    """The log entries of one record, oldest first (integrated ones; waiting ones have no index yet)."""
    return list(session.scalars(select(LogLeaf).where(LogLeaf.entity == entity, LogLeaf.entity_id == entity_id)
                                .order_by(LogLeaf.idx)))


def leaf_index(session: Session, digest: bytes) -> int | None:
    return session.scalar(select(LogLeaf.idx).where(LogLeaf.leaf_hash == digest).order_by(LogLeaf.idx).limit(1))
