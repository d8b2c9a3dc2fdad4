"""Release a wave at once: one connection per client, every request waiting at a gate until all are ready."""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx2
import uvloop

from bench.crowd.mix import Call


@dataclass
class Answer:
    status: int  # 0: no answer (a timeout or a refused or reset connection)
    ms: float  # from the release of the wave to the end of this answer
    body: Any = None
    retry_after: str | None = None
    content_type: str = ""
    error: str = ""


def _body(r: httpx2.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return r.text[:300]


async def _fire(base: str, calls: list[Call], timeout: float) -> tuple[list[Answer], float]:
    # No pooling between clients: each simultaneous request opens a connection of its own, and the client
    # is closed after the wave, so no wave inherits another's connections.
    limits = httpx2.Limits(max_connections=None, max_keepalive_connections=0)
    async with httpx2.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:
        gate = asyncio.Event()
        released = 0.0

        async def one(call: Call) -> Answer:
            await gate.wait()
            try:
                r = await client.request(call.method, call.path, headers=call.headers, json=call.json,
                                         data=call.form)
            except httpx2.HTTPError as exc:
                return Answer(0, (time.perf_counter() - released) * 1000, error=f"{type(exc).__name__}: {exc}")
            keep = call.kind in ("task", "task_refused", "sync") or r.status_code >= 500
            return Answer(r.status_code, (time.perf_counter() - released) * 1000, _body(r) if keep else None,
                          r.headers.get("retry-after"), r.headers.get("content-type", ""))

        pending = [asyncio.create_task(one(c)) for c in calls]
        await asyncio.sleep(0.1)  # every request is parked at the gate
        released = time.perf_counter()
        gate.set()
        answers = await asyncio.gather(*pending)
        return list(answers), time.perf_counter() - released


def fire(base: str, calls: list[Call], *, timeout: float = 60.0) -> tuple[list[Answer], float]:
    """The answers, in the order of ``calls``, and the wave's wall time in seconds."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(_fire(base, calls, timeout))
