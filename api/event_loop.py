"""How late the event loop runs what is due: every request's work passes through the one loop of its worker,
so a loop kept from running (a long callback, threads holding the interpreter lock) delays every request at
once. A timer due every ``EVERY_S`` notes how late it ran, in ``auxduty_event_loop_lag_seconds``."""

import asyncio
from typing import Protocol

EVERY_S = 0.1
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Observes(Protocol):
    def observe(self, amount: float) -> None: ...


async def watch_lag(lag: Observes, every: float = EVERY_S) -> None:
    """Until cancelled: sleep ``every`` seconds, and note how much later than that the loop woke."""
    loop = asyncio.get_running_loop()
    while True:
        due = loop.time() + every
        await asyncio.sleep(every)
        lag.observe(max(0.0, loop.time() - due))
