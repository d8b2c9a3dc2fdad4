"""A new task record is answered in front of the framework (api/routes/new_tasks.py), in one trip to a thread;
everything else about ``POST /api/tasks`` is the declared route's, and a request the short way began and gave
up leaves nothing behind."""

import functools
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.log_tables import LogPending
from api.domain.models import Article19Case, Task
from api.routes import new_tasks
from tests.api.test_sync_as_values import assert_logged_as_stored
from tests.api.test_thread_trips import trips
from tests.conftest import app_on, make_settings
from tests.factories import login, make_agency, make_auxiliary, make_officer, task_payload
from tests.problems import assert_problem

SHORT = ["_record_batch"]  # who asks, the field context, the record and its commit: one trip
DECLARED = ["get_current_user", "_and_commit"]  # the declared route's trips (tests/api/test_thread_trips.py)


def _leaves(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(LogPending)) or 0)


def test_a_new_record_takes_one_trip_and_is_answered_as_stored(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, aux = make_auxiliary(db, make_agency(db))
    headers = login(client, user)
    body = task_payload()
    with trips(monkeypatch) as seen:
        r = client.post("/api/tasks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert seen == SHORT
    assert r.headers["content-type"] == "application/json"
    assert r.json() == client.get(f"/api/tasks/{body['id']}", headers=headers).json()
    stored = db.get(Task, uuid.UUID(body["id"]))
    assert stored is not None and stored.auxiliary_id == aux.id
    assert_logged_as_stored(client, db, [stored.id], user.id)  # its leaf names who asked
    assert verify_log(db).ok


def test_the_answer_is_the_declared_routes_byte_for_byte(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, user)
    short = client.post("/api/tasks", json=task_payload(), headers=headers)
    monkeypatch.setattr(client.app.state.ctx.db_slots, "free", lambda: False)  # type: ignore[attr-defined]
    with trips(monkeypatch) as seen:
        declared = client.post("/api/tasks", json=task_payload(), headers=headers)
    assert seen == DECLARED
    assert short.status_code == declared.status_code == 201
    assert sorted(short.headers) == sorted(declared.headers)
    differ = {k for k in short.json() if short.json()[k] != declared.json()[k]}
    assert differ <= {"id", "created_at"}, differ
    assert short.content == _as_in(declared.content, declared.json(), short.json(), differ)


def _as_in(content: bytes, answer: dict[str, Any], other: dict[str, Any], keys: set[str]) -> bytes:
    """``content`` with the values of ``keys`` as ``other`` has them, as the same bytes."""
    for key in keys:
        content = content.replace(f'"{key}":"{answer[key]}"'.encode(), f'"{key}":"{other[key]}"'.encode())
    return content


def test_a_record_sent_again_is_answered_by_the_route_with_nothing_new(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, user)
    body = task_payload()
    first = client.post("/api/tasks", json=body, headers=headers)
    leaves = _leaves(db)
    with trips(monkeypatch) as seen:
        again = client.post("/api/tasks", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert seen == SHORT + DECLARED  # tried, given up (nothing inserted), then the route's answer
    assert again.json() == first.json()
    assert _leaves(db) == leaves


def test_a_refusal_is_the_routes_problem_and_stores_nothing(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    user, _ = make_auxiliary(db, agency, categories=["patrol"])
    headers = login(client, user)
    leaves = _leaves(db)
    body = task_payload(category="inspection")  # assisted (第八条), no officer named
    assert_problem(client.post("/api/tasks", json=body, headers=headers), 422, "officer_required", "第八条")
    assert db.get(Task, uuid.UUID(body["id"])) is None
    assert _leaves(db) == leaves


def test_forbidden_work_keeps_one_case_though_the_short_way_tried_first(client: TestClient, db: Session) -> None:
    user, _ = make_auxiliary(db, make_agency(db))
    body = task_payload(flags={"fine_quota": True})
    r = client.post("/api/tasks", json=body, headers=login(client, user))
    assert_problem(r, 422, "forbidden_work", "第十九条")
    cases = db.scalars(select(Article19Case).where(Article19Case.attempt_id == uuid.UUID(body["id"]))).all()
    assert len(cases) == 1
    assert db.get(Task, uuid.UUID(body["id"])) is None
    assert verify_log(db).ok


@pytest.mark.parametrize("change", ["no_token", "bad_token", "officer", "bad_json", "bad_field", "text_body"])
def test_what_the_short_way_does_not_take_gets_the_routes_answer(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    agency = make_agency(db)
    aux_user, _ = make_auxiliary(db, agency)
    officer_user, _ = make_officer(db, agency)
    headers = {**login(client, officer_user if change == "officer" else aux_user)}
    body = task_payload()
    content: bytes | None = None
    if change == "no_token":
        headers = {}
    elif change == "bad_token":
        headers = {"Authorization": "Bearer not-a-token"}
    elif change == "bad_json":
        content = b'{"id": '
    elif change == "bad_field":
        body["lat"] = 123.0
    elif change == "text_body":
        headers["Content-Type"] = "text/plain"
    leaves = _leaves(db)
    with trips(monkeypatch) as seen:
        if content is not None:
            r = client.post("/api/tasks", content=content, headers={**headers, "Content-Type": "application/json"})
        elif change == "text_body":
            r = client.post("/api/tasks", content=str(body), headers=headers)
        else:
            r = client.post("/api/tasks", json=body, headers=headers)
    expected = {"no_token": 401, "bad_token": 401, "officer": 403, "bad_json": 422, "bad_field": 422,
                "text_body": 422}[change]
    assert r.status_code == expected, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert "_record_batch" not in seen  # refused before any database work
    assert db.get(Task, uuid.UUID(body["id"])) is None
    assert _leaves(db) == leaves


def test_a_disabled_account_is_refused_by_the_route(client: TestClient, db: Session,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, user)
    user.active = False
    db.flush()
    with trips(monkeypatch) as seen:
        r = client.post("/api/tasks", json=task_payload(), headers=headers)
    assert_problem(r, 401, "invalid_token")
    assert seen[0] == "_record_batch"  # read, refused there, then the route's own answer


def test_an_assisted_record_tells_its_officer_after_the_answer(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    agency = make_agency(db)
    _, officer = make_officer(db, agency)
    user, _ = make_auxiliary(db, agency)
    told: list[list[uuid.UUID]] = []

    async def announce(task_ids: list[uuid.UUID]) -> None:
        told.append(task_ids)

    monkeypatch.setattr(client.app.state.ctx.push, "announce", announce)  # type: ignore[attr-defined]
    headers = login(client, user)
    assisted = task_payload(category="inspection", officer_id=str(officer.id))
    r = client.post("/api/tasks", json=assisted, headers=headers)
    assert r.status_code == 201 and r.json()["status"] == "pending_cosign", r.text
    assert client.post("/api/tasks", json=task_payload(), headers=headers).status_code == 201
    assert told == [[uuid.UUID(assisted["id"])]]  # the independent record waits for nobody


def test_the_request_is_counted_under_the_routes_template(connection: Connection, data_dir: Path,
                                                          db: Session) -> None:
    app = app_on(connection, make_settings(data_dir, metrics_allow="127.0.0.1"))
    user, _ = make_auxiliary(db, make_agency(db))
    with TestClient(app, client=("127.0.0.1", 50000)) as c:
        assert c.post("/api/tasks", json=task_payload(), headers=login(c, user)).status_code == 201
        text = c.get("/metrics").text
    counted = {tuple(sorted(s.labels.items())): s.value for family in text_string_to_metric_families(text)
               for s in family.samples if s.name == "auxduty_http_requests_total"}
    assert counted[(("method", "POST"), ("route", "/api/tasks"), ("status", "2xx"))] == 1


@contextmanager
def _app(connection: Connection, data_dir: Path, **settings: Any) -> Iterator[TestClient]:
    with TestClient(app_on(connection, make_settings(data_dir, **settings))) as c:
        yield c


def _slow_batches(monkeypatch: pytest.MonkeyPatch, pause_s: float) -> dict[str, Any]:
    """``_record_batch`` held ``pause_s`` before it runs; returns the size of each batch, and the most at once."""
    seen: dict[str, Any] = {"now": 0, "most": 0, "sizes": []}
    lock = threading.Lock()
    record = new_tasks._record_batch

    @functools.wraps(record)  # counted as the trip it stands for
    def slow(ctx: Any, batch: list[Any]) -> Any:
        with lock:
            seen["now"] += 1
            seen["most"] = max(seen["most"], seen["now"])
        time.sleep(pause_s)
        try:
            return record(ctx, batch)
        finally:
            with lock:
                seen["now"] -= 1
                seen["sizes"].append(len(batch))

    monkeypatch.setattr(new_tasks, "_record_batch", slow)
    return seen


def _at_once(c: TestClient, headers: dict[str, str], n: int) -> list[int]:
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(
        c.post("/api/tasks", json=task_payload(), headers=headers).status_code)) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return codes


def test_records_that_wait_together_are_stored_together_task_writers_batches_at_a_time(
        connection: Connection, data_dir: Path, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """More writers at once would only contend for the interpreter lock: the records that arrive while a batch
    is stored wait, and go together in the next one, in one trip, stored the short way all the same."""
    user, aux = make_auxiliary(db, make_agency(db))
    with _app(connection, data_dir, task_writers=1) as c:
        headers = login(c, user)
        seen = _slow_batches(monkeypatch, 0.3)
        with trips(monkeypatch) as trip_names:
            codes = _at_once(c, headers, 4)
    assert codes == [201] * 4
    assert seen["most"] == 1 and sum(seen["sizes"]) == 4
    assert max(seen["sizes"]) > 1, seen  # those that came while the first was stored went together
    assert trip_names == SHORT * len(seen["sizes"])
    assert db.scalar(select(func.count()).select_from(Task).where(Task.auxiliary_id == aux.id)) == 4


def test_a_record_that_waits_too_long_for_its_turn_goes_to_the_route(
    connection: Connection, data_dir: Path, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user, aux = make_auxiliary(db, make_agency(db))
    with _app(connection, data_dir, task_writers=1, db_queue_seconds=0.2) as c:
        headers = login(c, user)
        seen = _slow_batches(monkeypatch, 1.0)
        with trips(monkeypatch) as trip_names:
            codes = _at_once(c, headers, 2)
    assert codes == [201, 201]
    assert seen["sizes"] == [1]  # the other was stored by the declared route
    assert sorted(trip_names) == sorted(SHORT + DECLARED)
    assert db.scalar(select(func.count()).select_from(Task).where(Task.auxiliary_id == aux.id)) == 2


def test_task_writers_default_to_one_batch_at_a_time(client: TestClient, connection: Connection,
                                                     data_dir: Path) -> None:
    assert client.app.state.ctx.task_batches.size == 1  # type: ignore[attr-defined]
    with _app(connection, data_dir, task_writers=3) as c:
        assert c.app.state.ctx.task_batches.size == 3  # type: ignore[attr-defined]
