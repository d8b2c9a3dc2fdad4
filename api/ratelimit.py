"""Per-client rate limits on the public endpoints, shared by every worker when Redis is configured.

A fixed window per (rule, client): cheap, and enough to keep a scraper or a flood of photos from
crowding out citizens. Without Redis the counters live in this process (one worker on a laptop).
"""

import asyncio
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

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
    """Counters in Redis, shared by every worker of every host. The event loop asks through redis-py's asyncio
    client (one per loop), so a badge check never takes a trip to the thread pool to be counted; code on a
    worker thread asks through the blocking client."""

    def __init__(self, url: str) -> None:
        import redis

        self._url = url
        self._redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    @staticmethod
    def _key(key: str, window_s: int) -> tuple[str, int]:
        now = int(time.time())
        return f"auxduty:rl:{key}:{now // window_s}", window_s - now % window_s

    def hit(self, key: str, window_s: int) -> tuple[int, int]:
        full, left = self._key(key, window_s)
        pipe = self._redis.pipeline()
        pipe.incr(full)
        pipe.expire(full, window_s + 1)
        count, _ = pipe.execute()
        return int(count), left

    async def hit_async(self, key: str, window_s: int) -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        client = self._by_loop.get(loop)
        if client is None:
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(self._url, socket_timeout=0.5, socket_connect_timeout=0.5)
            self._by_loop[loop] = client
        full, left = self._key(key, window_s)
        async with client.pipeline() as pipe:
            pipe.incr(full)
            pipe.expire(full, window_s + 1)
            count, _ = await pipe.execute()
        return int(count), left

    async def aclose(self) -> None:
        """Close this loop's asyncio client (the app's shutdown: its sockets belong to the loop)."""
        client = self._by_loop.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()


class Limiter:
    def __init__(self, store: Store, *, scale: float = 1.0) -> None:
        self.store = store
        self.scale = scale

    def check(self, rule: Rule, client: str) -> None:
        """Count one request of ``client`` against ``rule`` (429 past the limit), from a worker thread."""
        try:
            count, retry_after = self.store.hit(f"{rule.name}:{client}", rule.window_s)
        except Exception:  # a sick Redis must not take verification down with it
            return
        self._judge(rule, count, retry_after)

    async def check_async(self, rule: Rule, client: str) -> None:
        """``check`` from the event loop: the in-process counters at once, Redis without blocking the loop."""
        if not isinstance(self.store, RedisStore):
            self.check(rule, client)
            return
        try:
            count, retry_after = await self.store.hit_async(f"{rule.name}:{client}", rule.window_s)
        except Exception:  # a sick Redis must not take verification down with it
            return
        self._judge(rule, count, retry_after)

    async def aclose(self) -> None:
        if isinstance(self.store, RedisStore):
            await self.store.aclose()

    def _judge(self, rule: Rule, count: int, retry_after: int) -> None:
        if count > max(1, int(rule.limit * self.scale)):
            raise RateLimited(retry_after)


def make_limiter(redis_url: str | None, scale: float) -> Limiter:
    return Limiter(RedisStore(redis_url) if redis_url else MemoryStore(), scale=scale)
