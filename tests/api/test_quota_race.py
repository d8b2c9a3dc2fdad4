"""Races on PostgreSQL with real commits: hires for the last headcount places (第十二条), one person hired by
several agencies at once (第十四条: one current employment per person) and a departure recorded twice at once.
The server runs in a thread on a free port; each client thread has its own connection, so the database, not the
test, decides who wins.
"""

import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from api.db import leaf_info
from api.domain.models import Agency, Auxiliary, LogLeaf, LogPending, Role
from api.main import create_app
from tests.conftest import TEST_LEAF_KEY, make_settings
from tests.factories import PASSWORD, hire_body, make_agency, make_auxiliary, make_user, valid_id_number
from tests.problems import assert_problem

CONTENDERS = 8


@contextmanager
def _serve(app: FastAPI) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _token(base_url: str, username: str) -> dict[str, str]:
    r = httpx2.post(f"{base_url}/api/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _all_at_once(
    base_url: str, requests: list[tuple[str, dict[str, object]]], headers: dict[str, str]
) -> list[httpx2.Response]:
    start = threading.Barrier(len(requests))

    def send(request: tuple[str, dict[str, object]]) -> httpx2.Response:
        path, body = request
        with httpx2.Client(base_url=base_url, headers=headers, timeout=60) as client:
            start.wait()
            return client.post(path, json=body)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_concurrent_hires_for_the_last_places_fill_exactly_the_quota(
    pg_engine: Engine, data_dir: Path
) -> None:
    quota = 2
    with Session(pg_engine, expire_on_commit=False, info=leaf_info(TEST_LEAF_KEY)) as s:
        agency = make_agency(s, quota=quota)
        admin = make_user(s, role=Role.AGENCY_ADMIN, agency=agency)
        s.commit()
    app = create_app(make_settings(data_dir), engine=pg_engine, migrate=False)
    with _serve(app) as base_url:
        headers = _token(base_url, admin.username)
        hires: list[tuple[str, dict[str, object]]] = [
            ("/api/auxiliaries", hire_body(agency)) for _ in range(CONTENDERS)]
        responses = _all_at_once(base_url, hires, headers)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * quota + [409] * (CONTENDERS - quota), [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "headcount_quota_full", "第十二条")
    hired = {r.json()["id"] for r in responses if r.status_code == 201}
    with Session(pg_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        stored = set(map(str, s.scalars(select(Auxiliary.id).where(Auxiliary.agency_id == agency.id))))
        used = s.scalar(select(Agency.headcount_used).where(Agency.id == agency.id))
        logged = sum(s.scalar(select(func.count()).select_from(table).where(
            table.entity == "auxiliaries", table.entity_id.in_(hired))) or 0 for table in (LogPending, LogLeaf))
    assert stored == hired and used == quota and logged == quota


def test_one_person_hired_by_four_agencies_at_once_is_employed_once(pg_engine: Engine, data_dir: Path) -> None:
    number = valid_id_number()
    with Session(pg_engine, expire_on_commit=False, info=leaf_info(TEST_LEAF_KEY)) as s:
        agencies = [make_agency(s, quota=5) for _ in range(4)]
        admins = [make_user(s, role=Role.AGENCY_ADMIN, agency=a) for a in agencies]
        s.commit()
    app = create_app(make_settings(data_dir), engine=pg_engine, migrate=False)
    with _serve(app) as base_url:
        # Two hires from each agency: across agencies, and within one.
        sends = [(_token(base_url, admin.username), hire_body(agency, id_number=number))
                 for agency, admin in zip(agencies, admins, strict=True) for _ in range(2)]
        start = threading.Barrier(len(sends))

        def send(request: tuple[dict[str, str], dict[str, object]]) -> httpx2.Response:
            headers, body = request
            with httpx2.Client(base_url=base_url, headers=headers, timeout=60) as client:
                start.wait()
                return client.post("/api/auxiliaries", json=body)

        with ThreadPoolExecutor(len(sends)) as pool:
            responses = list(pool.map(send, sends))

    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "already_employed")
    [winner] = [r.json() for r in responses if r.status_code == 201]
    ids = [a.id for a in agencies]
    with Session(pg_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        hired = s.execute(select(Auxiliary.id, Auxiliary.agency_id).where(Auxiliary.agency_id.in_(ids))).all()
        used = {i: n for i, n in s.execute(select(Agency.id, Agency.headcount_used).where(Agency.id.in_(ids)))}
    assert [str(aux_id) for aux_id, _ in hired] == [winner["id"]]
    assert used == {a: int(a == hired[0][1]) for a in ids}  # the losers' places were given back


def test_a_departure_recorded_twice_at_once_frees_one_place(pg_engine: Engine, data_dir: Path) -> None:
    with Session(pg_engine, expire_on_commit=False, info=leaf_info(TEST_LEAF_KEY)) as s:
        agency = make_agency(s, quota=3)
        make_auxiliary(s, agency)
        _, aux = make_auxiliary(s, agency)
        admin = make_user(s, role=Role.AGENCY_ADMIN, agency=agency)
        s.commit()
    app = create_app(make_settings(data_dir), engine=pg_engine, migrate=False)
    leaving: dict[str, object] = {"left_on": "2026-10-31", "reason": "辞职",
                                  "items_recovered": ["credential"]}
    with _serve(app) as base_url:
        responses = _all_at_once(base_url, [(f"/api/auxiliaries/{aux.id}/departure", leaving)] * 4,
                                 _token(base_url, admin.username))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409], [r.text for r in responses]
    for refused in (r for r in responses if r.status_code != 200):
        assert_problem(refused, 409, "auxiliary_departed", "第二十七条")
    with Session(pg_engine, info=leaf_info(TEST_LEAF_KEY)) as s:
        assert s.scalar(select(Agency.headcount_used).where(Agency.id == agency.id)) == 1
        departed = s.get(Auxiliary, aux.id)
        assert departed is not None and departed.status == "departed"
