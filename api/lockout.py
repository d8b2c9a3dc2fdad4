"""Failed logins (API.md, "Accounts"): after 5 wrong passwords for one username within 15 minutes, or 20 from
one client, that username or client answers 429 ``login_locked`` with ``Retry-After`` until the window passes.

Counted in Redis when configured, so the lock holds on every host; in this process otherwise (and, should Redis
stop answering, in this process until it answers again: a lock that fails open would be no lock). A locked name
or client costs no hash at all: the lock is read before the password is hashed, and read again once the login
has its hash slot (``AUXDUTY_LOGIN_HASH_SLOTS``), so a crowd of guesses for one name reaches Argon2 at most
limit + slots − 1 times. Only wrong passwords count; a right one clears its name's count. Names are kept as a
keyed hash, never as typed.
"""

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, TypeVar

from api.capacity import ServiceBusy
from api.domain.errors import DomainError
from api.ratelimit import MemoryStore

_log = logging.getLogger("auxduty.lockout")
T = TypeVar("T")


@dataclass(frozen=True)
class LoginLimits:
    per_username: int = 5
    per_client: int = 20
    window_s: int = 15 * 60


class LoginLocked(DomainError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__("login_locked", f"登录失败次数过多，请{minutes}分钟后再试",
                         f"too many failed logins; try again in {retry_after} s")
        self.retry_after = retry_after


class Counter(Protocol):
    def take(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one failure on ``key``; the count in its window and the seconds left in it."""

    def peek(self, key: str) -> tuple[int, int]:
        """The count on ``key`` and the seconds left in its window ((0, 0) when none)."""

    def clear(self, key: str) -> None: ...


class MemoryCounter(MemoryStore):
    """The rate limiter's in-process fixed window, counting failures."""

    def take(self, key: str, window_s: int) -> tuple[int, int]:
        return self.hit(key, window_s)

    def peek(self, key: str) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            count, ends = self._counts.get(key, (0, 0.0))
        return (count, max(1, int(ends - now + 0.999))) if now < ends else (0, 0)

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


# INCR, and start the window's clock at the first attempt: the lock lasts until the window passes.
_TAKE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


class RedisCounter:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._take = self._redis.register_script(_TAKE)

    def take(self, key: str, window_s: int) -> tuple[int, int]:
        count, ttl = self._take(keys=[f"auxduty:login:{key}"], args=[window_s])
        return int(count), max(1, int(ttl))

    def peek(self, key: str) -> tuple[int, int]:
        full = f"auxduty:login:{key}"
        pipe = self._redis.pipeline()
        pipe.get(full)
        pipe.ttl(full)
        count, ttl = pipe.execute()
        return (int(count), max(1, int(ttl))) if count is not None and int(ttl) > 0 else (0, 0)

    def clear(self, key: str) -> None:
        self._redis.delete(f"auxduty:login:{key}")


class LoginGuard:
    def __init__(self, counter: Counter, *, secret: str, limits: LoginLimits = LoginLimits()) -> None:
        self.counter = counter
        self.fallback = MemoryCounter()
        self.limits = limits
        self._name_key = hmac.new(secret.encode(), b"auxduty/login-names/v1", hashlib.sha256).digest()

    def _name(self, username: str) -> str:
        return "u:" + hmac.new(self._name_key, username.strip().casefold().encode(), hashlib.sha256).hexdigest()

    def _counter(self, use: Callable[[Counter], T]) -> T:
        try:
            return use(self.counter)
        except Exception as exc:  # Redis down: count here rather than not at all
            _log.warning("login counter unavailable (%s); counting in this process", type(exc).__name__)
            return use(self.fallback)

    def check(self, username: str, client: str) -> None:
        """``LoginLocked`` when the name or the client has had its fill of wrong passwords in this window."""
        name, who = self._name(username), f"c:{client}"
        n_name, left_name = self._counter(lambda c: c.peek(name))
        n_client, left_client = self._counter(lambda c: c.peek(who))
        locked = [left for n, limit, left in ((n_name, self.limits.per_username, left_name),
                                              (n_client, self.limits.per_client, left_client)) if n >= limit]
        if locked:
            raise LoginLocked(max(locked))

    def failed(self, username: str, client: str) -> None:
        window = self.limits.window_s
        name, who = self._name(username), f"c:{client}"
        self._counter(lambda c: c.take(name, window))
        self._counter(lambda c: c.take(who, window))

    def succeeded(self, username: str) -> None:
        name = self._name(username)
        self._counter(lambda c: c.clear(name))


def make_login_guard(redis_url: str | None, secret: str, limits: LoginLimits) -> LoginGuard:
    return LoginGuard(RedisCounter(redis_url) if redis_url else MemoryCounter(), secret=secret, limits=limits)


@contextmanager
def password_check(guard: LoginGuard, hash_slots: threading.BoundedSemaphore, *, queue_seconds: float,
                   username: str, client: str, failure: type[Exception]) -> Iterator[None]:
    """Around every password check, the API's and the desk's alike: the lock read before any hashing (a locked
    name costs nothing), one of the hash slots, ``failure`` counted as a wrong password, success clearing the
    name's count."""
    guard.check(username, client)
    if not hash_slots.acquire(timeout=queue_seconds):
        raise ServiceBusy(2, "登录人数过多", "too many logins at once")
    try:
        guard.check(username, client)  # again: the guesses ahead of it in the queue may have locked it
        yield
    except failure:
        guard.failed(username, client)
        raise
    finally:
        hash_slots.release()
    guard.succeeded(username)
