"""Signed checkpoints of the transparency log (C2SP ``tlog-checkpoint`` in a C2SP signed note), their keys,
and the copy of each one kept outside the database.

A checkpoint commits the service to the tree of its size: a database owner who cuts or rewrites the log can
no longer produce a tree that matches it, and cannot sign a new one without the key, which is not in the
database. Every checkpoint made is kept in the database (``log_checkpoints``) and written, after the commit,
to a directory outside it (``AUXDUTY_LOG_DIR``, default ``log/`` under the data dir), one file per tree size,
never overwritten: rolling back the database does not roll back what was published.

Keys are Ed25519, one file per key under ``log-keys/`` in the data dir (or one from ``AUXDUTY_LOG_KEY``, a
base64 32-byte seed from a secret store, which hosts of one service share). ``rotate`` adds a key; while old
keys are kept, every checkpoint is signed by all of them, newest first, so a witness that knows any one of
them goes on verifying; ``retire`` drops one.
"""

import base64
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.audit.tree import root_at, tree_size
from api.domain.errors import DomainError
from api.domain.models import LogCheckpoint
from verification.note import Checkpoint, Verifier, parse_verifier_key, sign_note, verifier_key


class LogKeyError(Exception):
    """Refused by ``auxduty log rotate-key`` or a retirement: never an HTTP answer."""


class LogKeys:
    def __init__(self, directory: Path, name: str, *, fixed_seed: str | None = None) -> None:
        self.directory = directory
        self.name = name
        self.fixed_seed = fixed_seed

    def _files(self) -> list[Path]:
        return sorted(self.directory.glob("*.ed25519")) if self.directory.is_dir() else []

    def private_keys(self) -> list[Ed25519PrivateKey]:
        """Newest first; made on first use when there is none."""
        if self.fixed_seed:
            return [Ed25519PrivateKey.from_private_bytes(base64.b64decode(self.fixed_seed))]
        files = self._files()
        if not files:
            self.rotate()
            files = self._files()
        return [Ed25519PrivateKey.from_private_bytes(f.read_bytes()) for f in reversed(files)]

    def rotate(self) -> str:
        """Add a new key (it signs first from now on); its verifier key."""
        if self.fixed_seed:
            raise LogKeyError("the log key comes from AUXDUTY_LOG_KEY: rotate it in the secret store")
        key = Ed25519PrivateKey.generate()
        self.directory.mkdir(parents=True, exist_ok=True)
        serial = len(self._files()) + 1
        raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        _write_new(self.directory / f"{serial:04d}-{self._key_name(key)}.ed25519", raw, mode=0o600)
        return verifier_key(self.name, key.public_key())

    def retire(self, key_hash: str) -> None:
        files = [f for f in self._files() if f.stem.endswith(key_hash)]
        if not files or len(self._files()) == 1:
            raise LogKeyError(f"no key {key_hash}, or it is the last one")
        for f in files:
            f.rename(f.with_suffix(".retired"))

    def _key_name(self, key: Ed25519PrivateKey) -> str:
        return verifier_key(self.name, key.public_key()).split("+", 2)[1]

    def verifier_keys(self) -> list[str]:
        return [verifier_key(self.name, k.public_key()) for k in self.private_keys()]

    def verifiers(self) -> list[Verifier]:
        """Every key this service ever signed with, retired ones too: old checkpoints stay checkable."""
        keys = [parse_verifier_key(v) for v in self.verifier_keys()]
        for f in sorted(self.directory.glob("*.retired")) if self.directory.is_dir() else []:
            keys.append(parse_verifier_key(verifier_key(
                self.name, Ed25519PrivateKey.from_private_bytes(f.read_bytes()).public_key())))
        return keys


def _write_new(path: Path, data: bytes, *, mode: int = 0o444) -> bool:
    """Write ``path`` once, atomically; False when it already exists (it is never replaced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".new-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


class CheckpointStore:
    """Published checkpoints outside the database: ``<size>.txt``, written once."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "checkpoints"

    def put(self, size: int, note: str) -> None:
        path = self.directory / f"{size:020d}.txt"
        if not _write_new(path, note.encode()) and path.read_text() != note:
            # Two different checkpoints of one size: keep the second beside the first as evidence.
            _write_new(path.with_suffix(f".{os.getpid()}.conflict"), note.encode())

    def notes(self) -> Iterator[tuple[int, str]]:
        """(size, note) in order of size, the conflicting copies after their size's first."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.iterdir()):
            head = path.name.split(".")[0]
            if head.isdigit() and path.suffix in (".txt", ".conflict"):
                yield int(head), path.read_text()


@dataclass
class TransparencyLog:
    origin: str
    keys: LogKeys
    store: CheckpointStore


def sign_checkpoint(log: TransparencyLog, size: int, root: bytes) -> str:
    body = Checkpoint(origin=log.origin, size=size, root=root).body()
    return sign_note(body, [(log.keys.name, key) for key in log.keys.private_keys()])


def latest_checkpoint(session: Session) -> LogCheckpoint | None:
    return session.scalar(select(LogCheckpoint).order_by(LogCheckpoint.size.desc()).limit(1))


class NoCheckpoint(DomainError):
    status = 404


def published_checkpoint(session: Session) -> LogCheckpoint:
    checkpoint = latest_checkpoint(session)
    if checkpoint is None:
        raise NoCheckpoint("no_checkpoint", "日志尚无检查点，请稍后再试", "the log has no checkpoint yet")
    return checkpoint


def make_checkpoint(session: Session, log: TransparencyLog) -> LogCheckpoint:
    """Sign the tree as integrated now, unless the newest checkpoint already covers it. The caller commits,
    then calls ``publish``: a file is never written for a checkpoint the database did not keep."""
    latest = latest_checkpoint(session)
    size = tree_size(session)
    if latest is not None and latest.size >= size:
        return latest
    root = root_at(session, size)
    checkpoint = LogCheckpoint(size=size, root=root, note=sign_checkpoint(log, size, root))
    try:
        with session.begin_nested():
            session.add(checkpoint)
    except IntegrityError:  # another host signed this size first
        stored = session.get(LogCheckpoint, size)
        if stored is None:
            raise
        return stored
    return checkpoint


def publish(log: TransparencyLog, checkpoint: LogCheckpoint) -> None:
    log.store.put(checkpoint.size, checkpoint.note)
