"""The December roster (第十二条) as of 31 December of its year, and as an .xlsx file that holds what the CSV holds."""

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from api.domain.audit import log as audit_log
from api.domain.audit.tree import integrate_all
from api.domain.models import Agency, AuxiliaryStatus, Role, Training
from tests.factories import hire_body, login, make_agency, make_auxiliary, make_user
from tests.problems import assert_problem

BEIJING = timezone(timedelta(hours=8))
YEAR = 2025
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Clock = Callable[[int, int, int], None]


@pytest.fixture
def log_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Sets the time the log records for what the service does next (a Beijing date, 10:00)."""

    def set_day(year: int, month: int, day: int) -> None:
        when = datetime(year, month, day, 10, tzinfo=BEIJING)
        monkeypatch.setattr(audit_log, "utcnow", lambda: when)

    return set_day


def _hire(client: TestClient, headers: dict[str, str], agency: Agency, hired_on: str, *, credential: bool = True
          ) -> tuple[str, str]:
    """Hire through the API (and issue the credential after a passed pre-job training); (id, badge number)."""
    r = client.post("/api/auxiliaries", json=hire_body(agency, hired_on=hired_on), headers=headers)
    assert r.status_code == 201, r.text
    aux_id, badge_no = r.json()["id"], r.json()["badge_no"]
    if credential:
        training = {"kind": "pre_job", "hours": 40, "completed_on": hired_on, "passed": True}
        assert client.post(f"/api/auxiliaries/{aux_id}/trainings", json=training, headers=headers).status_code == 201
        assert client.post(f"/api/auxiliaries/{aux_id}/credential", headers=headers).status_code == 201
    return aux_id, badge_no


def _depart(client: TestClient, headers: dict[str, str], aux_id: str, left_on: str) -> None:
    r = client.post(f"/api/auxiliaries/{aux_id}/departure", headers=headers,
                    json={"left_on": left_on, "reason": "合同期满", "items_recovered": ["credential"]})
    assert r.status_code == 200, r.text


def _by_badge(client: TestClient, headers: dict[str, str], year: int) -> dict[str, dict[str, Any]]:
    body = client.get("/api/reports/roster", params={"year": year}, headers=headers).json()
    assert body["status_as_of"] == f"{year}-12-31"
    return {a["badge_no"]: a for a in body["auxiliaries"]}


def test_each_row_stands_as_on_31_december_not_as_today(
    client: TestClient, db: Session, log_clock: Clock
) -> None:
    agency = make_agency(db, quota=10)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    log_clock(YEAR, 3, 1)
    leaves_in_january, a = _hire(client, admin, agency, f"{YEAR}-03-01")
    suspended_over_new_year, b = _hire(client, admin, agency, f"{YEAR}-03-01")
    left_in_december, c = _hire(client, admin, agency, f"{YEAR}-03-01")
    _, d = _hire(client, admin, agency, f"{YEAR}-06-01", credential=False)
    log_clock(YEAR, 11, 1)
    r = client.post(f"/api/auxiliaries/{suspended_over_new_year}/suspend", json={"reason": "调查中"}, headers=admin)
    assert r.status_code == 200, r.text
    log_clock(YEAR, 12, 20)  # recorded before the year ends, effective after it
    _depart(client, admin, leaves_in_january, f"{YEAR + 1}-01-15")
    log_clock(YEAR, 12, 28)  # a hire recorded ahead, starting after the year
    _, e = _hire(client, admin, agency, f"{YEAR + 1}-01-05")
    log_clock(YEAR + 1, 1, 3)  # recorded after the year, effective within it
    _depart(client, admin, left_in_december, f"{YEAR}-12-30")
    log_clock(YEAR + 1, 1, 10)
    r = client.post(f"/api/auxiliaries/{suspended_over_new_year}/reinstate", json={"reason": "查无问题"}, headers=admin)
    assert r.status_code == 200, r.text

    rows = _by_badge(client, admin, YEAR)
    assert set(rows) == {a, b, c, d}  # the January hire is not on it
    assert (rows[a]["status"], rows[a]["status_name"], rows[a]["left_on"]) == ("active", "在岗", None)
    assert rows[b]["status"] == "suspended"
    assert (rows[c]["status"], rows[c]["left_on"]) == ("departed", f"{YEAR}-12-30")
    assert rows[d]["status"] == "pending_training"

    following = _by_badge(client, admin, YEAR + 1)
    assert set(following) == {a, b, d, e}  # the December departure is not on it
    assert (following[a]["status"], following[a]["left_on"]) == ("departed", f"{YEAR + 1}-01-15")
    assert following[b]["status"] == "active"
    assert following[e]["status"] == "active"


def test_rows_without_any_logged_move_fall_back_to_what_the_row_says(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)  # seeded: no hire or credential move in the log
    aux.hired_on, aux.left_on = date(2020, 1, 1), date(YEAR + 1, 2, 1)
    aux.status = AuxiliaryStatus.DEPARTED
    db.flush()
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    row = _by_badge(client, admin, YEAR)[aux.badge_no]
    assert (row["status"], row["left_on"]) == ("active", None)


def _csv_rows(client: TestClient, headers: dict[str, str], **params: Any) -> list[list[str]]:
    r = client.get("/api/reports/roster", params={"year": YEAR, "format": "csv", **params}, headers=headers)
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


def _as_csv_text(cell: Any) -> str:
    if cell.value is None:
        return ""
    if isinstance(cell.value, datetime):
        assert cell.number_format == "yyyy-mm-dd"
        return cell.value.date().isoformat()
    if isinstance(cell.value, int | float):
        return f"{cell.value:g}"
    assert cell.data_type == "s"  # text, never a formula
    text: str = cell.value
    return "'" + text if text.startswith(("=", "+", "-", "@")) else text


@pytest.mark.parametrize("city_wide", [False, True], ids=["agency", "city"])
def test_the_xlsx_holds_the_csv_rows_with_a_bold_frozen_header_and_real_dates(
    client: TestClient, db: Session, city_wide: bool
) -> None:
    agency = make_agency(db, name="玄武区城市管理局")
    _, aux = make_auxiliary(db, agency, name="王稳定")
    aux.hire_method, aux.dispatch_company = "dispatch", '=HYPERLINK("http://x")'
    db.add(Training(auxiliary_id=aux.id, kind="legal", hours=7.5, completed_on=date(YEAR, 5, 1), passed=True,
                    recorded_by=aux.user_id))
    make_auxiliary(db, agency, name="李协管")
    db.flush()
    role = Role.JUSTICE_ADMIN if city_wide else Role.AGENCY_ADMIN
    headers = login(client, make_user(db, role=role, agency=None if city_wide else agency))
    params = {} if city_wide else {"agency_id": str(agency.id)}

    r = client.get("/api/reports/roster", params={"year": YEAR, "format": "xlsx", **params}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=\"roster-") and ".xlsx\"; filename*=UTF-8''" in disposition
    if not city_wide:
        assert "filename*=UTF-8''%E7%8E%84%E6%AD%A6%E5%8C%BA" in disposition  # 玄武区…
    book = load_workbook(io.BytesIO(r.content))
    sheet = book.active
    assert sheet is not None and sheet.freeze_panes == "A2"
    values = [[_as_csv_text(c) for c in row] for row in sheet.iter_rows()]
    assert values == _csv_rows(client, headers, **params)
    assert all(c.font.b for c in sheet[1]) and not any(c.font.b for c in sheet[2])
    widths = {i: d.width for d in sheet.column_dimensions.values() for i in range(d.min or 0, (d.max or 0) + 1)}
    assert all(widths.get(i, 0) >= 8 for i in range(1, sheet.max_column + 1)), widths  # every column sized
    assert widths[[c.value for c in sheet[1]].index("劳务派遣单位") + 1] >= 20  # as wide as its longest cell
    hired = next(c for c in sheet[2] if isinstance(c.value, datetime))
    assert hired.is_date
    if city_wide:
        assert [c.value for c in sheet[1]][:2] == ["机关名称", "机关代码"]


def test_xlsx_refuses_another_agency_like_every_format(client: TestClient, db: Session) -> None:
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    r = client.get("/api/reports/roster", params={"format": "xlsx", "agency_id": str(make_agency(db).id)},
                   headers=admin)
    assert_problem(r, 403, "not_your_agency", "第五条")


def test_the_roster_reads_everyone_s_history_and_training_in_one_statement_each(
    client: TestClient, db: Session, connection: Connection
) -> None:
    """A roster of thousands must not read the log or the trainings person by person, nor a few hundred people
    a statement: seven people cost the same statements as two, each with as many parameters."""
    agency = make_agency(db, quota=20)
    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))

    def roster_statements() -> tuple[dict[str, str], list[tuple[str, int]]]:
        seen: list[tuple[str, int]] = []

        def count(_conn: object, _cursor: object, statement: str, parameters: Any, *_args: object) -> None:
            seen.append((statement, len(parameters or ())))

        event.listen(connection.engine, "before_cursor_execute", count)
        try:
            statuses = {a["badge_no"]: a["status"] for a in _by_badge(client, admin, YEAR).values()}
        finally:
            event.remove(connection.engine, "before_cursor_execute", count)
        return statuses, seen

    for _ in range(2):
        _hire(client, admin, agency, f"{YEAR}-03-01")
    few, few_seen = roster_statements()
    integrate_all(db)  # these moves in the tree, the next ones still queued: both are read
    for credential in (True, True, False, True, False):
        _hire(client, admin, agency, f"{YEAR}-04-01", credential=credential)
    many, many_seen = roster_statements()

    assert len(few) == 2 and len(many) == 7
    assert sorted(many.values()) == ["active"] * 5 + ["pending_training"] * 2
    listing = "\n".join(f"{n} parameters: {s}" for s, n in many_seen)
    assert [n for _, n in many_seen] == [n for _, n in few_seen], listing
    assert sum("FROM log_leaves" in s for s, _ in many_seen) == 1, listing
    assert sum("FROM trainings" in s for s, _ in many_seen) == 1, listing
