"""Trips to the thread pool a request takes: each is a wait for a thread and for the event loop to come back,
and on SQLite a writing request holds the one writer's turn (api/db.py) across all of them after its first
statement. A dependency or step that slips back onto a thread of its own fails here."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api.domain.models import Role
from api.routes import auxiliaries
from tests.factories import login, make_agency, make_auxiliary, make_user, task_payload


@contextmanager
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    seen: list[str] = []
    run_sync = anyio.to_thread.run_sync

    async def counted(func: Any, *args: Any, **kwargs: Any) -> Any:
        inner = getattr(func, "func", func)  # run_in_threadpool passes a functools.partial
        seen.append(getattr(inner, "__qualname__", repr(inner)))
        return await run_sync(func, *args, **kwargs)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counted)
    yield seen


def test_a_task_write_takes_one_trip(client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, user)
    with trips(monkeypatch) as seen:
        r = client.post("/api/tasks", json=task_payload(), headers=headers)
    assert r.status_code == 201, r.text
    # A new record is taken in front of the framework (api/routes/new_tasks.py): who asks, the record and its
    # commit in one trip.
    assert seen == ["_record_batch"], seen


def test_a_read_takes_a_trip_to_begin_read_only(client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, user)
    with trips(monkeypatch) as seen:
        r = client.get("/api/tasks", headers=headers)
    assert r.status_code == 200, r.text
    assert seen == ["_read_only_session", "get_current_user", "_run_sync_endpoint", "ModelField.validate", "_end"]


def test_a_suspension_takes_two_trips(client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``writes`` endpoint (api/deps.py): who asks is read in a transaction of its own; the endpoint and its
    commit are one trip, its answer checked on the event loop; nothing is left for a trip to end it."""
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    headers = login(client, admin)
    with trips(monkeypatch) as seen:
        r = client.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "调查期间"}, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "suspended", r.text
    assert seen == ["get_current_user", "_and_commit"], seen
    refused = client.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "again"}, headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "invalid_transition"



def test_on_sqlite_a_write_reads_who_asks_in_a_transaction_ended_before_the_endpoint(
    client: TestClient, db: Session, connection: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite who asks is read in a read-only transaction ended before the endpoint runs, so the writer's
    turn (taken when a write transaction begins: api/db.py) is not held while the request waits to be given its
    endpoint's thread: the endpoint finds no transaction open. PostgreSQL keeps one transaction."""
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    headers = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    found: list[bool] = []
    managed = auxiliaries.managed_auxiliary  # type: ignore[attr-defined]

    def spy(session: Session, *args: Any, **kwargs: Any) -> Any:
        found.append(session.in_transaction())
        return managed(session, *args, **kwargs)

    monkeypatch.setattr(auxiliaries, "managed_auxiliary", spy)
    r = client.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "调查期间"}, headers=headers)
    assert r.status_code == 200 and found == [connection.dialect.name != "sqlite"], (r.text, found)
