"""Recording tasks: the duty catalogue's rules (第七条、第八条、第二十三条), the no-fine rule (第十九条(一)),
idempotent phone-made ids, who sees which records, and the append-only table."""

import base64
import json
import uuid
from dataclasses import asdict
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.domain.audit.check import verify_log
from api.domain.duties import DUTY_BY_CODE, FORBIDDEN_FLAGS
from api.domain.models import Agency, AuxiliaryStatus, Role, Task
from schemas.tasks import TaskCreate, TaskFlags
from tests.factories import (
    OUT_OF_ZONE,
    beijing,
    in_utc,
    login,
    make_agency,
    make_auxiliary,
    make_officer,
    make_user,
    task_payload,
)
from tests.problems import assert_problem


def _tasks(db: Session, task_id: str | uuid.UUID) -> int:
    return db.scalar(select(func.count()).select_from(Task).where(Task.id == uuid.UUID(str(task_id)))) or 0


def _aux(client: TestClient, db: Session, agency: Agency | None = None, **kw: Any) -> dict[str, str]:
    user, _ = make_auxiliary(db, agency or make_agency(db), **kw)
    return login(client, user)


def test_granted_independent_task_is_recorded_in_zone(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    body = task_payload()
    r = client.post("/api/tasks", json=body, headers=headers)
    assert r.status_code == 201, r.text
    task = r.json()
    assert task["id"] == body["id"]
    assert (task["mode"], task["status"], task["in_zone"], task["version"]) == ("independent", "recorded", True, 1)
    assert task["started_at"] == in_utc(body["started_at"])  # stored in UTC
    assert _tasks(db, body["id"]) == 1
    assert verify_log(db).ok


def test_assisted_task_naming_an_officer_waits_for_cosign(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, officer = make_officer(db, agency)
    headers = _aux(client, db, agency)
    r = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                    headers=headers)
    assert r.status_code == 201, r.text
    assert (r.json()["mode"], r.json()["status"], r.json()["officer_id"]) == (
        "assisted", "pending_cosign", str(officer.id)
    )


def test_patrol_outside_zone_is_recorded_and_flagged(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    r = client.post("/api/tasks", json=task_payload(lat=OUT_OF_ZONE[0], lon=OUT_OF_ZONE[1]), headers=headers)
    assert r.status_code == 201
    assert r.json()["in_zone"] is False and r.json()["status"] == "recorded"


def test_auxiliary_without_zones_records_in_zone_null(client: TestClient, db: Session) -> None:
    headers = _aux(client, db, zones={})
    r = client.post("/api/tasks", json=task_payload(), headers=headers)
    assert r.status_code == 201 and r.json()["in_zone"] is None


def test_only_auxiliaries_record_tasks(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    officer_user, _ = make_officer(db, agency)
    body = task_payload()
    r = client.post("/api/tasks", json=body, headers=login(client, officer_user))
    assert_problem(r, 403, "role_not_allowed")
    assert _tasks(db, body["id"]) == 0


@pytest.mark.parametrize("status", [AuxiliaryStatus.SUSPENDED, AuxiliaryStatus.DEPARTED,
                                    AuxiliaryStatus.PENDING_TRAINING])
def test_auxiliary_without_active_credential_records_nothing_article_23(
    client: TestClient, db: Session, status: AuxiliaryStatus
) -> None:
    headers = _aux(client, db, status=status)
    body = task_payload()
    assert_problem(client.post("/api/tasks", json=body, headers=headers), 403, "credential_not_active", "第二十三条")
    assert _tasks(db, body["id"]) == 0


def test_unknown_category_is_a_validation_error(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    r = client.post("/api/tasks", json=task_payload(category="fine_collection"), headers=headers)
    assert_problem(r, 422, "validation_error")
    assert any(e["field"] == "category" for e in r.json()["errors"])


def test_category_literal_matches_the_duty_catalogue() -> None:
    schema = TaskCreate.model_json_schema()
    assert set(schema["properties"]["category"]["enum"]) == set(DUTY_BY_CODE)
    assert set(TaskFlags.model_fields) == set(FORBIDDEN_FLAGS)


@pytest.mark.parametrize("flags", [{}, {"fine_quota": True}, {"in_officer_name": True, "state_secret": True},
                                   dict.fromkeys(FORBIDDEN_FLAGS, True)])
def test_a_draft_holds_every_field_and_flag_as_sent(flags: dict[str, bool]) -> None:
    body = TaskCreate.model_validate(task_payload(officer_id=str(uuid.uuid4()), legal_basis="《条例》", flags=flags))
    draft = body.to_draft()
    assert asdict(draft) == body.model_dump()
    assert sorted(draft.flags.raised()) == sorted(flags)


@pytest.mark.parametrize("ref", [None, "", "   "])
def test_assigned_work_without_written_assignment_cites_article_7(
    client: TestClient, db: Session, ref: str | None
) -> None:
    headers = _aux(client, db, categories=["assigned"])
    body = task_payload(category="assigned", assignment_ref=ref)
    assert_problem(client.post("/api/tasks", json=body, headers=headers), 422, "assignment_required", "第七条")
    assert _tasks(db, body["id"]) == 0
    ok = task_payload(category="assigned", assignment_ref="玄城管交〔2026〕12号")
    assert client.post("/api/tasks", json=ok, headers=headers).status_code == 201


def test_statutory_other_without_legal_basis_cites_article_8(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, officer = make_officer(db, agency)
    headers = _aux(client, db, agency)
    body = task_payload(category="statutory_other", officer_id=str(officer.id))
    assert_problem(client.post("/api/tasks", json=body, headers=headers), 422, "legal_basis_required", "第八条")
    assert _tasks(db, body["id"]) == 0


def test_independent_category_not_granted_cites_article_7(client: TestClient, db: Session) -> None:
    headers = _aux(client, db, categories=["patrol"])
    body = task_payload(category="technical")
    assert_problem(client.post("/api/tasks", json=body, headers=headers), 422, "category_not_granted", "第七条")
    assert _tasks(db, body["id"]) == 0


def test_assisted_task_without_officer_cites_article_8(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    body = task_payload(category="scene_order")
    assert_problem(client.post("/api/tasks", json=body, headers=headers), 422, "officer_required", "第八条")
    assert _tasks(db, body["id"]) == 0


@pytest.mark.parametrize("which", ["unknown", "inactive", "other_agency", "inactive_account"])
def test_officer_unknown_inactive_or_elsewhere_is_not_available_article_8(
    client: TestClient, db: Session, which: str
) -> None:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency if which != "other_agency" else make_agency(db),
                                         active=which != "inactive")
    if which == "inactive_account":
        officer_user.active = False
        db.flush()
    officer_id = uuid.uuid4() if which == "unknown" else officer.id
    headers = _aux(client, db, agency)
    body = task_payload(category="inspection", officer_id=str(officer_id))
    assert_problem(client.post("/api/tasks", json=body, headers=headers), 422, "officer_not_available", "第八条")
    assert _tasks(db, body["id"]) == 0


def test_seconded_auxiliary_is_directed_by_officers_of_the_commanding_street(
    client: TestClient, db: Session
) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    _, district_officer = make_officer(db, district)
    _, street_officer = make_officer(db, street)
    headers = _aux(client, db, district, command_agency=street)
    refused = client.post("/api/tasks", json=task_payload(category="inspection",
                                                          officer_id=str(district_officer.id)), headers=headers)
    assert_problem(refused, 422, "officer_not_available", "第八条")
    r = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(street_officer.id)),
                    headers=headers)
    assert r.status_code == 201
    assert (r.json()["agency_id"], r.json()["command_agency_id"]) == (str(district.id), str(street.id))


@pytest.mark.parametrize("extra", [{"fine_amount": 200}, {"fine_total": 1}, {"flags": {"fine_amount": 5}}])
def test_no_field_can_carry_a_fine_amount_article_19(
    client: TestClient, db: Session, extra: dict[str, Any]
) -> None:
    headers = _aux(client, db)
    body = task_payload(**extra)
    r = client.post("/api/tasks", json=body, headers=headers)
    assert_problem(r, 422, "validation_error")
    assert _tasks(db, body["id"]) == 0
    assert not any("fine" in column.name for column in Task.__table__.columns)


@pytest.mark.parametrize(
    "override",
    [
        {"ended_at": beijing(8)},  # before started_at
        {"started_at": "2026-11-26T09:00:00"},  # no offset
        {"started_at": "0001-01-01T00:00:00+14:00"},  # before year 1 in UTC
        {"ended_at": "9999-12-31T23:59:59-14:00"},  # after year 9999 in UTC
        {"lat": "NaN"},
        {"lon": "Infinity"},
        {"lat": 91},
        {"id": "not-a-uuid"},
        {"officer_id": "123"},
        {"description": ""},
        {"description": "x" * 4001},
        {"description": "a\u0000b"},
        {"description": "a\ud800b"},
        {"flags": {"state_secret": "maybe"}},
    ],
)
def test_malformed_task_is_422_never_500(client: TestClient, db: Session, override: dict[str, Any]) -> None:
    headers = _aux(client, db)
    # Sent as ASCII JSON text, so a lone surrogate travels as an escape, as a hostile client would send it.
    content = json.dumps(task_payload(**override)).encode()
    r = client.post("/api/tasks", content=content, headers={**headers, "content-type": "application/json"})
    assert_problem(r, 422, "validation_error")


def test_malformed_json_and_path_ids_are_422(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    bad = client.post("/api/tasks", content=b'{"id": ', headers={**headers, "content-type": "application/json"})
    assert_problem(bad, 422, "validation_error")
    assert_problem(client.get("/api/tasks/not-a-uuid", headers=headers), 422, "validation_error")


# Idempotency of phone-made ids (Offline sync)


def test_same_task_sent_again_answers_200_with_the_stored_record(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    body = task_payload()
    first = client.post("/api/tasks", json=body, headers=headers)
    again = client.post("/api/tasks", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert _tasks(db, body["id"]) == 1


def test_a_stored_record_sent_again_gets_its_record_back_though_the_rules_would_now_refuse_it(
    client: TestClient, db: Session
) -> None:
    agency = make_agency(db)
    _, officer = make_officer(db, agency)
    headers = _aux(client, db, agency)
    body = task_payload(category="inspection", officer_id=str(officer.id))
    first = client.post("/api/tasks", json=body, headers=headers)
    assert first.status_code == 201, first.text
    officer.active = False  # the officer named has left since: a new record naming them is refused
    db.flush()
    again = client.post("/api/tasks", json=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert_problem(client.post("/api/tasks", json={**body, "id": str(uuid.uuid4())}, headers=headers), 422,
                   "officer_not_available")
    assert_problem(client.post("/api/tasks", json={**body, "description": "另一条"}, headers=headers), 409,
                   "id_conflict")


def test_same_instant_in_another_offset_is_the_same_content(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    body = task_payload()
    assert client.post("/api/tasks", json=body, headers=headers).status_code == 201
    utc = {**body, "started_at": in_utc(body["started_at"]),
           "ended_at": in_utc(body["ended_at"]).replace("Z", "+00:00"), "flags": {"fine_quota": False}}
    assert client.post("/api/tasks", json=utc, headers=headers).status_code == 200


def test_same_id_with_other_content_is_409_id_conflict(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    body = task_payload()
    assert client.post("/api/tasks", json=body, headers=headers).status_code == 201
    r = client.post("/api/tasks", json={**body, "description": "另一条"}, headers=headers)
    assert "article" not in assert_problem(r, 409, "id_conflict")
    assert db.get(Task, uuid.UUID(body["id"])).description == "新街口商圈巡查"  # type: ignore[union-attr]


def test_an_id_of_another_auxiliary_is_409_and_leaks_nothing(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    body = task_payload()
    assert client.post("/api/tasks", json=body, headers=_aux(client, db, agency)).status_code == 201
    r = client.post("/api/tasks", json=body, headers=_aux(client, db, agency))
    assert "article" not in assert_problem(r, 409, "id_conflict")
    assert "description" not in r.json()


# Who sees what


def test_task_list_visibility_per_role(client: TestClient, db: Session) -> None:
    district = make_agency(db)
    street = make_agency(db, level="street", parent=district)
    other = make_agency(db)
    officer_user, officer = make_officer(db, street)
    aux_user, _ = make_auxiliary(db, district, command_agency=street)
    other_user, _ = make_auxiliary(db, other)
    aux_h, other_h = login(client, aux_user), login(client, other_user)
    own = client.post("/api/tasks", json=task_payload(), headers=aux_h).json()["id"]
    assisted = client.post("/api/tasks", json=task_payload(category="inspection", officer_id=str(officer.id)),
                           headers=aux_h).json()["id"]
    foreign = client.post("/api/tasks", json=task_payload(), headers=other_h).json()["id"]

    def ids(user_headers: dict[str, str], query: str = "") -> set[str]:
        r = client.get(f"/api/tasks{query}", headers=user_headers)
        assert r.status_code == 200, r.text
        return {t["id"] for t in r.json()["items"]}

    assert ids(aux_h) == {own, assisted}
    assert ids(login(client, officer_user)) == {assisted}
    assert ids(login(client, officer_user), "?status=pending_cosign") == {assisted}
    assert ids(login(client, officer_user), "?status=cosigned") == set()
    for admin_agency in (district, street):
        admin = make_user(db, role=Role.AGENCY_ADMIN, agency=admin_agency)
        assert ids(login(client, admin)) == {own, assisted}
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    assert {own, assisted, foreign} <= ids(justice)
    assert ids(aux_h, "?category=inspection") == {assisted}
    assert ids(aux_h, "?since=2999-01-01T00:00:00Z") == set()
    assert_problem(client.get(f"/api/tasks/{foreign}", headers=aux_h), 404, "not_found")
    assert_problem(client.get(f"/api/tasks/{own}", headers=login(client, officer_user)), 404, "not_found")
    assert client.get(f"/api/tasks/{own}", headers=aux_h).json()["id"] == own


def test_task_list_pages_with_a_cursor(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    made = {client.post("/api/tasks", json=task_payload(), headers=headers).json()["id"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(f"/api/tasks{query}", headers=headers).json()
        assert len(page["items"]) <= 2
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and set(seen) == made
    assert_problem(client.get("/api/tasks?cursor=garbage", headers=headers), 422, "invalid_cursor")
    assert len(client.get("/api/tasks?limit=100000", headers=headers).json()["items"]) == 5


def test_database_refuses_deleting_a_task(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    task_id = uuid.UUID(client.post("/api/tasks", json=task_payload(), headers=headers).json()["id"])
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(delete(Task).where(Task.id == task_id))
    assert _tasks(db, task_id) == 1


def test_naive_since_is_refused(client: TestClient, db: Session) -> None:
    headers = _aux(client, db)
    assert_problem(client.get("/api/tasks?since=2026-01-01T00:00:00", headers=headers), 422, "validation_error")


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00%2B14:00", "9999-12-31T23:59:59-14:00"])
def test_since_outside_the_utc_years_is_refused(client: TestClient, db: Session, since: str) -> None:
    r = client.get(f"/api/tasks?since={since}", headers=_aux(client, db))
    assert assert_problem(r, 422, "validation_error")["errors"][0]["field"] == "since"


@pytest.mark.parametrize(
    "raw",
    [
        ["2026-01-01T00:00:00+00:00", 5],  # the id part not a string
        ["2026-01-01T00:00:00+00:00", ["x"]],
        ["0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000001"],  # no UTC instant
        ["9999-12-31T23:59:59-14:00", "00000000-0000-0000-0000-000000000001"],
        {"a": 1},
    ],
)
def test_a_forged_cursor_is_invalid_cursor(client: TestClient, db: Session, raw: object) -> None:
    cursor = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")
    r = client.get(f"/api/tasks?cursor={cursor}", headers=_aux(client, db))
    assert_problem(r, 422, "invalid_cursor")


def test_fieldwork_is_documented_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    fieldwork = {path: ops for path, ops in spec["paths"].items()
                 if path.startswith(("/api/tasks", "/api/shifts", "/api/sync", "/api/article19"))}
    assert len(fieldwork) == 13
    for ops in fieldwork.values():
        for op in ops.values():
            assert op.get("description"), op["operationId"]
    schemas = spec["components"]["schemas"]
    for name in ("TaskCreate", "TaskRead", "CosignCreate", "CheckIn", "ShiftRead", "SyncRequest", "Article19CaseRead"):
        assert "example" in schemas[name] or "examples" in schemas[name], name
