"""New task records stored a batch at a time (api/capacity.py ``Batches``, api/routes/new_tasks.py): what
arrives while a batch is stored goes together in the next; on PostgreSQL a batch is two statements, who asks
for every record and every admitted record with its leaf, and each record is answered as if it came alone."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.capacity import Batches, ServiceBusy
from api.domain.audit.check import verify_log
from api.domain.fieldwork.context import field_context_of_login, field_contexts_of_logins
from api.domain.fieldwork.phone_ids import insert_logged_new
from api.domain.fieldwork.tasks import admitted_task_values
from api.domain.log_tables import LogPending
from api.domain.models import RefreshToken, Task
from api.routes import new_tasks
from api.security import AccessClaims, decode_access
from schemas.tasks import TaskCreate
from tests.api.test_sync_as_values import assert_logged_as_stored
from tests.factories import login, make_agency, make_auxiliary, make_officer, task_payload


class _Work:
    """A batch's work that records each batch it is given and how many ran at once; the first batch waits for
    ``gate`` when one is given."""

    def __init__(self, gate: asyncio.Event | None = None, fail_first: bool = False) -> None:
        self.gate, self.fail_first = gate, fail_first
        self.batches: list[list[int]] = []
        self.now = self.most = 0

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            if len(self.batches) == 1 and self.gate is not None:
                await self.gate.wait()
            await asyncio.sleep(0.01)
            if len(self.batches) == 1 and self.fail_first:
                raise RuntimeError("the first batch failed")
            return [i * 10 for i in items]
        finally:
            self.now -= 1


async def _arrive(batches: Batches[int, int], work: _Work, items: list[int]) -> list[asyncio.Future[int]]:
    """Each item sent in turn, each after the one before it has been queued or taken."""
    sent: list[asyncio.Future[int]] = []
    for item in items:
        sent.append(asyncio.ensure_future(batches.run(item, work)))
        await asyncio.sleep(0)
    return sent


def test_what_arrives_while_a_batch_is_stored_goes_together_in_the_next() -> None:
    async def main() -> tuple[list[int], _Work]:
        gate = asyncio.Event()
        work = _Work(gate)
        sent = await _arrive(Batches(1, 5.0), work, [1, 2, 3, 4])
        gate.set()
        return list(await asyncio.gather(*sent)), work

    results, work = asyncio.run(main())
    assert results == [10, 20, 30, 40]  # each item its own result
    assert work.batches == [[1], [2, 3, 4]]


def test_a_batch_takes_at_most_its_most_and_size_batches_run_at_once() -> None:
    async def main(size: int) -> _Work:
        gate = asyncio.Event()
        work = _Work(gate)
        sent = await _arrive(Batches(size, 5.0, most=2), work, [1, 2, 3, 4, 5, 6])
        await asyncio.sleep(0.05)
        gate.set()
        assert list(await asyncio.gather(*sent)) == [10, 20, 30, 40, 50, 60]
        return work

    one = asyncio.run(main(1))
    assert one.batches == [[1], [2, 3], [4, 5], [6]] and one.most == 1
    two = asyncio.run(main(2))
    assert two.batches[:2] == [[1], [2]] and two.most == 2  # the second ran while the first waited
    assert sorted(i for batch in two.batches for i in batch) == [1, 2, 3, 4, 5, 6]
    assert all(len(batch) <= 2 for batch in two.batches)


def test_an_item_no_batch_took_in_time_is_told_the_service_is_busy_and_never_runs() -> None:
    async def main() -> tuple[list[Any], _Work]:
        gate = asyncio.Event()
        work = _Work(gate)
        batches: Batches[int, int] = Batches(1, 0.05)
        sent = await _arrive(batches, work, [1, 2])
        late = await asyncio.gather(sent[1], return_exceptions=True)
        gate.set()
        return [await sent[0], *late], work

    (first, second), work = asyncio.run(main())
    assert first == 10  # taken at once: waited for however long its batch took
    assert isinstance(second, ServiceBusy) and second.retry_after == 1
    assert work.batches == [[1]]


def test_an_item_given_up_before_a_batch_took_it_never_runs() -> None:
    async def main() -> _Work:
        gate = asyncio.Event()
        work = _Work(gate)
        sent = await _arrive(Batches(1, 5.0), work, [1, 2, 3])
        sent[1].cancel()  # its request went away while it waited
        await asyncio.sleep(0)
        gate.set()
        assert await sent[0] == 10 and await sent[2] == 30
        return work

    assert asyncio.run(main()).batches == [[1], [3]]


def test_a_failed_batch_fails_each_of_its_items_and_the_next_batch_runs() -> None:
    async def main() -> list[Any]:
        gate = asyncio.Event()
        sent = await _arrive(Batches(1, 5.0), _Work(gate, fail_first=True), [1, 2, 3])
        gate.set()
        return list(await asyncio.gather(*sent, return_exceptions=True))

    first, second, third = asyncio.run(main())
    assert isinstance(first, RuntimeError)
    assert (second, third) == (20, 30)


def _claims(client: TestClient, headers: dict[str, str]) -> AccessClaims:
    token = headers["Authorization"].removeprefix("Bearer ")
    return decode_access(client.app.state.ctx.access_secret, token)  # type: ignore[attr-defined]


def test_field_contexts_of_many_logins_are_each_logins_own(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    (a_user, a_aux), (b_user, _), (c_user, _) = (make_auxiliary(db, agency) for _ in range(3))
    officer_user, _ = make_officer(db, agency)
    a_phone, a_tablet = _claims(client, login(client, a_user)), _claims(client, login(client, a_user))
    b_login, c_login = _claims(client, login(client, b_user)), _claims(client, login(client, c_user))
    officer = _claims(client, login(client, officer_user))
    db.execute(update(RefreshToken).where(RefreshToken.family_id == a_tablet.family)
               .values(revoked_at=datetime.now(UTC)))  # the tablet's login is ended, the phone's is not
    c_user.active = False
    db.flush()
    logins = [(c.sub, c.family) for c in (a_phone, a_tablet, b_login, c_login, officer)]
    logins.append((uuid.uuid4(), uuid.uuid4()))  # nobody
    together = field_contexts_of_logins(db, [(u, f) for u, f in logins if f is not None])
    assert set(together) == {(a_phone.sub, a_phone.family), (b_login.sub, b_login.family)}
    for user_id, family in logins:
        assert family is not None
        alone = field_context_of_login(db, user_id, family)
        got = together.get((user_id, family))
        assert (got is None) == (alone is None)
        if got is not None and alone is not None:
            assert (got.aux.id, got.valid_since, got.term_ended) == (alone.aux.id, alone.valid_since,
                                                                    alone.term_ended)
    assert a_phone.family is not None and together[a_phone.sub, a_phone.family].aux.id == a_aux.id


def _draft(body: dict[str, Any]) -> Any:
    return TaskCreate.model_validate(body).to_draft()


def test_many_new_records_and_their_leaves_are_one_statement(client: TestClient, db: Session, backend: str
                                                            ) -> None:
    if backend != "postgresql":
        pytest.skip("many records in one statement is PostgreSQL's")
    agency = make_agency(db)
    (a_user, _), (b_user, _) = make_auxiliary(db, agency), make_auxiliary(db, agency)
    a_headers = login(client, a_user)
    before = task_payload()
    assert client.post("/api/tasks", json=before, headers=a_headers).status_code == 201
    contexts = field_contexts_of_logins(db, {(c.sub, c.family) for c in (
        _claims(client, a_headers), _claims(client, login(client, b_user))) if c.family is not None})
    a_fc, b_fc = sorted(contexts.values(), key=lambda fc: fc.user.id != a_user.id)
    bodies = [(a_fc, task_payload()), (b_fc, task_payload(ended_at=None)), (a_fc, before),
              (b_fc, task_payload(description="第二条"))]
    leaves = db.scalar(select(func.count()).select_from(LogPending)) or 0
    stored = insert_logged_new(db, [(admitted_task_values(db, fc, _draft(body)), fc.user.id) for fc, body in bodies],
                               model=Task, action="task.recorded")
    assert [None if row is None else str(row["id"]) for row in stored] == [
        bodies[0][1]["id"], bodies[1][1]["id"], None, bodies[3][1]["id"]]  # the one stored before: nothing new
    assert db.scalar(select(func.count()).select_from(LogPending)) == leaves + 3
    assert_logged_as_stored(client, db, [uuid.UUID(bodies[0][1]["id"])], a_user.id)
    assert_logged_as_stored(client, db, [uuid.UUID(bodies[i][1]["id"]) for i in (1, 3)], b_user.id)
    task = db.get(Task, uuid.UUID(bodies[1][1]["id"]))
    assert task is not None and task.ended_at is None and task.auxiliary_id == b_fc.aux.id
    assert verify_log(db).ok


def test_a_batch_answers_each_record_as_the_route_would_and_leaves_the_rest_to_it(
        client: TestClient, db: Session, backend: str) -> None:
    if backend != "postgresql":
        pytest.skip("a batch in two statements is PostgreSQL's")
    agency = make_agency(db)
    (a_user, _), (b_user, _) = make_auxiliary(db, agency), make_auxiliary(db, agency)
    a_headers, b_headers = login(client, a_user), login(client, b_user)
    a, b = _claims(client, a_headers), _claims(client, b_headers)
    db.execute(update(RefreshToken).where(RefreshToken.family_id == b.family).values(revoked_at=datetime.now(UTC)))
    db.flush()
    before = task_payload()
    assert client.post("/api/tasks", json=before, headers=a_headers).status_code == 201
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    bodies = [(a, task_payload()), (a, task_payload(started_at=future, ended_at=None)), (b, task_payload()),
              (a, before), (a, task_payload(description="同一批的第二条"))]
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    answers = new_tasks._record_together(db, ctx, [(claims, _draft(body)) for claims, body in bodies])
    assert [answer is not None for answer in answers] == [True, False, False, False, True]
    for answer, (_, body) in zip(answers, bodies, strict=True):
        if answer is not None:
            content, waiting = answer
            assert waiting is None  # done alone: nobody to tell
            assert content == client.get(f"/api/tasks/{body['id']}", headers=a_headers).content
    for i in (1, 2):  # refused, and from an ended login: nothing kept, for the route to answer
        assert db.get(Task, uuid.UUID(bodies[i][1]["id"])) is None
    assert verify_log(db).ok
