"""A sync batch's new records are inserted as plain values and logged from them (``record_stored``), with no ORM
object: what is stored, logged and answered must be byte for byte what the ORM path gives (``row_hash`` of the
stored row, ``leaf_content``, the MAC, ``task_read``), or the log check would call the records altered."""

import hashlib
import hmac
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from api.domain.audit.log import _json_text, _leaf_frame, leaf_content, row_hash
from api.domain.base import RULES_VERSION
from api.domain.duties import TaskMode
from api.domain.log_tables import LogLeaf, LogPending
from api.domain.models import Task, TaskStatus
from schemas.sync import SyncProblem, SyncResponse, sync_answer_json, task_answer
from schemas.tasks import AuxiliaryRef, new_task_answer, new_task_read
from tests.factories import beijing, login, make_agency, make_auxiliary, make_officer, task_payload

# What a phone may write that JSON escapes or that is not ASCII: the leaf and the row hash must take it as the
# JSON encoder does.
AWKWARD = 'quote " backslash \\ tab \t newline \n bell \x07 line-sep \u2028 emoji 😀 新街口'


def _batch(officer_id: str) -> list[dict[str, object]]:
    return [
        task_payload(),
        task_payload(description=AWKWARD, ended_at=None),
        task_payload(category="inspection", officer_id=officer_id, lat=32, lon=118.78),  # ints: stored as floats
        task_payload(category="assigned", assignment_ref="宁执交〔2026〕7号 \"甲\""),
        task_payload(category="statutory_other", officer_id=officer_id, legal_basis="《条例》第5条",
                     started_at=beijing(8), ended_at=beijing(8)),
    ]


def assert_logged_as_stored(client: TestClient, db: Session, ids: list[uuid.UUID], actor_id: uuid.UUID
                            ) -> dict[str, Any]:
    """Each stored task's leaf (pending or integrated) hashes the row as read back, is ``leaf_content`` of it,
    and carries its hash and the service's MAC; the leaves by task id."""
    rows = {t.id: t for t in db.scalars(select(Task).where(Task.id.in_(ids))
                                        .execution_options(populate_existing=True))}
    assert set(rows) == set(ids)
    columns = ("entity_id", "leaf", "leaf_hash", "row_hash", "at", "mac", "action")
    logged = union_all(*(select(*(getattr(table, c) for c in columns))
                         .where(table.entity == "tasks", table.entity_id.in_([str(i) for i in ids]))
                         for table in (LogPending, LogLeaf)))
    leaves = {row.entity_id: row for row in db.execute(logged)}
    key = client.app.state.ctx.leaf_key  # type: ignore[attr-defined]
    for task_id, task in rows.items():
        leaf = leaves[str(task_id)]
        assert leaf.row_hash == row_hash(task)  # the row as read back hashes as it was logged
        assert bytes(leaf.leaf) == leaf_content(entity="tasks", entity_id=str(task_id), action="task.recorded",
                                                row_sha256=row_hash(task), at=leaf.at, actor_id=actor_id,
                                                rules_version=task.rules_version)
        assert bytes(leaf.leaf_hash) == hashlib.sha256(b"\x00" + bytes(leaf.leaf)).digest()
        assert bytes(leaf.mac) == hmac.new(key, bytes(leaf.leaf_hash), hashlib.sha256).digest()
    return leaves


def test_a_batch_stored_as_values_is_logged_and_answered_as_the_orm_path_would(
        client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency, categories=["patrol", "assigned"])
    headers = login(client, aux_user)
    batch = _batch(str(officer.id))
    r = client.post("/api/sync", json={"tasks": batch}, headers=headers)
    assert r.status_code == 200, r.text
    answers = r.json()["tasks"]
    assert [a["result"] for a in answers] == ["created"] * len(batch)

    ids = [uuid.UUID(t["id"]) for t in batch]  # type: ignore[arg-type]
    leaves = assert_logged_as_stored(client, db, ids, aux_user.id)
    assert set(leaves) == {str(i) for i in ids}

    # Each answer is what the record's own endpoint shows of it.
    for answer in answers:
        shown = client.get(f"/api/tasks/{answer['id']}", headers=headers).json()
        assert answer["record"] == shown
    assert answers[1]["record"]["description"] == AWKWARD
    assert answers[2]["record"]["status"] == "pending_cosign"


def test_a_leaf_put_together_from_its_frame_is_leaf_content() -> None:
    at = datetime(2026, 11, 26, 3, 31, 2, 123456, tzinfo=UTC)
    for actor in (None, uuid.uuid4()):
        for entity_id, digest in ((str(uuid.uuid4()), "ab" * 32), (AWKWARD, "\"\\"), ("", "")):
            for rules_version in (RULES_VERSION, "other/1"):
                head, middle, tail = _leaf_frame(entity="tasks", action="task.recorded", at=at, actor_id=actor,
                                                 rules_version=rules_version)
                assert head + _json_text(entity_id) + middle + _json_text(digest) + tail == leaf_content(
                    entity="tasks", entity_id=entity_id, action="task.recorded", row_sha256=digest, at=at,
                    actor_id=actor, rules_version=rules_version)


def _stored_row(**overrides: object) -> dict[str, object]:
    """A new record's columns as the batch stores them (``new_task_values``, defaults filled in)."""
    at = datetime(2026, 11, 26, 1, 0, 0, 123456, tzinfo=UTC)
    return {
        "id": uuid.uuid4(), "auxiliary_id": uuid.uuid4(), "agency_id": uuid.uuid4(), "command_agency_id": uuid.uuid4(),
        "category": "patrol", "mode": TaskMode.INDEPENDENT, "status": TaskStatus.RECORDED,
        "description": AWKWARD, "started_at": at, "ended_at": None, "lat": 32.0, "lon": 118.78125, "in_zone": None,
        "officer_id": None, "assignment_ref": None, "legal_basis": "《条例》第5条", "corrects_id": None, "version": 1,
        "recorded_by": uuid.uuid4(), "content_hash": "ab" * 32, "rules_version": RULES_VERSION,
        "recorded_before_suspension": False, "created_at": at, **overrides,
    }


def test_the_answer_dumped_from_values_is_the_models_json_byte_for_byte() -> None:
    auxiliary = AuxiliaryRef(id=uuid.uuid4(), name="李协管", badge_no="NJ8F3A")
    rows = [_stored_row(), _stored_row(in_zone=True, ended_at=datetime(2026, 11, 26, 2, tzinfo=UTC),
                                       officer_id=uuid.uuid4(), status=TaskStatus.PENDING_COSIGN,
                                       mode=TaskMode.ASSISTED, recorded_before_suspension=True)]
    problem = SyncProblem(code="officer_required", article="第八条", detail="须注明执法人员", status=422)
    as_models = SyncResponse.model_validate({"tasks": [
        {"index": 0, "id": str(rows[0]["id"]), "result": "created", "record": new_task_read(rows[0], auxiliary)},
        {"index": 1, "id": "not-a-uuid", "result": "error", "problem": problem},
        {"index": 2, "id": str(rows[1]["id"]), "result": "duplicate", "record": new_task_read(rows[1], auxiliary)},
    ], "shifts": []})
    as_values = sync_answer_json(tasks=[
        task_answer(0, str(rows[0]["id"]), "created", new_task_answer(rows[0], auxiliary), None),
        task_answer(1, "not-a-uuid", "error", None, problem),
        task_answer(2, str(rows[1]["id"]), "duplicate", new_task_read(rows[1], auxiliary), None),
    ], shifts=[])
    assert as_values == as_models.model_dump_json().encode()
