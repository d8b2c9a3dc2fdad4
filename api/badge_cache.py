"""Answers to badge checks, remembered until something that a check reads changes.

A badge is checked far more often than its auxiliary's record changes, so the answer for a token is kept in
memory and served without a query. Every answer names what it was read from (its credential and auxiliary);
every flush and commit that touches a credential, an auxiliary or an agency names what it touched, and the
answers that read it are forgotten:

* in this process at once (after the flush, and again after the commit);
* on every other host and worker through Redis pub/sub (``AUXDUTY_REDIS_URL``), typically within milliseconds;
  a subscriber that loses its connection forgets everything when it is back, as it may have missed a change;
* on one host without Redis, through a stamp file in the data dir that every worker stats in a microsecond,
  replaced after every such commit (this forgets every answer, not only those touched);
* and, as a safety net whatever happens to a message, every answer is forgotten after
  ``AUXDUTY_BADGE_CACHE_SECONDS``, or sooner when the answer itself says it stops being true then with nothing
  written (a term of employment running out at midnight: ``BadgeCheck.good_for``).

A reader takes a ticket *before* it reads the database, and an answer is only kept if nothing it read was
touched since that ticket: an answer read from a state that a commit is replacing is never remembered.
"""

import json
import logging
import os
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from api.domain.models import Agency, Auxiliary, Contract, Credential

Stamp = tuple[int, int]
V = TypeVar("V")
EVERYTHING = "*"
CHANNEL = "auxduty:badge-changes"
_CHANGED = "auxduty_badge_keys_changed"
_TOUCHED_MAX = 100_000
_log = logging.getLogger("auxduty.badge_cache")


def credential_key(credential_id: object) -> str:
    return f"c:{credential_id}"


def auxiliary_key(auxiliary_id: object) -> str:
    return f"a:{auxiliary_id}"


def keys_of(obj: object) -> set[str]:
    """What a change to ``obj`` may alter in a badge answer."""
    if isinstance(obj, Credential):
        return {credential_key(obj.id), auxiliary_key(obj.auxiliary_id)}
    if isinstance(obj, Auxiliary):
        return {auxiliary_key(obj.id)}
    if isinstance(obj, Contract):
        return {auxiliary_key(obj.auxiliary_id)}  # a renewal makes an expired badge valid again
    if isinstance(obj, Agency):
        return {EVERYTHING}  # its name is on every answer of its staff: rare enough to forget all
    return set()


class Generation:
    """The stamp file of one data dir (one host's workers, when there is no Redis)."""

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


@dataclass(frozen=True)
class Ticket:
    stamp: Stamp | None
    seq: int


@dataclass
class _Entry(Generic[V]):
    ticket: Ticket
    expires: float
    keys: frozenset[str]
    value: V


class BadgeCache(Generic[V]):
    def __init__(self, generation: Generation | None, size: int = 20_000, *, ttl: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.generation = generation
        self.size, self.ttl, self.clock = size, ttl, clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry[V]] = OrderedDict()
        self._by_key: dict[str, set[str]] = {}
        self._seq = 0
        self._touched: OrderedDict[str, int] = OrderedDict()
        self._floor = 0  # no ticket older than this may be kept (touches forgotten, or everything was)
        _caches.add(self)

    def ticket(self) -> Ticket:
        """Take before reading the database."""
        with self._lock:
            seq = self._seq
        return Ticket(self.generation.current() if self.generation else None, seq)

    def get(self, token: str) -> V | None:
        stamp = self.generation.current() if self.generation else None
        now = self.clock()
        with self._lock:
            entry = self._entries.get(token)
            if entry is None:
                return None
            if entry.ticket.stamp != stamp or entry.expires <= now:
                self._drop(token)
                return None
            self._entries.move_to_end(token)
            return entry.value

    def put(self, token: str, ticket: Ticket, keys: Iterable[str], value: V, *, ttl: float | None = None) -> bool:
        """Remember ``value`` unless something it was read from was touched since ``ticket``; for the cache's
        time to live, or ``ttl`` seconds if that is sooner (when the answer stops being true by itself)."""
        keys = frozenset(keys)
        life = self.ttl if ttl is None else min(self.ttl, ttl)
        if life <= 0:
            return False
        with self._lock:
            if ticket.seq < self._floor or any(self._touched.get(k, -1) > ticket.seq for k in keys):
                return False
            if token in self._entries:
                self._drop(token)
            self._entries[token] = _Entry(ticket, self.clock() + life, keys, value)
            for k in keys:
                self._by_key.setdefault(k, set()).add(token)
            while len(self._entries) > self.size:
                self._drop(next(iter(self._entries)))
            return True

    def invalidate(self, keys: Iterable[str]) -> None:
        """Forget every answer read from any of ``keys`` (``EVERYTHING``: all of them)."""
        with self._lock:
            self._seq += 1
            keys = set(keys)
            if EVERYTHING in keys:
                self._entries.clear()
                self._by_key.clear()
                self._touched.clear()
                self._floor = self._seq
                return
            for k in keys:
                self._touched[k] = self._seq
                self._touched.move_to_end(k)
                for token in list(self._by_key.get(k, ())):
                    self._drop(token)
            while len(self._touched) > _TOUCHED_MAX:
                _, seq = self._touched.popitem(last=False)
                self._floor = max(self._floor, seq)

    def clear(self) -> None:
        self.invalidate([EVERYTHING])

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, token: str) -> None:
        entry = self._entries.pop(token, None)
        if entry is None:
            return
        for k in entry.keys:
            tokens = self._by_key.get(k)
            if tokens is not None:
                tokens.discard(token)
                if not tokens:
                    del self._by_key[k]


