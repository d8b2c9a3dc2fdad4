"""One wave of the crowd: what citizens, phones and a desk send at the same moment.

Citizens check badges (by the QR's token, over every badge, some of which an agency is suspending or
reinstating in the same wave) and look badges up by number; a scraper walks badge numbers from one address and
meets the rate limit. Staff log in, some mistyping their password. Phones on duty write tasks with ids made on
the phone (a few re-sent, some while the first copy is still in flight, as a phone retries on a bad network)
and sync offline batches; people read lists. Every client comes from an address of its own, as nginx would
report it in X-Forwarded-For.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.crowd.seed import PASSWORD, Badge, World

# Share of the crowd per kind of request (the suspensions and reinstatements come on top: 1 in 100).
WEIGHTS = {"verify": 40, "number": 12, "login": 4, "login_wrong": 2, "task": 15, "task_refused": 1, "sync": 5,
           "list": 21}
# What each kind may answer besides 503 service_busy; anything else is a finding.
EXPECTED = {
    "verify": {200, 429}, "number": {200, 404, 429}, "login": {200}, "login_wrong": {401, 429},
    "task": {200, 201}, "task_refused": {422}, "sync": {200}, "list": {200}, "status": {200}, "bare": {200},
}
SYNC_BATCH = 10
RETRY_SHARE = 0.08


@dataclass
class Call:
    kind: str
    method: str
    path: str
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] | None = None
    writer: int = -1
    task_ids: tuple[str, ...] = ()
    badge: Badge | None = None


@dataclass
class Ledger:
    """Every task id sent so far, with its body and writer, and what became of it."""

    bodies: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)  # answered with a refusal, never accepted
    unanswered: set[str] = field(default_factory=set)  # sent, no answer came: either fate is allowed
    by_writer: dict[int, list[str]] = field(default_factory=dict)

    def accept(self, task_id: str) -> None:
        if task_id not in self.accepted:
            self.accepted.add(task_id)
            self.by_writer.setdefault(self.bodies[task_id][0], []).append(task_id)
        self.refused.discard(task_id)
        self.unanswered.discard(task_id)


class Crowd:
    def __init__(self, world: World, ledger: Ledger, rng: random.Random) -> None:
        self.world, self.ledger, self.rng = world, ledger, rng
        self.scraper = self._address()
        self._now = datetime.now(UTC)

    def _address(self) -> str:
        r = self.rng
        return f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def _from(self, address: str | None = None, auth: dict[str, str] | None = None) -> dict[str, str]:
        return {"X-Forwarded-For": address or self._address(), **(auth or {})}

    def _task(self, writer: int, category: str = "patrol") -> dict[str, Any]:
        started = self._now - timedelta(minutes=self.rng.randrange(40, 600), seconds=self.rng.randrange(60))
        # Ended at least 10 min ago: work ending in the future is refused (time_in_future, 5 min of slack).
        body: dict[str, Any] = {
            "id": str(uuid.uuid4()), "category": category,
            "description": self.rng.choice(["新街口商圈巡查，劝阻占道经营", "中山路沿线巡查，发现乱堆放上报",
                                            "发放垃圾分类宣传单", "协助核查店外经营"]),
            "started_at": started.isoformat(), "ended_at": (started + timedelta(minutes=30)).isoformat(),
            "lat": round(32.040 + self.rng.uniform(-0.004, 0.004), 5),
            "lon": round(118.781 + self.rng.uniform(-0.004, 0.004), 5),
        }
        if category == "inspection":
            body["officer_id"] = self.world.officer_id
        self.ledger.bodies[body["id"]] = (writer, body)
        return body

    def _resend(self, writer: int, wave: list[Call]) -> dict[str, Any] | None:
        """A body already sent by this writer: from this wave (the first copy still in flight) or an earlier one."""
        in_flight = [c.json for c in wave if c.kind == "task" and c.writer == writer]
        if in_flight and self.rng.random() < 0.5:
            return dict(self.rng.choice(in_flight))
        earlier = self.ledger.by_writer.get(writer)
        return dict(self.ledger.bodies[self.rng.choice(earlier)][1]) if earlier else None

    def _write(self, kind: str, wave: list[Call]) -> Call:
        writer = self.rng.randrange(len(self.world.writers))
        auth = self._from(auth=self.world.writers[writer][1])
        if kind == "sync":  # a phone back online: mostly new records, and two it sent before without an answer
            earlier = self.ledger.by_writer.get(writer, [])
            tasks = [self.ledger.bodies[i][1] for i in self.rng.sample(earlier, min(2, len(earlier)))]
            tasks += [self._task(writer) for _ in range(SYNC_BATCH - len(tasks))]
            self.rng.shuffle(tasks)
            return Call("sync", "POST", "/api/sync", auth, {"tasks": tasks, "shifts": []}, writer=writer,
                        task_ids=tuple(t["id"] for t in tasks))
        if kind == "task_refused":  # a duty this auxiliary was not granted (第七条): 422, stored nowhere
            body = self._task(writer, "clerical")
        else:
            again = self._resend(writer, wave) if self.rng.random() < RETRY_SHARE else None
            body = again or self._task(writer, "inspection" if self.rng.random() < 0.1 else "patrol")
        return Call(kind, "POST", "/api/tasks", auth, body, writer=writer, task_ids=(body["id"],))

    def _public(self, kind: str) -> Call:
        badge = self.rng.choice(self.world.badges)
        if kind == "verify":
            return Call(kind, "GET", f"/api/public/verify/{badge.token}", self._from())
        if self.rng.random() < 1 / 3:  # the scraper: real numbers and guessed ones, all from one address
            number = badge.badge_no if self.rng.random() < 0.5 else "".join(
                self.rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in badge.badge_no)
            return Call(kind, "GET", f"/api/public/badges/{number}", self._from(self.scraper))
        return Call(kind, "GET", f"/api/public/badges/{badge.badge_no}", self._from())

    def _login(self, wrong: bool) -> Call:
        if wrong:
            form = {"username": self.rng.choice(self.world.forgetful), "password": PASSWORD[::-1]}
            return Call("login_wrong", "POST", "/api/auth/token", self._from(), form=form)
        form = {"username": self.rng.choice(self.world.remembering), "password": PASSWORD}
        return Call("login", "POST", "/api/auth/token", self._from(), form=form)

    def _list(self) -> Call:
        roll = self.rng.random()
        if roll < 0.2:
            return Call("list", "GET", "/api/auxiliaries?limit=50", self._from(auth=self.world.admin))
        if roll < 0.3:
            return Call("list", "GET", "/api/tasks?limit=50", self._from(auth=self.world.admin))
        writer = self.rng.choice(self.world.writers)[1]
        return Call("list", "GET", "/api/me" if roll < 0.45 else "/api/tasks?limit=20", self._from(auth=writer))

    def _status(self, badge: Badge) -> Call:
        action, reason = ("reinstate", "调查结束，恢复上岗") if badge.suspended else ("suspend", "投诉调查期间暂停上岗")
        return Call("status", "POST", f"/api/auxiliaries/{badge.aux_id}/{action}", self._from(auth=self.world.admin),
                    {"reason": reason}, badge=badge)

    def wave(self, size: int) -> list[Call]:
        self._now = datetime.now(UTC)
        changes = max(2, size // 100)
        calls = [self._status(b) for b in self.rng.sample(self.world.toggled, changes)]
        for kind in self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()), k=size - changes):
            if kind in ("task", "task_refused", "sync"):
                calls.append(self._write(kind, calls))
            elif kind in ("verify", "number"):
                calls.append(self._public(kind))
            elif kind in ("login", "login_wrong"):
                calls.append(self._login(kind == "login_wrong"))
            else:
                calls.append(self._list())
        self.rng.shuffle(calls)
        return calls


def bare_wave(token: str, size: int) -> list[Call]:
    return [Call("bare", "GET", f"/bare/{token}", {}) for _ in range(size)]
