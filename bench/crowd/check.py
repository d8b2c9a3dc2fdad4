"""What must hold after every wave: each task write that was answered 200 or 201 is stored exactly once and
none that was refused is stored; every 503 says when to come back; a badge whose suspension or reinstatement
was answered 200 shows its new status on the next scan; the worker answers at once afterwards."""

import random
import time
from collections import Counter

import httpx2

from bench.crowd.fire import Answer
from bench.crowd.mix import EXPECTED, Call, Ledger
from bench.crowd.seed import World

BUSY_CODES = {"service_busy", "database_unavailable"}


def findings(calls: list[Call], answers: list[Answer]) -> Counter[str]:
    """Answers outside the contract: a 5xx other than a well-formed 503, no answer, a status a kind may not give."""
    found: Counter[str] = Counter()
    for call, a in zip(calls, answers, strict=True):
        if a.status == 0:
            found[f"{call.kind}: no answer ({a.error.split(':')[0]})"] += 1
        elif a.status == 503:
            code = a.body.get("code") if isinstance(a.body, dict) else None
            if code not in BUSY_CODES or "problem+json" not in a.content_type or not (a.retry_after or "").isdigit():
                found[f"{call.kind}: 503 {code or a.body!r:.80} without problem+json and Retry-After"] += 1
        elif a.status >= 500:
            found[f"{call.kind}: {a.status} {a.body!r:.120}"] += 1
        elif a.status not in EXPECTED[call.kind]:
            found[f"{call.kind}: unexpected {a.status} {call.method} {call.path.split('?')[0][:40]}"] += 1
    return found


def record(ledger: Ledger, calls: list[Call], answers: list[Answer]) -> None:
    """What each write's answer says became of its task ids."""
    for call, a in zip(calls, answers, strict=True):
        if not call.task_ids:
            continue
        if a.status == 0:
            fates = dict.fromkeys(call.task_ids, "unanswered")
        elif call.kind == "sync" and a.status == 200:
            fates = {r["id"]: "accepted" if r["result"] in ("created", "duplicate") else "refused"
                     for r in a.body["tasks"]}
        else:
            fates = dict.fromkeys(call.task_ids, "accepted" if a.status in (200, 201) else "refused")
        for task_id, fate in fates.items():
            if fate == "accepted":
                ledger.accept(task_id)
            elif task_id not in ledger.accepted:
                (ledger.unanswered if fate == "unanswered" else ledger.refused).add(task_id)


def _stored(c: httpx2.Client, admin: dict[str, str]) -> Counter[str]:
    seen: Counter[str] = Counter()
    cursor: str | None = None
    while True:
        page = c.get("/api/tasks", headers=admin, params={"limit": 200, **({"cursor": cursor} if cursor else {})})
        page.raise_for_status()
        seen.update(t["id"] for t in page.json()["items"])
        cursor = page.json()["next_cursor"]
        if not cursor:
            return seen


def exactly_once(base: str, world: World, ledger: Ledger, rng: random.Random) -> list[str]:
    problems = []
    with httpx2.Client(base_url=base, timeout=60) as c:
        stored = _stored(c, world.admin)
        twice = [i for i, n in stored.items() if n > 1]
        missing = ledger.accepted - stored.keys()
        kept = ledger.refused & stored.keys()
        stray = stored.keys() - ledger.accepted - ledger.unanswered - ledger.refused
        for what, ids in (("stored more than once", twice), ("answered 2xx but not stored", missing),
                          ("refused but stored", kept), ("stored but never sent", stray)):
            if ids:
                problems.append(f"{len(ids)} task(s) {what}, e.g. {sorted(ids)[:3]}")
        for task_id in rng.sample(sorted(ledger.accepted), min(20, len(ledger.accepted))):
            writer = world.writers[ledger.bodies[task_id][0]][1]
            r = c.get(f"/api/tasks/{task_id}", headers=writer)
            if r.status_code != 200 or r.json()["id"] != task_id:
                problems.append(f"task {task_id} answered 2xx, read back as {r.status_code}")
    return problems


def badge_changes(base: str, calls: list[Call], answers: list[Answer], rng: random.Random) -> tuple[int, list[str]]:
    """Flip the badges whose change was answered 200 and scan each once: it must show the new status."""
    problems, changed = [], 0
    with httpx2.Client(base_url=base, timeout=10) as c:
        for call, a in zip(calls, answers, strict=True):
            if call.badge is None or a.status != 200:
                continue
            call.badge.suspended = not call.badge.suspended
            changed += 1
            address = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            seen = c.get(f"/api/public/verify/{call.badge.token}", headers={"X-Forwarded-For": address})
            want = "suspended" if call.badge.suspended else "valid"
            if seen.status_code != 200 or seen.json()["status"] != want:
                problems.append(f"badge {call.badge.badge_no} shows {seen.status_code} {seen.text[:60]}, not {want}")
    return changed, problems


def answers_at_once(base: str) -> tuple[float, list[str]]:
    started = time.perf_counter()
    try:
        r = httpx2.get(f"{base}/api/public/notices", timeout=5, headers={"X-Forwarded-For": "10.0.0.1"})
    except httpx2.HTTPError as exc:
        return 5000.0, [f"the worker did not answer after the wave: {exc}"]
    ms = (time.perf_counter() - started) * 1000
    return ms, ([] if r.status_code == 200 else [f"the worker answered {r.status_code} after the wave"])
