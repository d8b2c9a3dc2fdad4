"""The transparency log against someone who owns the database (第十条(三)): every attack is seen, with its reason.

Each test builds a little history through the API (a task with evidence, a co-signed task), integrates it and
publishes a checkpoint, then attacks the tables as a database owner could, dropping the guarding triggers
first where the database would refuse, and asks `GET /api/audit/verify` (justice_admin) what it sees. Each attack
runs twice: on a log never checked (the full check) and on one that passed a check before the attack (the check
starts from what that one left outside the database, and must still see it).
"""

import base64
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.domain.audit.checkpoints import TransparencyLog, make_checkpoint, publish
from api.domain.audit.tree import integrate_all
from api.domain.fieldwork.evidence import evidence_path
from api.domain.models import Role, Task
from api.settings import Settings
from tests.conftest import make_settings
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user, task_payload
from tests.problems import assert_problem
from verification.note import Checkpoint, open_checkpoint, parse_verifier_key, sign_note
from verification.tlog import leaf_hash, node_hash, verify_consistency, verify_inclusion


@pytest.fixture
def app_settings(data_dir: Path, tmp_path: Path) -> Settings:
    # Checkpoints published outside the database are this test's own: its database is rolled back after it.
    return make_settings(data_dir, log_dir=tmp_path / "log")


@pytest.fixture(params=[False, True], ids=["first-check", "after-a-pass"])
def prior(request: pytest.FixtureRequest) -> bool:
    passed: bool = request.param
    return passed


@dataclass
class History:
    admin: dict[str, str]
    aux: dict[str, str]
    task_id: str
    assisted_id: str
    evidence: dict[str, Any]


def _log(client: TestClient) -> TransparencyLog:
    log: TransparencyLog = client.app.state.ctx.log  # type: ignore[attr-defined]
    return log


def _checkpoint(client: TestClient, db: Session) -> str:
    integrate_all(db)
    checkpoint = make_checkpoint(db, _log(client))
    publish(_log(client), checkpoint)
    return checkpoint.note


def _history(client: TestClient, db: Session, prior: bool = False) -> History:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    aux = login(client, aux_user)
    task_id = client.post("/api/tasks", json=task_payload(), headers=aux).json()["id"]
    data = os.urandom(2000)
    evidence = client.post(f"/api/tasks/{task_id}/evidence", files={"file": ("现场.jpg", data, "image/jpeg")},
                           headers=aux).json()
    assisted = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                           headers=aux).json()["id"]
    r = client.post(f"/api/tasks/{assisted}/cosign", json={"decision": "approve", "lat": 32.04, "lon": 118.78},
                    headers=login(client, officer_user))
    assert r.status_code == 200, r.text
    admin = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    _checkpoint(client, db)
    h = History(admin, aux, task_id, assisted, evidence)
    if prior:
        body = _verify(client, h)
        assert (body["ok"], body["mode"], body["verified_from"]) == (True, "full", 0), body
    return h


def _verify(client: TestClient, h: History) -> dict[str, Any]:
    r = client.get("/api/audit/verify", headers=h.admin)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _bad(client: TestClient, db: Session, h: History) -> dict[str, Any]:
    db.expire_all()
    body = _verify(client, h)
    assert body["ok"] is False, body
    bad: dict[str, Any] = body["first_bad"]
    return bad


def _key(db: Session, value: str) -> Any:
    return uuid.UUID(value).hex if db.get_bind().dialect.name == "sqlite" else uuid.UUID(value)


def _unguard(db: Session, table: str, *verbs: str) -> None:
    """What an owner does first: the triggers refuse UPDATE and DELETE (and TRUNCATE) on append-only tables."""
    for verb in verbs:
        if db.get_bind().dialect.name == "postgresql":
            db.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_{verb}"))
        elif verb != "truncate":
            db.execute(text(f"DROP TRIGGER {table}_no_{verb}"))


def test_an_untouched_log_verifies_against_its_checkpoint(client: TestClient, db: Session) -> None:
    h = _history(client, db)
    body = _verify(client, h)
    assert body["ok"] is True, body
    checks = body["checks"]
    assert checks["checkpoints"] >= 2 and checks["files"] == 1  # in the database and outside it
    assert checks["leaves"] == body["size"] and checks["rows"] >= 9
    note = client.get("/api/public/log/checkpoint").text
    key = parse_verifier_key(client.get("/api/public/log/key").text.strip())
    checkpoint = open_checkpoint(note, [key])
    assert (checkpoint.size, checkpoint.root.hex()) == (body["size"], body["root"])
    assert checkpoint.origin == "verify.example.gov.cn/log"


