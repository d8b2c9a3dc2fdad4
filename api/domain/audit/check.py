"""The oversight check of the transparency log (第十条(三)): is every record as it was logged, and is the log
the one that was published?

In one pass, in bounded memory (rows stream in chunks; the tree is a compact range of O(log n) hashes):
1. the tree is recomputed from the leaves, every leaf's hash from its bytes, and compared with every
   checkpoint the service published, in the database and outside it (``log_truncated``: a checkpoint is
   larger than the log; ``log_rewritten``: a root differs, a leaf's bytes do not hash to it, an index is
   missing; ``bad_signature``: a checkpoint no key of the log signed);
2. every row of every logged table is re-hashed as stored now and compared with its newest leaf
   (``row_altered``), rows with no leaf at all are found (``row_unlogged``: written behind the service's
   back), and leaves whose row is gone (``row_removed``);
3. every evidence file and complaint photo is re-hashed from storage (``file_altered``, ``file_missing``).
The answer names the first bad entry; ``checks`` counts what was checked, and ``rejected`` the queued leaves
the integrator refused because their MAC was not the service's (a leaf in the tree without it is
``log_rewritten``; a row whose only leaf was refused is ``row_unlogged``).

Incremental: a check that passes leaves what it established outside the database, beside the published
checkpoints (``verified.json``: the tree's size, root and right edge, and a multiset hash of every record with its
newest logged row hash). The next check starts from there: it reads only the leaves added since (old leaves are
counted, so a removed one is seen), checks every checkpoint's signature and the new ones' roots, brings the
multiset hash up to date with the new leaves, and compares it with the same hash over every row as stored now, so
that a row changed, removed or slipped in anywhere is still seen without re-reading the old leaves. When
anything disagrees, the full check runs and names the entry. What only the full check sees: the bytes of a leaf
older than the last verified size edited in place (not its row; its row is always compared). ``full=True`` runs it.
"""

import heapq
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from api.domain.audit.checkpoints import TransparencyLog
from api.domain.audit.log import LOGGED, genuine, keyed_values_hold, leaf_key, row_hash
from api.domain.audit.tree import compact_range, legacy_marks
from api.domain.audit.verified import RecordsHash, Verified, genuine_pending, load_verified, rows_digest, save_verified
from api.domain.base import Base, utcnow
from api.domain.models import ComplaintPhoto, Evidence, LogCheckpoint, LogLeaf, LogPending, LogRejected
from api.domain.storage import BlobMissing, BlobStore, content_name, stream_sha256
from verification.note import NoteError, open_checkpoint
from verification.tlog import CompactRange, leaf_hash

CHUNK = 1000


@dataclass
class LogReport:
    ok: bool
    size: int
    root: str
    checks: dict[str, int] = field(default_factory=dict)
    first_bad: dict[str, Any] | None = None
    mode: str = "full"
    verified_from: int = 0
    """The size of the tree the last passing check left, from which this one started (0: from the start)."""


class _Bad(Exception):
    def __init__(self, reason: str, **where: Any) -> None:
        super().__init__(reason)
        self.detail = {**{k: v for k, v in where.items() if v is not None}, "reason": reason}


def verify_log(session: Session, log: TransparencyLog | None = None, *, evidence_dir: BlobStore | None = None,
               full: bool = False, workers: int = 1) -> LogReport:
    """Check the log and every logged row (and evidence file); incremental from the last passing check unless
    ``full`` or there is none. ``workers``: processes that hash the rows of an incremental check on PostgreSQL
    (``verified.rows_digest``), for a session that has written nothing."""
    state = None if full or log is None else load_verified(log)
    if state is not None:
        report = _verify(session, log, evidence_dir, state, workers)
        if report is not None:
            return report
    report = _verify(session, log, evidence_dir, None, workers)
    assert report is not None
    return report


