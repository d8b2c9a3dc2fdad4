"""POST /api/tasks stores a new record as plain values and logs it from them (``record_stored``), with no ORM
object: what is stored, logged and answered must be byte for byte what the ORM path gives (``row_hash`` of the
stored row, ``leaf_content``, the MAC, the record's own endpoint), or the log check would call it altered."""

import hashlib
import hmac
import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from api.domain.audit.log import leaf_content, row_hash
from api.domain.log_tables import LogLeaf, LogPending
from api.domain.models import Task
from tests.api.test_sync_as_values import AWKWARD, _batch
from tests.factories import login, make_agency, make_auxiliary, make_officer


def test_a_task_written_as_values_is_stored_logged_and_answered_as_the_orm_path_would(
        client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency, categories=["patrol", "assigned"])
    headers = login(client, aux_user)
    answers = []
    for payload in _batch(str(officer.id)):
        r = client.post("/api/tasks", json=payload, headers=headers)
        assert r.status_code == 201, r.text
        answers.append(r.json())
        again = client.post("/api/tasks", json=payload, headers=headers)  # a retry: the stored record
        assert again.status_code == 200 and again.json() == r.json(), again.text

    ids = [uuid.UUID(a["id"]) for a in answers]
    rows = {t.id: t for t in db.scalars(select(Task).where(Task.id.in_(ids))
                                        .execution_options(populate_existing=True))}
    assert set(rows) == set(ids)
    columns = ("entity_id", "leaf", "leaf_hash", "row_hash", "at", "mac", "action")
    logged = union_all(*(select(*(getattr(table, c) for c in columns))
                         .where(table.entity == "tasks", table.entity_id.in_([str(i) for i in ids]))
                         for table in (LogPending, LogLeaf)))
    leaves = {row.entity_id: row for row in db.execute(logged)}
    assert len(leaves) == len(ids)  # one leaf each: a retry logs nothing
    key = client.app.state.ctx.leaf_key  # type: ignore[attr-defined]
    for task_id, task in rows.items():
        leaf = leaves[str(task_id)]
        assert leaf.action == "task.recorded"
        assert leaf.row_hash == row_hash(task)  # the row as read back hashes as it was logged
        assert bytes(leaf.leaf) == leaf_content(entity="tasks", entity_id=str(task_id), action="task.recorded",
                                                row_sha256=row_hash(task), at=leaf.at, actor_id=aux_user.id,
                                                rules_version=task.rules_version)
        assert bytes(leaf.leaf_hash) == hashlib.sha256(b"\x00" + bytes(leaf.leaf)).digest()
        assert bytes(leaf.mac) == hmac.new(key, bytes(leaf.leaf_hash), hashlib.sha256).digest()

    for answer in answers:  # each answer is what the record's own endpoint shows of it
        assert answer == client.get(f"/api/tasks/{answer['id']}", headers=headers).json()
    assert answers[1]["description"] == AWKWARD
    assert answers[2]["status"] == "pending_cosign" and answers[2]["lat"] == 32.0