def test_an_agency_admin_may_not_run_the_check(client: TestClient, db: Session) -> None:
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    assert_problem(client.get("/api/audit/verify", headers=login(client, admin)), 403, "role_not_allowed")


def test_a_row_updated_behind_the_service_is_row_altered(client: TestClient, db: Session, prior: bool) -> None:
    h = _history(client, db, prior)
    db.execute(text("UPDATE tasks SET description = '无' WHERE id = :id"), {"id": _key(db, h.task_id)})
    assert _bad(client, db, h) == {"entity": "tasks", "entity_id": h.task_id, "reason": "row_altered"}


def test_a_row_deleted_in_the_middle_is_row_removed(client: TestClient, db: Session, prior: bool) -> None:
    h = _history(client, db, prior)
    _unguard(db, "cosignatures", "delete")
    db.execute(text("DELETE FROM cosignatures WHERE task_id = :id"), {"id": _key(db, h.assisted_id)})
    bad = _bad(client, db, h)
    assert (bad["entity"], bad["reason"]) == ("cosignatures", "row_removed") and isinstance(bad["index"], int)


def test_a_leaf_deleted_in_the_middle_is_log_rewritten(client: TestClient, db: Session, prior: bool) -> None:
    h = _history(client, db, prior)
    _unguard(db, "log_leaves", "delete")
    db.execute(text("DELETE FROM log_leaves WHERE idx = 3"))
    assert _bad(client, db, h) == {"index": 3, "reason": "log_rewritten"}


def test_a_truncated_log_is_log_truncated(client: TestClient, db: Session, prior: bool) -> None:
    h = _history(client, db, prior)
    if db.get_bind().dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text("TRUNCATE log_leaves, log_nodes"))
        _unguard(db, "log_leaves", "truncate")
        _unguard(db, "log_nodes", "truncate")
        db.execute(text("TRUNCATE log_leaves, log_nodes"))
    else:  # SQLite has no TRUNCATE: an unqualified DELETE is its truncate
        _unguard(db, "log_leaves", "delete")
        _unguard(db, "log_nodes", "delete")
        db.execute(text("DELETE FROM log_leaves"))
        db.execute(text("DELETE FROM log_nodes"))
    assert _bad(client, db, h) == {"index": 0, "reason": "log_truncated"}


def test_a_cut_tail_is_log_truncated(client: TestClient, db: Session, prior: bool) -> None:
    h = _history(client, db, prior)
    size = _verify(client, h)["size"]
    _unguard(db, "log_leaves", "delete")
    db.execute(text("DELETE FROM log_leaves WHERE idx >= :cut"), {"cut": size - 2})
    assert _bad(client, db, h) == {"index": size - 2, "reason": "log_truncated"}


def test_a_row_inserted_behind_the_service_is_row_unlogged(client: TestClient, db: Session, prior: bool) -> None:
    h = _history(client, db, prior)
    original = db.get(Task, uuid.UUID(h.assisted_id))
    assert original is not None
    forged_id = uuid.uuid4()
    # A forged co-signed task, written straight into the table: no leaf was ever appended for it.
    db.add(Task(**{**{c.key: getattr(original, c.key) for c in Task.__table__.columns}, "id": forged_id,
                   "corrects_id": None}))
    db.flush()
    assert _bad(client, db, h) == {"entity": "tasks", "entity_id": str(forged_id), "reason": "row_unlogged"}


