"""Per-client rate limits on the public endpoints, shared by every worker when Redis is configured.

A fixed window per (rule, client): cheap, and enough to keep a scraper or a flood of photos from
crowding out citizens. Without Redis the counters live in this process (one worker on a laptop).
"""

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from api.domain.errors import DomainError


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    window_s: int


# Generous for a person at a badge; tight for what costs CPU (photos) or an agency's time (complaints).
VERIFY = Rule("verify", 120, 60)
IMAGE = Rule("image", 20, 60)
COMPLAINT = Rule("complaint", 10, 3600)
LOOKUP = Rule("lookup", 60, 60)


class RateLimited(DomainError):
    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__("rate_limited", f"请求过于频繁，请{retry_after}秒后再试",
                         f"too many requests; retry in {retry_after} s")
        self.retry_after = retry_after


class Store(Protocol):
    def hit(self, key: str, window_s: int) -> tuple[int, int]:
        """Count one hit on ``key``; return the count in this window and the seconds left in it."""
        ...


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def hit(self, key: str, window_s: int) -> tuple[int, int]:
        now = time.monotonic()
        with self._lock:
            count, ends = self._counts.get(key, (0, 0.0))
            if now >= ends:
                count, ends = 0, now + window_s
                if len(self._counts) > 100_000:  # forget finished windows rather than grow forever
                    self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
            self._counts[key] = (count + 1, ends)
            return count + 1, max(1, int(ends - now + 0.999))


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, key: str, window_s: int) -> tuple[int, int]:
        bucket = int(time.time()) // window_s
        full = f"auxduty:rl:{key}:{bucket}"
        pipe = self._redis.pipeline()
        pipe.incr(full)
        pipe.expire(full, window_s + 1)
        count, _ = pipe.execute()
        return int(count), window_s - int(time.time()) % window_s


class Limiter:
    def __init__(self, store: Store, *, scale: float = 1.0) -> None:
        self.store = store
        self.scale = scale
        # Whether a check may wait on the network (and so belongs off the event loop).
        self.blocking = isinstance(store, RedisStore)

    def check(self, rule: Rule, client: str) -> None:
        try:
            count, retry_after = self.store.hit(f"{rule.name}:{client}", rule.window_s)
        except Exception:  # a sick Redis must not take verification down with it
            return
        if count > max(1, int(rule.limit * self.scale)):
            raise RateLimited(retry_after)


def make_limiter(redis_url: str | None, scale: float) -> Limiter:
    return Limiter(RedisStore(redis_url) if redis_url else MemoryStore(), scale=scale)
