"""The probes of whoever runs the service: ``/healthz`` (the process serves) and ``/readyz`` (what it needs
answers).

Readiness is a list of named checks, ``app.state.readiness.checks``: the database always, Redis where
``AUXDUTY_REDIS_URL`` is set; a part of the service that needs something else adds its own::

    add_readiness_check(app, "storage", store.ping)

A check is a plain function that returns when its dependency answers and raises when it does not. Checks run
on threads of their own (never the database slots of api/capacity.py, nor the threads requests wait for),
all at once; one that has not answered within ``READY_TIMEOUT_S`` counts as down, so a probe under a crowd
or against a hung dependency still answers within about a second. The database is asked on a connection of
its own, outside the pool the requests share. One round of checks serves every probe for ``REUSE_S``, so a
flood of probes costs the database one connection a second.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from fastapi import APIRouter, FastAPI, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import NullPool

from api.errors import problem

READY_TIMEOUT_S = 0.8
REUSE_S = 1.0
log = logging.getLogger("auxduty.health")

CheckState = Literal["ok", "down", "timeout"]


@dataclass(frozen=True)
class ReadinessCheck:
    name: str
    probe: Callable[[], object]


class Readiness:
    """The checks of one app, and the last round of them."""

    def __init__(self, timeout_s: float = READY_TIMEOUT_S, reuse_s: float = REUSE_S) -> None:
        self.checks: list[ReadinessCheck] = []
        self.timeout_s = timeout_s
        self.reuse_s = reuse_s
        self._last: tuple[float, dict[str, CheckState]] | None = None
        self._round: asyncio.Task[dict[str, CheckState]] | None = None
        self._limiter: tuple[asyncio.AbstractEventLoop, anyio.CapacityLimiter] | None = None

    async def states(self) -> dict[str, CheckState]:
        """Each check's state, from the last round when it is fresh; concurrent probes share one round."""
        if self._last is not None and time.monotonic() - self._last[0] < self.reuse_s:
            return self._last[1]
        loop = asyncio.get_running_loop()
        if self._round is None or self._round.done() or self._round.get_loop() is not loop:
            self._round = loop.create_task(self._check_all())
        # Shielded: a probe that hangs up does not cancel the round the others wait for.
        return await asyncio.shield(self._round)

    async def _check_all(self) -> dict[str, CheckState]:
        tasks = {c.name: asyncio.ensure_future(self._check(c)) for c in list(self.checks)}
        if tasks:
            _, pending = await asyncio.wait(tasks.values(), timeout=self.timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        states: dict[str, CheckState] = {
            name: task.result() if task.done() and not task.cancelled() else "timeout" for name, task in tasks.items()}
        for name, state in states.items():
            if state == "timeout":
                log.warning("readiness check %s gave no answer within %.1f s", name, self.timeout_s)
        self._last = (time.monotonic(), states)
        return states

    async def _check(self, check: ReadinessCheck) -> CheckState:
        try:
            # Abandoned at the time limit: the thread finishes (or times out) by itself, nobody waits for it.
            await anyio.to_thread.run_sync(check.probe, abandon_on_cancel=True, limiter=self._threads())
        except Exception as exc:
            log.warning("readiness check %s failed: %s", check.name, type(exc).__name__)
            return "down"
        return "ok"

    def _threads(self) -> anyio.CapacityLimiter:
        # Made in the serving loop (a test client runs each app in a loop of its own).
        loop = asyncio.get_running_loop()
        if self._limiter is None or self._limiter[0] is not loop:
            self._limiter = (loop, anyio.CapacityLimiter(8))
        return self._limiter[1]


def database_probe(engine: Engine) -> Callable[[], object]:
    """``SELECT 1`` on a new connection to the service's database, never one of the pool's."""
    timeouts: dict[str, dict[str, Any]] = {"sqlite": {"timeout": 1}, "postgresql": {"connect_timeout": 2}}
    alone = create_engine(engine.url, poolclass=NullPool, connect_args=timeouts.get(engine.dialect.name, {}))

    def probe() -> object:
        with alone.connect() as conn:
            return conn.exec_driver_sql("SELECT 1").scalar()

    return probe


def redis_probe(url: str) -> Callable[[], object]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return client.ping


def add_readiness_check(app: FastAPI, name: str, probe: Callable[[], object]) -> None:
    """Make ``/readyz`` answer 503 while ``probe`` raises (or gives no answer in time). A name given again
    replaces its check."""
    readiness: Readiness = app.state.readiness
    readiness.checks = [c for c in readiness.checks if c.name != name] + [ReadinessCheck(name, probe)]


class HealthRead(BaseModel):
    status: Literal["ok"] = "ok"


class ReadinessRead(BaseModel):
    status: Literal["ready"] = "ready"
    checks: dict[str, CheckState] = Field(examples=[{"database": "ok", "redis": "ok"}])


router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=HealthRead)
async def read_health() -> HealthRead:
    """200 while the process serves requests (a liveness probe). Asks nothing of the database; never
    rate-limited."""
    return HealthRead()


@router.get("/readyz", response_model=ReadinessRead, responses={
    503: {"description": "a check named in `down` did not answer (`checks` says how)"}})
async def read_readiness(request: Request) -> Response | ReadinessRead:
    """200 when the database answers, and Redis and storage where they are configured (a readiness probe);
    otherwise 503 `not_ready`, naming in `down` what did not answer. Answers within about a second, takes
    no database slot and is never rate-limited; one round of checks serves every probe for a second."""
    readiness: Readiness = request.app.state.readiness
    states = await readiness.states()
    down = [name for name, state in states.items() if state != "ok"]
    if down:
        names = ", ".join(down)
        return problem(request, 503, "not_ready", f"服务未就绪：{names} 无应答", f"not ready: {names} not answering",
                       headers={"Retry-After": "2"}, down=down, checks=states)
    return ReadinessRead(checks=states)


def install(app: FastAPI) -> None:
    """The probes, with the checks the settings call for (call after ``app.state.ctx`` is set)."""
    ctx = app.state.ctx
    app.state.readiness = Readiness()
    add_readiness_check(app, "database", database_probe(ctx.engine))
    if ctx.settings.redis_url:
        add_readiness_check(app, "redis", redis_probe(ctx.settings.redis_url))
    ping = getattr(getattr(ctx, "storage", None), "ping", None)  # the store of api/storage.py, once it is there
    if getattr(ctx.settings, "storage_url", None) and callable(ping):
        add_readiness_check(app, "storage", ping)
    app.include_router(router)