class RedisBus:
    """Carries the keys each commit touched to every host (Redis pub/sub), and applies what others send."""

    def __init__(self, url: str, cache: BadgeCache[Any]) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                           health_check_interval=10)
        self.cache = cache
        self.origin = secrets.token_hex(8)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()

    def publish(self, keys: set[str]) -> None:
        try:
            self._redis.publish(CHANNEL, json.dumps({"from": self.origin, "keys": sorted(keys)}))
        except Exception as exc:  # the others forget it within the time to live
            _log.warning("badge change not sent to other hosts (%s)", type(exc).__name__)

    def start(self) -> None:
        _buses.add(self)
        self._thread = threading.Thread(target=self._listen, name="badge-changes", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        _buses.discard(self)
        self._stopping.set()
        if self._thread:
            self._thread.join(timeout=5)
        self._redis.close()

    def _listen(self) -> None:
        while not self._stopping.is_set():
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call,unused-ignore]
            try:
                pubsub.subscribe(CHANNEL)
                self.cache.clear()  # whatever was sent while not listening is lost: start afresh
                self.connected.set()
                while not self._stopping.is_set():
                    message = pubsub.get_message(timeout=0.5)
                    if message and message.get("type") == "message":
                        self._apply(message["data"])
            except Exception as exc:
                self.connected.clear()
                _log.warning("badge changes: lost Redis (%s); retrying", type(exc).__name__)
                self._stopping.wait(1.0)
            finally:
                pubsub.close()

    def _apply(self, data: bytes) -> None:
        try:
            message = json.loads(data)
            if message.get("from") != self.origin:
                self.cache.invalidate(str(k) for k in message["keys"])
        except (ValueError, KeyError, TypeError):
            self.cache.clear()


_caches: "weakref.WeakSet[BadgeCache[Any]]" = weakref.WeakSet()
_buses: "weakref.WeakSet[RedisBus]" = weakref.WeakSet()
_generations: dict[Path, Generation] = {}
_registry_lock = threading.Lock()


def generation_for(data_dir: Path) -> Generation:
    key = data_dir.resolve()
    with _registry_lock:
        if key not in _generations:
            _generations[key] = Generation(key)
        return _generations[key]


def _touched(session: Session) -> set[str]:
    keys: set[str] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        keys |= keys_of(obj)
    return keys


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush_context: Any) -> None:
    keys = _touched(session)
    if keys:
        session.info.setdefault(_CHANGED, set()).update(keys)
        for cache in list(_caches):  # the flushing connection itself already sees the change
            cache.invalidate(keys)
        for generation in list(_generations.values()):
            generation.bump()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    keys: set[str] = session.info.pop(_CHANGED, set())
    if not keys:
        return
    for cache in list(_caches):  # now every connection sees it
        cache.invalidate(keys)
    for generation in list(_generations.values()):
        generation.bump()
    for bus in list(_buses):
        bus.publish(keys)

