"""Answers to badge checks, remembered until anything that a check reads changes.

A badge is checked far more often than its auxiliary's record changes, so the status of a token is kept in
memory and served without a query. "Anything changes" is a generation stamp: a file in the data dir that
every worker on the host can stat in a microsecond, replaced (a new inode) after every flush and commit that
touches an auxiliary, a credential or an agency. A reader takes the stamp *before* it reads the database, so
an answer read from a state that a commit is replacing is filed under a stamp that the commit then retires:
the change shows to the very next scan, in every worker.
"""

import os
import secrets
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from api.domain.models import Agency, Auxiliary, Credential

Stamp = tuple[int, int]
V = TypeVar("V")
_WATCHED = (Auxiliary, Credential, Agency)
_CHANGED = "auxduty_badge_state_changed"


class Generation:
    """The stamp file of one data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "badge-state.stamp"
        if not self.path.exists():
            self.bump()

    def current(self) -> Stamp:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self.bump()
            st = os.stat(self.path)
        return st.st_ino, st.st_mtime_ns

    def bump(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)  # a data dir removed under a running process
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(secrets.token_hex(8))
        os.replace(tmp, self.path)


class BadgeCache(Generic[V]):
    def __init__(self, generation: Generation, size: int = 20_000) -> None:
        self.generation = generation
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[Stamp, V]] = OrderedDict()

    def get(self, token: str) -> V | None:
        stamp = self.generation.current()
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if entry[0] != stamp:
                del self._entries[token]
                return None
            self._entries.move_to_end(token)
            return entry[1]

    def put(self, token: str, stamp: Stamp, value: V) -> None:
        with self._lock:
            self._entries[token] = (stamp, value)
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


_generations: dict[Path, Generation] = {}
_registry_lock = threading.Lock()


def generation_for(data_dir: Path) -> Generation:
    key = data_dir.resolve()
    with _registry_lock:
        if key not in _generations:
            _generations[key] = Generation(key)
        return _generations[key]


def _bump_all() -> None:
    for generation in list(_generations.values()):
        generation.bump()


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush_context: Any) -> None:
    if any(isinstance(obj, _WATCHED) for obj in (*session.new, *session.dirty, *session.deleted)):
        session.info[_CHANGED] = True
        _bump_all()  # the flushing connection itself already sees the change


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        _bump_all()  # now every connection sees it
