"""POST /api/tasks stores a new record as plain values and logs it from them (``record_stored``), with no ORM
object: what is stored, logged and answered must be byte for byte what the ORM path gives (``row_hash`` of the
stored row, ``leaf_content``, the MAC, the record's own endpoint), or the log check would call it altered."""

import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.api.test_sync_as_values import AWKWARD, _batch, assert_logged_as_stored
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
    leaves = assert_logged_as_stored(client, db, ids, aux_user.id)
    assert len(leaves) == len(ids)  # one leaf each: a retry logs nothing
    assert {leaf.action for leaf in leaves.values()} == {"task.recorded"}

    for answer in answers:  # each answer is what the record's own endpoint shows of it
        assert answer == client.get(f"/api/tasks/{answer['id']}", headers=headers).json()
    assert answers[1]["description"] == AWKWARD
    assert answers[2]["status"] == "pending_cosign" and answers[2]["lat"] == 32.0
