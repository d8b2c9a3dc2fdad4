"""Races on PostgreSQL between real connections: a live server, requests lined up by a barrier.

The database decides every one of these (primary keys, unique constraints, guarded UPDATEs); no answer may
be a 500.
"""

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
import uvicorn
from sqlalchemy import Engine, func, select, union_all
from sqlalchemy.orm import Session

from api.db import leaf_info
from api.domain.audit.check import verify_log
from api.domain.log_tables import LogLeaf, LogPending
from api.domain.models import Article19Case, Cosignature, Role, ShiftEvent, Task
from api.main import create_app
from tests.conftest import TEST_LEAF_KEY, make_settings
from tests.factories import (
    PASSWORD,
    beijing,
    make_agency,
    make_auxiliary,
    make_officer,
    make_user,
    shift_payload,
    task_payload,
)
from tests.problems import assert_problem

THREADS = 8


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def base_url(pg_engine: Engine, data_dir: Path) -> Iterator[str]:
    app = create_app(make_settings(data_dir), engine=pg_engine, migrate=False)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class Cast:
    aux: dict[str, str]
    officer: dict[str, str]
    officer_id: uuid.UUID


def _token(base_url: str, username: str) -> dict[str, str]:
    r = httpx2.post(f"{base_url}/api/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def cast(pg_engine: Engine, base_url: str) -> Cast:
    with Session(pg_engine, expire_on_commit=False, info=leaf_info(TEST_LEAF_KEY)) as s:
        agency = make_agency(s)
        officer_user, officer = make_officer(s, agency)
        aux_user, _ = make_auxiliary(s, agency)
        s.commit()
    return Cast(_token(base_url, aux_user.username), _token(base_url, officer_user.username), officer.id)


def _at_once(base_url: str, calls: list[Callable[[httpx2.Client], httpx2.Response]]) -> list[httpx2.Response]:
    """Run every call from its own thread, released together."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[httpx2.Client], httpx2.Response]) -> httpx2.Response:
        with httpx2.Client(base_url=base_url, timeout=60) as http:
            http.get("/api/me")  # connect before the barrier, so the requests really meet
            barrier.wait()
            return call(http)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _count(pg_engine: Engine, stmt: Any) -> int:
    with Session(pg_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        return s.scalar(stmt) or 0


def _post(path: str, body: dict[str, Any], headers: dict[str, str]) -> Callable[[httpx2.Client], httpx2.Response]:
    return lambda http: http.post(path, json=body, headers=headers)


def test_identical_retries_at_the_same_moment_store_one_task(
    pg_engine: Engine, base_url: str, cast: Cast
) -> None:
    body = task_payload()
    answers = _at_once(base_url, [_post("/api/tasks", body, cast.aux)] * THREADS)
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * (THREADS - 1) + [201], [r.text for r in answers]
    assert len({r.json()["id"] for r in answers}) == 1
    assert _count(pg_engine, select(func.count()).select_from(Task).where(Task.id == uuid.UUID(body["id"]))) == 1
    # Written in front of the framework, each statement committing alone (api/routes/new_tasks.py): the one
    # record has its one leaf, and the rest wrote nothing.
    leaves = union_all(*(select(table.entity_id).where(table.entity == "tasks", table.entity_id == body["id"])
                         for table in (LogPending, LogLeaf))).subquery()
    assert _count(pg_engine, select(func.count()).select_from(leaves)) == 1


def test_same_id_other_content_at_the_same_moment_one_wins(pg_engine: Engine, base_url: str, cast: Cast) -> None:
    base = task_payload()
    calls = [_post("/api/tasks", {**base, "description": f"版本{i}"}, cast.aux) for i in range(THREADS)]
    answers = _at_once(base_url, calls)
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] + [409] * (THREADS - 1), [r.text for r in answers]
    for r in answers:
        if r.status_code != 201:
            assert_problem(r, 409, "id_conflict")


def test_parallel_sync_batches_overlapping_store_each_id_once(
    pg_engine: Engine, base_url: str, cast: Cast
) -> None:
    shared = [task_payload() for _ in range(30)]
    batch_a = [*shared, *(task_payload() for _ in range(20))]
    batch_b = [*reversed(shared), *(task_payload() for _ in range(20))]
    answers = _at_once(base_url, [_post("/api/sync", {"tasks": batch_a}, cast.aux),
                                  _post("/api/sync", {"tasks": batch_b}, cast.aux)])
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    results: dict[str, list[str]] = {}
    for r in answers:
        for item in r.json()["tasks"]:
            results.setdefault(item["id"], []).append(item["result"])
    for t in shared:
        assert sorted(results[t["id"]]) == ["created", "duplicate"]
    ids = [uuid.UUID(t["id"]) for t in batch_a + batch_b]
    assert _count(pg_engine, select(func.count()).select_from(Task).where(Task.id.in_(ids))) == 70


def test_approve_and_reject_at_once_give_one_decision(pg_engine: Engine, base_url: str, cast: Cast) -> None:
    task = httpx2.post(f"{base_url}/api/tasks", headers=cast.aux,
                      json=task_payload(category="inspection", officer_id=str(cast.officer_id))).json()
    url = f"/api/tasks/{task['id']}/cosign"
    calls = [_post(url, {"decision": d}, cast.officer) for d in ("approve", "reject") * (THREADS // 2)]
    answers = _at_once(base_url, calls)
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] + [409] * (THREADS - 1), [r.text for r in answers]
    for r in answers:
        if r.status_code != 200:
            assert_problem(r, 409, "not_pending_cosign")
    [winner] = [r.json() for r in answers if r.status_code == 200]
    stmt = select(Cosignature).where(Cosignature.task_id == uuid.UUID(task["id"]))
    with Session(pg_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        [cosignature] = s.scalars(stmt).all()
        stored = s.get(Task, uuid.UUID(task["id"]))
        assert stored is not None and stored.status == winner["status"]
        assert cosignature.decision == {"cosigned": "approve", "rejected": "reject"}[winner["status"]]


def test_two_corrections_of_one_record_at_once_one_wins(pg_engine: Engine, base_url: str, cast: Cast) -> None:
    task = httpx2.post(f"{base_url}/api/tasks", headers=cast.aux, json=task_payload()).json()
    url = f"/api/tasks/{task['id']}/corrections"
    answers = _at_once(base_url, [_post(url, task_payload(description=f"更正{i}"), cast.aux) for i in range(4)])
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 409, 409, 409], [r.text for r in answers]
    for r in answers:
        if r.status_code != 201:
            assert_problem(r, 409, "already_superseded")
    stmt = select(func.count()).select_from(Task).where(Task.corrects_id == uuid.UUID(task["id"]))
    assert _count(pg_engine, stmt) == 1


def test_a_forbidden_attempt_retried_at_once_is_one_case(pg_engine: Engine, base_url: str, cast: Cast) -> None:
    body = task_payload(flags={"in_officer_name": True})
    answers = _at_once(base_url, [_post("/api/tasks", body, cast.aux)] * 4)
    for r in answers:
        assert_problem(r, 422, "forbidden_work", "第十九条")
    stmt = select(func.count()).select_from(Article19Case).where(Article19Case.attempt_id == uuid.UUID(body["id"]))
    assert _count(pg_engine, stmt) == 1


@pytest.mark.postgres_only
def test_check_ins_at_the_same_moment_open_one_shift(pg_engine: Engine, base_url: str, cast: Cast) -> None:
    bodies = [shift_payload(at=beijing(8, i)) for i in range(THREADS)]
    answers = _at_once(base_url, [_post("/api/shifts/check-in", b, cast.aux) for b in bodies])
    assert sorted(r.status_code for r in answers) == [201] + [409] * (THREADS - 1), [r.text for r in answers]
    for r in answers:
        if r.status_code != 201:
            assert_problem(r, 409, "already_checked_in")
    ids = [uuid.UUID(b["id"]) for b in bodies]
    assert _count(pg_engine, select(func.count()).select_from(ShiftEvent).where(ShiftEvent.id.in_(ids))) == 1


@pytest.mark.postgres_only
def test_check_outs_at_the_same_moment_close_the_shift_once(pg_engine: Engine, base_url: str, cast: Cast) -> None:
    check_in = httpx2.post(f"{base_url}/api/shifts/check-in", json=shift_payload(at=beijing(8)), headers=cast.aux)
    assert check_in.status_code == 201, check_in.text
    bodies = [shift_payload(at=beijing(17, i)) for i in range(THREADS)]
    answers = _at_once(base_url, [_post("/api/shifts/check-out", b, cast.aux) for b in bodies])
    assert sorted(r.status_code for r in answers) == [201] + [409] * (THREADS - 1), [r.text for r in answers]
    closing = select(func.count()).select_from(ShiftEvent).where(
        ShiftEvent.check_in_id == uuid.UUID(check_in.json()["id"]))
    assert _count(pg_engine, closing) == 1


@pytest.mark.postgres_only
def test_one_check_in_retried_at_the_same_moment_is_stored_once(pg_engine: Engine, base_url: str, cast: Cast) -> None:
    body = shift_payload()
    answers = _at_once(base_url, [_post("/api/shifts/check-in", body, cast.aux)] * 4
                       + [_post("/api/sync", {"shifts": [{"kind": "check_in", **body}]}, cast.aux)] * 2)
    assert all(r.status_code in (200, 201) for r in answers), [r.text for r in answers]
    outcomes = [r.json()["shifts"][0]["result"] if "shifts" in r.json() else r.status_code for r in answers]
    assert sorted(map(str, outcomes)).count("201") + outcomes.count("created") == 1, outcomes
    stored = select(func.count()).select_from(ShiftEvent).where(ShiftEvent.id == uuid.UUID(body["id"]))
    assert _count(pg_engine, stored) == 1
    with Session(pg_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        assert verify_log(s).ok


def test_the_audit_chain_holds_after_the_races(pg_engine: Engine, base_url: str, cast: Cast) -> None:
    bodies = [task_payload() for _ in range(THREADS)]
    _at_once(base_url, [_post("/api/tasks", b, cast.aux) for b in bodies])
    with Session(pg_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        assert verify_log(s).ok


def test_a_co_signature_and_a_reassignment_at_once_one_wins(pg_engine: Engine, base_url: str) -> None:
    with Session(pg_engine, expire_on_commit=False, info=leaf_info(TEST_LEAF_KEY)) as s:
        agency = make_agency(s)
        first_user, first = make_officer(s, agency)
        _, second = make_officer(s, agency)
        aux_user, _ = make_auxiliary(s, agency)
        admin = make_user(s, role=Role.AGENCY_ADMIN, agency=agency)
        s.commit()
    aux, officer, manager = (_token(base_url, u.username) for u in (aux_user, first_user, admin))
    for _ in range(THREADS):
        task = httpx2.post(f"{base_url}/api/tasks", headers=aux,
                           json=task_payload(category="inspection", officer_id=str(first.id))).json()
        cosign, reassign = _at_once(base_url, [
            _post(f"/api/tasks/{task['id']}/cosign", {"decision": "approve"}, officer),
            _post(f"/api/tasks/{task['id']}/reassign", {"officer_id": str(second.id)}, manager)])
        assert [cosign.status_code, reassign.status_code].count(200) == 1, (cosign.text, reassign.text)
        with Session(pg_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
            stored = s.get(Task, uuid.UUID(task["id"]))
            signed = s.scalar(select(Cosignature).where(Cosignature.task_id == uuid.UUID(task["id"])))
        assert stored is not None
        if cosign.status_code == 200:  # the first officer signed what still named them; no hand-over after
            assert_problem(reassign, 409, "not_pending_cosign")
            assert stored.officer_id == first.id and signed is not None and signed.officer_id == first.id
        else:  # handed over first: the first officer's signature is refused, however late it lost
            assert cosign.status_code in (403, 409), cosign.text
            assert stored.officer_id == second.id and stored.status == "pending_cosign" and signed is None
