"""The SQL a task write and a sync batch cost: a bounded number of statements however many records a batch
holds, so a per-record query slipped back into the path (a lookup, a leaf read back one by one) fails here."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Connection, event, func, select
from sqlalchemy.orm import Session

from api.domain.log_tables import LogPending
from api.domain.models import Role
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user, task_payload

BATCH = 200
BOUND = 20  # the request, the batch's lookups, one INSERT per table, the answer's five reads, the officers' notice


def apart(connection: Connection) -> int:
    """On SQLite who asks is read in a transaction of its own (api/deps.py): here one savepoint more and its
    release; in service, a BEGIN DEFERRED and its COMMIT."""
    return 2 if connection.dialect.name == "sqlite" else 0


@contextmanager
def statements(connection: Connection) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(connection.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(connection.engine, "before_cursor_execute", count)


def test_a_task_is_written_in_a_handful_of_statements(client: TestClient, db: Session, connection: Connection) -> None:
    user, _ = make_auxiliary(db, make_agency(db))
    headers = login(client, user)
    with statements(connection) as seen:
        r = client.post("/api/tasks", json=task_payload(), headers=headers)
    assert r.status_code == 201, r.text
    # Taken in front of the framework (api/routes/new_tasks.py): the request's savepoint and its release, who
    # asks with the field context, and the record with its leaf: one INSERT on PostgreSQL, two elsewhere.
    assert len(seen) <= (4 if connection.dialect.name == "postgresql" else 5), "\n".join(seen)


def test_a_sync_batch_costs_the_same_statements_for_200_records_as_for_2(
    client: TestClient, db: Session, connection: Connection
) -> None:
    agency = make_agency(db)
    user, _ = make_auxiliary(db, agency)
    _, officer = make_officer(db, agency)
    headers = login(client, user)
    assisted = [task_payload(category="inspection", officer_id=str(officer.id)) for _ in range(BATCH // 2)]
    tasks = [task_payload() for _ in range(BATCH // 2)] + assisted
    with statements(connection) as seen:
        r = client.post("/api/sync", json={"tasks": tasks}, headers=headers)
    assert [t["result"] for t in r.json()["tasks"]] == ["created"] * BATCH
    assert len(seen) <= BOUND + apart(connection), "\n".join(seen)
    with statements(connection) as seen:  # sent again: every record a duplicate, found by the batch's one query
        r = client.post("/api/sync", json={"tasks": tasks}, headers=headers)
    assert [t["result"] for t in r.json()["tasks"]] == ["duplicate"] * BATCH
    assert len(seen) <= BOUND + apart(connection), "\n".join(seen)


def test_a_suspension_logs_the_credential_and_the_person_in_one_insert(
    client: TestClient, db: Session, connection: Connection
) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    headers = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    before = db.scalar(select(func.count()).select_from(LogPending)) or 0
    with statements(connection) as seen:
        r = client.post(f"/api/auxiliaries/{aux.id}/suspend", json={"reason": "调查期间暂停"}, headers=headers)
    assert r.status_code == 200, r.text
    leaf_inserts = [s for s in seen if s.lstrip().upper().startswith("INSERT INTO LOG_PENDING")]
    assert len(leaf_inserts) == 1, "\n".join(seen)
    # The person's row, photo included, is read once, with its lock: the leaf's hash needs no read of its own.
    reads = [s for s in seen if s.lstrip().upper().startswith("SELECT") and "FROM auxiliaries" in s]
    assert len([s for s in reads if "auxiliaries.photo" in s]) == 1, "\n".join(reads)
    leaves = db.execute(select(LogPending.entity, LogPending.action).order_by(LogPending.seq).offset(before)).all()
    assert [tuple(row) for row in leaves] == [("credentials", "credential.suspended"),
                                             ("auxiliaries", "auxiliary.suspended")]