def _rebuild(db: Session, h: History) -> None:
    """Alter a task, then rewrite its newest leaf and every stored subtree so the tree is whole again."""
    db.execute(text("UPDATE tasks SET description = '无' WHERE id = :id"), {"id": _key(db, h.task_id)})
    db.expire_all()
    task = db.get(Task, uuid.UUID(h.task_id))
    assert task is not None
    from api.domain.audit.log import row_hash

    digest = row_hash(task)
    for table, verbs in (("log_leaves", ("update",)), ("log_nodes", ("delete",))):
        _unguard(db, table, *verbs)
    idx = db.scalar(text("SELECT max(idx) FROM log_leaves WHERE entity = 'tasks' AND entity_id = :id"),
                    {"id": h.task_id})
    leaf = db.scalar(text("SELECT leaf FROM log_leaves WHERE idx = :i"), {"i": idx})
    import json

    content = {**json.loads(leaf), "row_sha256": digest}
    forged = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    db.execute(text("UPDATE log_leaves SET leaf = :leaf, leaf_hash = :h, row_hash = :r WHERE idx = :i"),
               {"leaf": forged, "h": leaf_hash(forged), "r": digest, "i": idx})
    hashes = [bytes(x) for x in db.scalars(text("SELECT leaf_hash FROM log_leaves ORDER BY idx"))]
    db.execute(text("DELETE FROM log_nodes"))
    level = 1
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes) - 1, 2)]
        for i, value in enumerate(hashes):
            db.execute(text("INSERT INTO log_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                       {"l": level, "i": i, "h": value})
        level += 1


def test_a_rebuilt_tree_is_log_rewritten_against_the_published_checkpoint(
    client: TestClient, db: Session, prior: bool
) -> None:
    h = _history(client, db, prior)
    _rebuild(db, h)
    # The checkpoints in the database go too; the ones published outside it remain.
    _unguard(db, "log_checkpoints", "delete")
    db.execute(text("DELETE FROM log_checkpoints"))
    bad = _bad(client, db, h)
    assert bad["reason"] == "log_rewritten" and isinstance(bad["index"], int)


def test_a_checkpoint_signed_by_another_key_is_bad_signature(
    client: TestClient, db: Session, prior: bool
) -> None:
    h = _history(client, db, prior)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from api.domain.audit.tree import root_at, tree_size

    size = tree_size(db)
    root = root_at(db, size)
    log = _log(client)
    note = sign_note(Checkpoint(log.origin, size, root).body(), [(log.origin, Ed25519PrivateKey.generate())])
    _unguard(db, "log_checkpoints", "update")
    db.execute(text("UPDATE log_checkpoints SET note = :n, root = :r WHERE size = :s"),
               {"n": note, "r": root, "s": size})
    assert _bad(client, db, h) == {"index": size, "reason": "bad_signature"}


def test_a_leaf_edited_after_its_trigger_was_dropped_is_log_rewritten(client: TestClient, db: Session) -> None:
    h = _history(client, db)
    _unguard(db, "log_leaves", "update")
    db.execute(text("UPDATE log_leaves SET row_hash = :r WHERE idx = 2"), {"r": "0" * 64})
    bad = _bad(client, db, h)
    assert (bad["index"], bad["reason"]) == (2, "log_rewritten")


def test_after_a_pass_an_old_leaf_edited_in_place_takes_the_full_check(client: TestClient, db: Session) -> None:
    """What the incremental check does not re-read: a leaf below the verified size whose row is untouched. Its
    rows still match what was verified, so only ``full=true`` (which re-reads every leaf) sees the edit."""
    h = _history(client, db, prior=True)
    _unguard(db, "log_leaves", "update")
    leaf = db.scalar(text("SELECT leaf FROM log_leaves WHERE idx = 2"))
    forged = bytes(leaf).replace(b'"action":"', b'"action":"x')
    db.execute(text("UPDATE log_leaves SET leaf = :l WHERE idx = 2"), {"l": forged})
    db.expire_all()
    body = _verify(client, h)
    assert (body["ok"], body["mode"], body["checks"]["leaves"]) == (True, "incremental", 0), body
    r = client.get("/api/audit/verify", params={"full": "true"}, headers=h.admin)
    bad = r.json()["first_bad"]
    assert (bad["index"], bad["reason"], r.json()["mode"]) == (2, "log_rewritten", "full")


def test_a_second_check_reads_only_the_leaves_added_since_the_first(client: TestClient, db: Session) -> None:
    h = _history(client, db, prior=True)
    size = _verify(client, h)["size"]
    for _ in range(3):
        assert client.post("/api/tasks", json=task_payload(), headers=h.aux).status_code == 201
    db.expire_all()
    waiting = _verify(client, h)  # three leaves still pending: the rows are matched against them too
    assert (waiting["ok"], waiting["mode"], waiting["size"], waiting["checks"]["leaves"]) == (
        True, "incremental", size, 0), waiting
    _checkpoint(client, db)
    after = _verify(client, h)
    assert (after["ok"], after["mode"], after["verified_from"], after["size"]) == (
        True, "incremental", size, size + 3), after
    assert after["checks"]["leaves"] == 3 and after["checks"]["rows"] == waiting["checks"]["rows"]
    full = client.get("/api/audit/verify", params={"full": "true"}, headers=h.admin).json()
    assert (full["ok"], full["mode"], full["root"], full["checks"]["leaves"]) == (True, "full", after["root"],
                                                                                 size + 3)


def test_a_verified_state_from_another_log_is_not_trusted(client: TestClient, db: Session, tmp_path: Path) -> None:
    h = _history(client, db, prior=True)
    state = tmp_path / "log" / "verified.json"
    saved = state.read_text()
    import json

    forged = json.loads(saved)
    forged["root"] = "00" * 32  # no longer the root of its own edge: the state is ignored, the check is full
    state.write_text(json.dumps(forged))
    body = _verify(client, h)
    assert (body["ok"], body["mode"]) == (True, "full")
    assert json.loads(state.read_text())["root"] == json.loads(saved)["root"]  # and a good state is kept again


def test_swapped_evidence_bytes_are_file_altered_and_never_served(
    client: TestClient, db: Session, data_dir: Path, prior: bool
) -> None:
    h = _history(client, db, prior)
    path = evidence_path(data_dir, h.evidence["sha256"])
    path.chmod(0o644)
    path.write_bytes(b"forged" + os.urandom(100))
    assert _bad(client, db, h) == {"entity": "evidence", "entity_id": h.evidence["id"], "reason": "file_altered"}
    r = client.get(f"/api/tasks/{h.task_id}/evidence/{h.evidence['id']}", headers=h.aux)
    assert_problem(r, 410, "evidence_altered", "第十条")
    path.unlink()
    assert _bad(client, db, h)["reason"] == "file_missing"


def test_the_database_refuses_to_change_the_log(client: TestClient, db: Session) -> None:
    h = _history(client, db)
    client.post("/api/tasks", json=task_payload(), headers=h.aux)  # a leaf waiting for the integrator
    for statement in ("UPDATE log_leaves SET action = 'x'", "DELETE FROM log_leaves", "DELETE FROM log_nodes",
                      "UPDATE log_checkpoints SET note = 'x'", "UPDATE log_pending SET action = 'x'"):
        with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
            db.execute(text(statement))
    if db.get_bind().dialect.name == "postgresql":
        for table in ("tasks", "cosignatures", "evidence", "complaints", "log_checkpoints"):
            with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
                db.execute(text(f"TRUNCATE {table} CASCADE"))


def test_proofs_check_out_with_the_verifier_alone(client: TestClient, db: Session) -> None:
    h = _history(client, db)
    key = parse_verifier_key(client.get("/api/public/log/key").text.strip())
    first = open_checkpoint(client.get("/api/public/log/checkpoint").text, [key])
    client.post("/api/tasks", json=task_payload(), headers=h.aux)
    second = open_checkpoint(_checkpoint(client, db), [key])
    assert second.size == first.size + 1
    proof = client.get("/api/public/log/proof/consistency", params={"first": first.size, "second": second.size})
    hashes = [bytes.fromhex(x) for x in proof.json()["hashes"]]
    assert verify_consistency(first.size, second.size, first.root, second.root, hashes)
    assert not verify_consistency(first.size, second.size, first.root, hashes[0], hashes)
    entries = client.get(f"/api/audit/records/tasks/{h.task_id}", headers=h.admin).json()["items"]
    assert [e["action"] for e in entries] == ["task.recorded"]
    leaf = base64.b64decode(entries[0]["leaf_b64"])
    assert leaf_hash(leaf).hex() == entries[0]["leaf_hash"] and h.task_id.encode() in leaf
    assert b'"rules_version":"' in leaf
    index = entries[0]["index"]
    path = client.get("/api/public/log/proof/inclusion", params={"index": index, "size": second.size}).json()
    assert verify_inclusion(leaf_hash(leaf), index, second.size, [bytes.fromhex(x) for x in path["hashes"]],
                            second.root)
    tampered = hashlib.sha256(leaf + b"x").digest()
    assert not verify_inclusion(tampered, index, second.size, [bytes.fromhex(x) for x in path["hashes"]],
                                second.root)


@pytest.mark.parametrize(("path", "params"), [
    ("inclusion", {"index": 5, "size": 5}), ("inclusion", {"index": 0, "size": 10**9}),
    ("consistency", {"first": 3, "second": 2}), ("consistency", {"first": 0, "second": 10**9}),
])
def test_a_proof_of_what_the_log_does_not_hold_is_422(
    client: TestClient, db: Session, path: str, params: dict[str, int]
) -> None:
    _history(client, db)
    assert_problem(client.get(f"/api/public/log/proof/{path}", params=params), 422, "proof_out_of_range")


def test_an_unknown_entity_is_404(client: TestClient, db: Session) -> None:
    h = _history(client, db)
    assert_problem(client.get(f"/api/audit/records/refresh_tokens/{h.task_id}", headers=h.admin), 404,
                   "not_found")


def _forge_task(db: Session, h: History) -> tuple[uuid.UUID, Any]:
    """A co-signed task copied straight into the table, and the leaf a forger would queue for it."""
    from api.domain.audit.log import leaf_content, row_hash
    from api.domain.base import utcnow
    from api.domain.models import LogPending

    original = db.get(Task, uuid.UUID(h.assisted_id))
    assert original is not None
    forged = Task(**{**{c.key: getattr(original, c.key) for c in Task.__table__.columns}, "id": uuid.uuid4(),
                     "corrects_id": None})
    db.add(forged)
    db.flush()
    leaf = leaf_content(entity="tasks", entity_id=str(forged.id), action="task.recorded",
                        row_sha256=row_hash(forged), at=utcnow(), actor_id=None)
    entry = LogPending(leaf=leaf, leaf_hash=leaf_hash(leaf), entity="tasks", entity_id=str(forged.id),
                       action="task.recorded", row_hash=row_hash(forged), at=utcnow())
    return forged.id, entry


@pytest.mark.parametrize("mac", ["none", "another-key"])
def test_a_forged_row_with_a_forged_queued_leaf_is_refused_and_row_unlogged(
    client: TestClient, db: Session, prior: bool, mac: str
) -> None:
    from api.domain.audit.log import derive_leaf_key, leaf_mac
    from api.domain.models import LogLeaf, LogRejected

    h = _history(client, db, prior)
    forged_id, entry = _forge_task(db, h)
    if mac == "another-key":  # the forger guessed at a secret
        entry.mac = leaf_mac(derive_leaf_key("not-the-service-secret"), entry.leaf_hash)
    db.add(entry)
    db.flush()
    # Waiting in the queue, it logs nothing.
    bad = _bad(client, db, h)
    assert bad == {"entity": "tasks", "entity_id": str(forged_id), "reason": "row_unlogged"}
    size = db.scalar(text("SELECT count(*) FROM log_leaves"))
    integrate_all(db)
    # The integrator refused it: not in the tree, kept aside as evidence.
    assert db.scalar(text("SELECT count(*) FROM log_leaves")) == size
    assert db.query(LogLeaf).filter(LogLeaf.entity_id == str(forged_id)).count() == 0
    rejected = db.query(LogRejected).filter(LogRejected.entity_id == str(forged_id)).one()
    assert rejected.reason == ("no_mac" if mac == "none" else "bad_mac")
    db.expire_all()
    body = _verify(client, h)
    assert body["first_bad"] == {"entity": "tasks", "entity_id": str(forged_id), "reason": "row_unlogged"}
    assert body["checks"]["rejected"] == 1


def test_a_leaf_slipped_into_the_tree_without_the_mac_is_log_rewritten(
    client: TestClient, db: Session, prior: bool
) -> None:
    from api.domain.audit.tree import compact_range, tree_size

    h = _history(client, db, prior)
    forged_id, entry = _forge_task(db, h)
    # The forger writes the leaf and the subtrees it completes, as the integrator would, but cannot MAC it.
    size = tree_size(db)
    edge = compact_range(db, size)
    db.execute(text("INSERT INTO log_leaves (idx, leaf, leaf_hash, entity, entity_id, action, row_hash, at) "
                    "VALUES (:i, :l, :h, 'tasks', :e, 'task.recorded', :r, :a)"),
               {"i": size, "l": entry.leaf, "h": entry.leaf_hash, "e": str(forged_id), "r": entry.row_hash,
                "a": entry.at})
    for level, index, digest in edge.append(bytes(entry.leaf_hash)):
        db.execute(text("INSERT INTO log_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                   {"l": level, "i": index, "h": digest})
    bad = _bad(client, db, h)
    assert (bad["index"], bad["entity_id"], bad["reason"]) == (size, str(forged_id), "log_rewritten")


def test_leaves_older_than_the_mac_are_taken_as_the_migration_found_them(
    client: TestClient, db: Session
) -> None:
    from api.domain.models import LogLeaf

    h = _history(client, db)
    size = db.scalar(text("SELECT count(*) FROM log_leaves"))
    # A log from before the MAC: the migration that brought it marked where the old leaves end.
    _unguard(db, "log_leaves", "update")
    _unguard(db, "log_legacy", "update")
    db.execute(text("UPDATE log_leaves SET mac = NULL WHERE idx < 3"))
    db.execute(text("UPDATE log_legacy SET leaves_below = 3"))
    body = _verify(client, h)
    assert body["ok"] is True and body["size"] == size, body
    db.execute(text("UPDATE log_leaves SET mac = NULL WHERE idx = 3"))  # past the mark: not the service's
    db.expire_all()
    assert db.get(LogLeaf, 3) is not None
    body = client.get("/api/audit/verify", params={"full": "true"}, headers=h.admin).json()
    assert (body["first_bad"]["index"], body["first_bad"]["reason"]) == (3, "log_rewritten")
