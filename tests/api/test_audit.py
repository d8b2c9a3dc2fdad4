"""The audit log detects a row changed or removed behind the application's back, and a broken chain."""

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.models import AuditEntry, Role, Training
from tests.factories import login, make_agency, make_auxiliary, make_user


def _logged_training(db: Session) -> Training:
    _, aux = make_auxiliary(db, make_agency(db))
    user = make_user(db, role=Role.AGENCY_ADMIN, agency=None)
    row = Training(auxiliary_id=aux.id, kind="pre_job", hours=40, completed_on=aux.hired_on, passed=True,
                   recorded_by=user.id)
    db.add(row)
    audit.record(db, row, "training.recorded", actor_id=user.id)
    return row


def _check(client: TestClient, db: Session) -> dict[str, object]:
    admin = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    r = client.get("/api/audit/verify", headers=login(client, admin))
    assert r.status_code == 200
    body: dict[str, object] = r.json()
    return body


def test_untouched_log_verifies(client: TestClient, db: Session) -> None:
    _logged_training(db)
    body = _check(client, db)
    assert body["ok"] is True, body
    assert isinstance(body["entries"], int) and body["entries"] >= 1


def test_row_altered_behind_the_application_is_detected(client: TestClient, db: Session) -> None:
    row = _logged_training(db)
    db.execute(text("UPDATE trainings SET hours = 400 WHERE id = :id"), {"id": row.id.hex if
               db.get_bind().dialect.name == "sqlite" else row.id})
    db.expire_all()
    body = _check(client, db)
    assert body["ok"] is False
    assert body["first_bad"] == {"seq": body["first_bad"]["seq"], "entity": "trainings",  # type: ignore[index]
                                 "entity_id": str(row.id), "action": "training.recorded", "reason": "row_altered"}


def test_row_removed_is_detected(client: TestClient, db: Session) -> None:
    row = _logged_training(db)
    db.execute(text("DELETE FROM trainings WHERE id = :id"),
               {"id": row.id.hex if db.get_bind().dialect.name == "sqlite" else row.id})
    db.expire_all()
    body = _check(client, db)
    assert body["ok"] is False and body["first_bad"]["reason"] == "row_removed"  # type: ignore[index]


def test_broken_chain_is_detected(client: TestClient, db: Session) -> None:
    _logged_training(db)
    _logged_training(db)
    # The log refuses UPDATE and DELETE by trigger; an attacker with DDL rights drops the trigger first.
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
    else:
        db.execute(text("DROP TRIGGER audit_log_no_update"))
    db.execute(text("UPDATE audit_log SET action = 'training.forged' WHERE seq = (SELECT max(seq) FROM audit_log)"))
    db.expire_all()
    body = _check(client, db)
    assert body["ok"] is False and body["first_bad"]["reason"] == "chain_broken"  # type: ignore[index]


def test_audit_log_refuses_update_and_delete(db: Session) -> None:
    _logged_training(db)
    import pytest
    from sqlalchemy.exc import DBAPIError

    for stmt in ("UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError), db.begin_nested():
            db.execute(text(stmt))
    assert db.query(AuditEntry).count() >= 1


def test_agencies_and_accounts_are_logged_but_the_headcount_counter_is_not(client: TestClient, db: Session) -> None:
    admin = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    headers = login(client, admin)
    agency = client.post("/api/agencies", headers=headers, json={
        "name": "秦淮区城市管理局", "code": "QH-CGJ-T", "level": "district",
        "parent_id": str(make_agency(db, level="municipal").id), "headcount_quota": 5}).json()
    officer = client.post("/api/users", headers=headers, json={
        "username": "officer.audit", "password": "long enough pw", "role": "officer",
        "agency_id": agency["id"], "name": "审计测试"}).json()
    assert officer["officer_id"]
    key = agency["id"].replace("-", "") if db.get_bind().dialect.name == "sqlite" else agency["id"]
    db.execute(text("UPDATE agencies SET headcount_used = 3 WHERE id = :id"), {"id": key})
    db.expire_all()
    assert client.get("/api/audit/verify", headers=headers).json()["ok"] is True
    db.execute(text("UPDATE agencies SET headcount_quota = 500 WHERE id = :id"), {"id": key})
    db.expire_all()
    body = client.get("/api/audit/verify", headers=headers).json()
    assert body["ok"] is False and body["first_bad"]["entity"] == "agencies"