def _verify(session: Session, log: TransparencyLog | None, evidence_dir: BlobStore | None,
            state: Verified | None, workers: int) -> LogReport | None:
    """One check; from ``state`` it answers only when all is well (None: something disagrees, check in full)."""
    checks = {"leaves": 0, "checkpoints": 0, "rows": 0, "files": 0,
              "rejected": int(session.scalar(select(func.count()).select_from(LogRejected)) or 0)}
    tree = CompactRange() if state is None else state.tree()
    records = RecordsHash(session, None if state is None else state.records)
    try:
        tree = _check_tree(session, log, checks, tree, records, trusted=state is not None)
        logged = records.digest()
        if state is None:
            _check_rows(session, checks)
        else:
            records.add_pending()
            if records.digest() != rows_digest(session, checks, workers=workers):
                return None
        if evidence_dir is not None:
            _check_files(session, evidence_dir, checks)
    except _Bad as bad:
        if state is not None:
            return None
        return LogReport(False, tree.size, tree.root().hex(), checks, bad.detail)
    if log is not None:
        save_verified(log, Verified(log.origin, tree.size, tree.root(), tree.hashes, logged,
                                     utcnow().isoformat()))
    return LogReport(True, tree.size, tree.root().hex(), checks, mode="full" if state is None else "incremental",
                     verified_from=0 if state is None else state.size)


def _published(session: Session, log: TransparencyLog | None) -> Iterator[tuple[int, str, bytes | None]]:
    """Every published checkpoint, by size: (size, note, the root the database row claims, or None)."""
    stored: Iterable[tuple[int, str, bytes | None]] = (
        (int(size), note, bytes(root)) for size, note, root in session.execute(
            select(LogCheckpoint.size, LogCheckpoint.note, LogCheckpoint.root).order_by(LogCheckpoint.size)
            .execution_options(yield_per=CHUNK)))
    outside: Iterable[tuple[int, str, bytes | None]] = (
        (size, note, None) for size, note in (log.store.notes() if log else ()))
    return heapq.merge(stored, outside, key=lambda c: c[0])


def _checkpoint_root(log: TransparencyLog | None, size: int, note: str, claimed: bytes | None) -> bytes:
    if log is None:
        if claimed is None:
            raise _Bad("bad_signature", index=size)
        return claimed
    try:
        checkpoint = open_checkpoint(note, log.keys.verifiers())
    except NoteError as exc:
        raise _Bad("bad_signature" if exc.reason != "malformed" else "log_rewritten", index=size) from None
    if checkpoint.size != size or checkpoint.origin != log.origin:
        raise _Bad("log_rewritten", index=size)
    if claimed is not None and claimed != checkpoint.root:
        raise _Bad("log_rewritten", index=size)
    return checkpoint.root


def _check_tree(session: Session, log: TransparencyLog | None, checks: dict[str, int], tree: CompactRange,
                records: RecordsHash, *, trusted: bool) -> CompactRange:
    """Extend ``tree`` (empty, or the last verified one) with the leaves after it, checking each checkpoint:
    the signature of every one, and the root of every one from the tree's size on."""
    start = tree.size
    if trusted and session.scalar(select(func.count()).select_from(LogLeaf).where(
            LogLeaf.idx >= 0, LogLeaf.idx < start)) != start:
        raise _Bad("log_rewritten")  # a verified leaf is gone: the full check says which
    published = _published(session, log)
    pending = next(published, None)

    def settle(size: int) -> None:
        nonlocal pending
        while pending is not None and pending[0] <= size:
            root = _checkpoint_root(log, *pending)
            if pending[0] == size and root != tree.root():
                raise _Bad("log_rewritten", index=size)
            checks["checkpoints"] += 1
            pending = next(published, None)

    settle(start)
    key, legacy = records.key, records.legacy
    rows = session.execute(select(LogLeaf.idx, LogLeaf.leaf, LogLeaf.leaf_hash, LogLeaf.entity, LogLeaf.entity_id,
                                  LogLeaf.row_hash, LogLeaf.mac).where(LogLeaf.idx >= start).order_by(LogLeaf.idx)
                           .execution_options(yield_per=CHUNK))
    for part in rows.partitions(CHUNK):
        for idx, leaf, digest, entity, entity_id, stored_row_hash, mac in part:
            if idx != tree.size:
                raise _Bad("log_rewritten", index=tree.size)  # a leaf removed from the middle
            if leaf_hash(bytes(leaf)) != bytes(digest) or not _names(bytes(leaf), entity, entity_id,
                                                                      stored_row_hash):
                raise _Bad("log_rewritten", index=idx, entity=entity, entity_id=entity_id)
            if not (mac is None and idx < legacy.leaves_below) and not genuine(key, leaf, digest, mac):
                # In the tree but not written by the service (no MAC, or not its MAC).
                raise _Bad("log_rewritten", index=idx, entity=entity, entity_id=entity_id)
            tree.append(bytes(digest))
            checks["leaves"] += 1
            settle(tree.size)
        records.leaves([(int(idx), entity, entity_id, digest) for idx, _, _, entity, entity_id, digest, _ in part])
    if pending is not None:
        # Published checkpoints larger than the log: it was cut (or emptied).
        _checkpoint_root(log, *pending)
        raise _Bad("log_truncated", index=tree.size)
    if tree.size and compact_range(session, tree.size).root() != tree.root():
        raise _Bad("log_rewritten")  # the stored subtrees, from which proofs are served, disagree
    return tree


