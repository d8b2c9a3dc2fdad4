"""Offline sync: a batch of queued records, each answered on its own."""

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.models import Article19Case, AuxiliaryStatus, ShiftEvent, Task
from tests.factories import beijing, login, make_agency, make_auxiliary, make_officer, shift_payload, task_payload
from tests.problems import assert_problem


def _count(db: Session, model: type[Task] | type[ShiftEvent], ids: list[str]) -> int:
    stmt = select(func.count()).select_from(model).where(model.id.in_([uuid.UUID(i) for i in ids]))
    return db.scalar(stmt) or 0


def _headers(client: TestClient, db: Session, **kw: Any) -> dict[str, str]:
    user, _ = make_auxiliary(db, make_agency(db), **kw)
    return login(client, user)


def test_a_batch_stores_every_record_and_answers_each(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    tasks = [task_payload() for _ in range(3)]
    shifts = [{"kind": "check_in", **shift_payload()}, {"kind": "check_out", **shift_payload()}]
    r = client.post("/api/sync", json={"tasks": tasks, "shifts": shifts}, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(t["index"], t["id"], t["result"]) for t in body["tasks"]] == [
        (i, t["id"], "created") for i, t in enumerate(tasks)
    ]
    assert body["tasks"][0]["record"]["status"] == "recorded"
    assert [s["record"]["kind"] for s in body["shifts"]] == ["check_in", "check_out"]
    assert _count(db, Task, [t["id"] for t in tasks]) == 3
    assert _count(db, ShiftEvent, [s["id"] for s in shifts]) == 2
    assert verify_log(db).ok


def test_one_bad_record_keeps_the_good_ones(client: TestClient, db: Session) -> None:
    headers = _headers(client, db, categories=["patrol"])
    good = [task_payload(), task_payload()]
    not_granted = task_payload(category="technical")
    malformed = {**task_payload(), "lat": "north"}
    no_id = {"category": "patrol"}
    r = client.post("/api/sync", json={"tasks": [good[0], not_granted, malformed, no_id, good[1]],
                                       "shifts": [{"kind": "nap", **shift_payload()}]}, headers=headers)
    assert r.status_code == 200, r.text
    results = r.json()["tasks"]
    assert [t["result"] for t in results] == ["created", "error", "error", "error", "created"]
    assert (results[1]["problem"]["code"], results[1]["problem"]["article"], results[1]["problem"]["status"]) == (
        "category_not_granted", "第七条", 422
    )
    assert results[2]["problem"]["code"] == "validation_error"
    assert results[2]["problem"]["errors"][0]["field"] == "lat"
    assert results[2]["id"] == malformed["id"] and results[3]["id"] is None
    assert r.json()["shifts"][0]["result"] == "error"
    assert _count(db, Task, [g["id"] for g in good]) == 2
    assert _count(db, Task, [not_granted["id"], malformed["id"]]) == 0


def test_an_instant_outside_the_utc_years_is_that_records_error(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    task = task_payload(started_at="0001-01-01T00:00:00+14:00")
    shift = {"kind": "check_in", **shift_payload(at="9999-12-31T23:59:59-14:00")}
    r = client.post("/api/sync", json={"tasks": [task, task_payload()], "shifts": [shift]}, headers=headers)
    assert r.status_code == 200, r.text
    assert [t["result"] for t in r.json()["tasks"]] == ["error", "created"]
    assert r.json()["tasks"][0]["problem"]["errors"][0]["field"] == "started_at"
    assert r.json()["shifts"][0]["problem"]["errors"][0]["field"] == "at"
    assert _count(db, ShiftEvent, [shift["id"]]) == 0


def test_an_id_that_cannot_be_echoed_is_answered_without_it(client: TestClient, db: Session) -> None:
    # Sent as ASCII JSON text, so the lone surrogate travels as an escape, as a hostile client would send it.
    content = json.dumps({"shifts": [{**shift_payload(), "kind": "check_in", "id": "\ud800"}]}).encode()
    r = client.post("/api/sync", content=content, headers={**_headers(client, db), "content-type": "application/json"})
    assert r.status_code == 200, r.text
    assert (r.json()["shifts"][0]["result"], r.json()["shifts"][0]["id"]) == ("error", None)


def test_a_batch_sent_again_is_all_duplicates_and_changed_ids_conflict(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    tasks = [task_payload() for _ in range(3)]
    shifts = [{"kind": "check_in", **shift_payload()}]
    first = client.post("/api/sync", json={"tasks": tasks, "shifts": shifts}, headers=headers).json()
    changed = [tasks[0], {**tasks[1], "description": "改过"}, tasks[2]]
    again = client.post("/api/sync", json={"tasks": changed, "shifts": shifts}, headers=headers).json()
    assert [t["result"] for t in again["tasks"]] == ["duplicate", "error", "duplicate"]
    assert again["tasks"][1]["problem"]["code"] == "id_conflict" and again["tasks"][1]["problem"]["status"] == 409
    assert again["tasks"][0]["record"] == first["tasks"][0]["record"]
    assert again["shifts"][0]["result"] == "duplicate"
    assert _count(db, Task, [t["id"] for t in tasks]) == 3


def test_records_already_sent_one_by_one_are_duplicates(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    task = task_payload()
    shift = shift_payload()
    client.post("/api/tasks", json=task, headers=headers)
    client.post("/api/shifts/check-in", json=shift, headers=headers)
    r = client.post("/api/sync", json={"tasks": [task, task], "shifts": [{"kind": "check_in", **shift}]},
                    headers=headers).json()
    assert [t["result"] for t in r["tasks"]] == ["duplicate", "duplicate"]
    assert r["shifts"][0]["result"] == "duplicate"


def test_forbidden_work_in_a_batch_keeps_its_case(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    forbidden = task_payload(category="inspection", officer_id=str(officer.id), flags={"fine_quota": True})
    good = task_payload()
    r = client.post("/api/sync", json={"tasks": [forbidden, good]}, headers=login(client, aux_user)).json()
    assert [t["result"] for t in r["tasks"]] == ["error", "created"]
    assert (r["tasks"][0]["problem"]["code"], r["tasks"][0]["problem"]["article"]) == ("forbidden_work", "第十九条")
    case = db.scalar(select(Article19Case).where(Article19Case.attempt_id == uuid.UUID(forbidden["id"])))
    assert case is not None and case.requested_by == officer_user.id
    assert verify_log(db).ok


def test_without_a_credential_tasks_and_shifts_are_refused(client: TestClient, db: Session) -> None:
    headers = _headers(client, db, status=AuxiliaryStatus.SUSPENDED)
    r = client.post("/api/sync", json={"tasks": [task_payload()], "shifts": [{"kind": "check_in",
                                                                             **shift_payload()}]},
                    headers=headers).json()
    assert r["tasks"][0]["problem"]["code"] == "credential_not_active"
    assert (r["shifts"][0]["problem"]["code"], r["shifts"][0]["problem"]["article"]) == (
        "credential_not_active", "第二十三条")


def test_shift_events_are_applied_in_time_order_and_answered_in_place(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    morning_out = {"kind": "check_out", **shift_payload(at=beijing(12))}
    morning_in = {"kind": "check_in", **shift_payload(at=beijing(8))}
    evening_in = {"kind": "check_in", **shift_payload(at=beijing(14))}
    evening_out = {"kind": "check_out", **shift_payload(at=beijing(18))}
    r = client.post("/api/sync", json={"shifts": [evening_out, morning_out, evening_in, morning_in]},
                    headers=headers)
    answers = r.json()["shifts"]
    assert [a["result"] for a in answers] == ["created"] * 4, answers
    assert [a["id"] for a in answers] == [evening_out["id"], morning_out["id"], evening_in["id"], morning_in["id"]]
    assert answers[1]["record"]["check_in_id"] == morning_in["id"]
    assert answers[0]["record"]["check_in_id"] == evening_in["id"]
    again = client.post("/api/sync", json={"shifts": [morning_in, evening_out, morning_out, evening_in]},
                        headers=headers).json()["shifts"]
    assert [a["result"] for a in again] == ["duplicate"] * 4
    assert verify_log(db).ok


def test_a_batch_keeps_the_shift_rules(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    shifts = [{"kind": kind, **shift_payload(at=beijing(hour))}
              for kind, hour in (("check_in", 8), ("check_in", 9), ("check_out", 17), ("check_out", 18))]
    answers = client.post("/api/sync", json={"shifts": shifts}, headers=headers).json()["shifts"]
    assert [a["result"] for a in answers] == ["created", "error", "created", "error"]
    assert [(a.get("problem") or {}).get("code") for a in answers] == [
        None, "already_checked_in", None, "not_checked_in"]
    assert _count(db, ShiftEvent, [shifts[1]["id"], shifts[3]["id"]]) == 0


def test_problems_speak_english_on_request(client: TestClient, db: Session) -> None:
    headers = {**_headers(client, db), "Accept-Language": "en"}
    r = client.post("/api/sync", json={"tasks": [task_payload(category="scene_order")]}, headers=headers).json()
    assert "officer" in r["tasks"][0]["problem"]["detail"]


def test_more_than_500_records_is_422(client: TestClient, db: Session) -> None:
    headers = _headers(client, db)
    r = client.post("/api/sync", json={"tasks": [task_payload() for _ in range(501)]}, headers=headers)
    assert_problem(r, 422, "validation_error")
    assert_problem(client.post("/api/sync", json={"tasks": [], "other": 1}, headers=headers), 422, "validation_error")


def test_only_auxiliaries_sync(client: TestClient, db: Session) -> None:
    officer_user, _ = make_officer(db, make_agency(db))
    r = client.post("/api/sync", json={"tasks": []}, headers=login(client, officer_user))
    assert_problem(r, 403, "role_not_allowed")


def test_a_full_batch_of_500_tasks(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency)
    headers = login(client, aux_user)
    tasks = [task_payload(category="inspection", officer_id=str(officer.id)) if i % 2 else task_payload()
             for i in range(500)]
    r = client.post("/api/sync", json={"tasks": tasks}, headers=headers)
    assert r.status_code == 200
    assert {t["result"] for t in r.json()["tasks"]} == {"created"}
    assert _count(db, Task, [t["id"] for t in tasks]) == 500
    again = client.post("/api/sync", json={"tasks": tasks}, headers=headers)
    assert {t["result"] for t in again.json()["tasks"]} == {"duplicate"}
    assert verify_log(db).ok


def test_a_mixed_batch_answers_each_record_in_place_and_keeps_the_chain(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, officer = make_officer(db, agency)
    aux_user, _ = make_auxiliary(db, agency, categories=["patrol"])
    headers = login(client, aux_user)
    stored = task_payload()
    assert client.post("/api/tasks", json=stored, headers=headers).status_code == 201
    twice = task_payload()
    batch = [
        task_payload(),                                               # 0 new
        stored,                                                       # 1 sent before: duplicate
        task_payload(category="publicity"),                           # 2 not granted (第七条)
        twice,                                                        # 3 new
        {**twice, "description": "另一内容"},                          # 4 same id, other content
        task_payload(flags={"fine_quota": True}),                     # 5 forbidden (第十九条)
        task_payload(category="inspection", officer_id=str(officer.id)),  # 6 new, assisted
        task_payload(category="inspection"),                          # 7 no officer (第八条)
    ]
    answers = client.post("/api/sync", json={"tasks": batch}, headers=headers).json()["tasks"]
    assert [a["result"] for a in answers] == [
        "created", "duplicate", "error", "created", "error", "error", "created", "error"]
    assert [(a.get("problem") or {}).get("code") for a in answers] == [
        None, None, "category_not_granted", None, "id_conflict", "forbidden_work", None, "officer_required"]
    assert [a["index"] for a in answers] == list(range(8))
    assert db.scalar(select(func.count()).select_from(Article19Case)
                     .where(Article19Case.attempt_id == uuid.UUID(batch[5]["id"]))) == 1
    assert verify_log(db).ok
