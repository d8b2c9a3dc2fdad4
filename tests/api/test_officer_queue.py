"""An officer's queue mixes several auxiliaries' records (第八条): each says whose it is, read with one query for
the whole page, however many auxiliaries it names."""

from fastapi.testclient import TestClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from tests.factories import login, make_agency, make_auxiliary, make_officer, task_payload


def test_each_record_in_an_officers_queue_says_whose_it_is_in_a_fixed_number_of_queries(
    client: TestClient, db: Session, connection: Connection
) -> None:
    agency = make_agency(db)
    officer_user, officer = make_officer(db, agency)
    officer_headers = login(client, officer_user)
    people = [make_auxiliary(db, agency, name=name) for name in ("甲协管", "乙协管", "丙协管", "丁协管")]

    def record(count: int) -> None:
        for user, _ in people[:count]:
            body = task_payload(category="inspection", officer_id=str(officer.id))
            made = client.post("/api/tasks", json=body, headers=login(client, user)).json()
            assert made["auxiliary"] == {"id": made["auxiliary_id"], "name": user.name,
                                         "badge_no": next(a.badge_no for u, a in people if u is user)}

    def queue() -> tuple[list[dict[str, str]], int]:
        statements: list[str] = []

        def listener(*args: object) -> None:
            statements.append(str(args[2]))

        event.listen(connection.engine, "before_cursor_execute", listener)
        try:
            r = client.get("/api/tasks?status=pending_cosign", headers=officer_headers)
        finally:
            event.remove(connection.engine, "before_cursor_execute", listener)
        assert r.status_code == 200, r.text
        return [t["auxiliary"] for t in r.json()["items"]], len(statements)

    record(1)
    few, few_statements = queue()
    record(4)
    many, many_statements = queue()
    assert len(few) == 1 and len(many) == 5
    assert {a["name"] for a in many} == {"甲协管", "乙协管", "丙协管", "丁协管"}
    assert all(a["badge_no"] == next(x.badge_no for _, x in people if str(x.id) == a["id"]) for a in many)
    assert many_statements == few_statements