def _names(leaf: bytes, entity: str, entity_id: str, stored_row_hash: str) -> bool:
    try:
        content = json.loads(leaf)
    except ValueError:
        return False
    return isinstance(content, dict) and (content.get("entity"), content.get("id"), content.get("row_sha256")) == (
        entity, entity_id, stored_row_hash)


def _newest(session: Session, entity: str, ids: Sequence[str]) -> dict[str, str]:
    """The newest logged row hash of each id (leaves, then those still waiting for the integrator that it would
    accept: a queued leaf without the service's MAC logs nothing)."""
    newest: dict[str, str] = {}
    for entity_id, digest in session.execute(
            select(LogLeaf.entity_id, LogLeaf.row_hash)
            .where(LogLeaf.entity == entity, LogLeaf.entity_id.in_(ids)).order_by(LogLeaf.idx)):
        newest[entity_id] = digest
    newest.update(genuine_pending(session, leaf_key(session), legacy_marks(session), entity, ids))
    return newest


def _check_rows(session: Session, checks: dict[str, int]) -> None:
    for entity, model in LOGGED.items():
        key = inspect(model).primary_key[0]
        chunk: list[Base] = []
        for row in session.scalars(select(model).order_by(key).execution_options(populate_existing=True,
                                                                                  yield_per=CHUNK)):
            chunk.append(row)
            if len(chunk) == CHUNK:
                _compare(session, entity, chunk, checks)
                chunk = []
        _compare(session, entity, chunk, checks)
        _find_removed(session, entity, model, checks)


def _compare(session: Session, entity: str, rows: list[Base], checks: dict[str, int]) -> None:
    if not rows:
        return
    keys = [str(inspect(r).identity[0]) for r in rows]  # type: ignore[index]
    newest = _newest(session, entity, keys)
    key = leaf_key(session)
    for row, entity_id in zip(rows, keys, strict=True):
        logged = newest.get(entity_id)
        if logged is None:
            raise _Bad("row_unlogged", entity=entity, entity_id=entity_id)
        if logged != row_hash(row) or not keyed_values_hold(row, key):
            raise _Bad("row_altered", entity=entity, entity_id=entity_id)
        checks["rows"] += 1


def _find_removed(session: Session, entity: str, model: type[Base], checks: dict[str, int]) -> None:
    key = inspect(model).primary_key[0]
    as_key: Any = uuid.UUID if key.type.python_type is uuid.UUID else str
    for model_log in (LogLeaf, LogPending):
        ids = session.scalars(select(model_log.entity_id).where(model_log.entity == entity).distinct()
                              .order_by(model_log.entity_id).execution_options(yield_per=CHUNK)).partitions(CHUNK)
        for part in ids:
            wanted = {as_key(i): i for i in part}
            found = set(session.scalars(select(key).where(key.in_(list(wanted)))))
            for k, entity_id in wanted.items():
                if k not in found:
                    if model_log is LogPending and not any(genuine_pending(
                            session, leaf_key(session), legacy_marks(session), entity, [entity_id])):
                        continue  # only a queued leaf the integrator will refuse names it: nothing was logged
                    index = session.scalar(select(LogLeaf.idx).where(
                        LogLeaf.entity == entity, LogLeaf.entity_id == entity_id).order_by(LogLeaf.idx.desc()))
                    raise _Bad("row_removed", index=index, entity=entity, entity_id=entity_id)


def _check_files(session: Session, store: BlobStore, checks: dict[str, int]) -> None:
    for model in (Evidence, ComplaintPhoto):
        entity = model.__tablename__
        for row_id, sha in session.execute(select(model.id, model.sha256).order_by(model.id)
                                           .execution_options(yield_per=CHUNK)):
            try:
                blob = store.open(content_name(sha))
            except BlobMissing:
                raise _Bad("file_missing", entity=entity, entity_id=str(row_id)) from None
            with blob:
                if stream_sha256(blob) != sha:
                    raise _Bad("file_altered", entity=entity, entity_id=str(row_id))
            checks["files"] += 1
