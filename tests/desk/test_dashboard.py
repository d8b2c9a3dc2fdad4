"""The figures of 第三十条 over time (``monthly_figures``) and the dashboard that draws them: charts without a
script or anything from another origin, each beside its numbers, and a table of agencies sorted by the query
string. The desk's pages stay out of the OpenAPI document."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.domain.base import BEIJING
from api.domain.models import Agency, Article19Case, Auxiliary, Task, TaskStatus
from api.domain.oversight.monthly import last_months, monthly_figures
from tests.desk.conftest import Desk
from tests.desk.helpers import desk_login
from tests.factories import IN_ZONE, make_agency, make_auxiliary, make_complaint, make_officer

NOW = datetime(2026, 3, 15, 4, 0, tzinfo=UTC)


def _task(db: Session, aux: Auxiliary, at: datetime, *, mode: str = "independent",
          status: TaskStatus = TaskStatus.RECORDED) -> Task:
    task = Task(id=uuid.uuid4(), auxiliary_id=aux.id, agency_id=aux.agency_id, command_agency_id=aux.agency_id,
                category="patrol" if mode == "independent" else "inspection", mode=mode, status=status,
                description="巡查", started_at=at, lat=IN_ZONE[0], lon=IN_ZONE[1], recorded_by=aux.user_id,
                content_hash="0" * 64)
    db.add(task)
    return task


def test_the_months_are_beijing_calendar_months_oldest_first() -> None:
    months = last_months(3, now=datetime(2026, 1, 31, 16, 30, tzinfo=UTC))  # already 1 February in Nanjing
    assert [m.label for m in months] == ["2025-12", "2026-01", "2026-02"]
    assert months[-1].starts_at == datetime(2026, 2, 1, tzinfo=BEIJING)
    assert [m.label for m in last_months(1, now=datetime(2026, 12, 5, tzinfo=UTC))] == ["2026-12"]


def test_monthly_figures_count_each_record_in_its_month_and_agency(db: Session, desk: Desk) -> None:
    _, aux = make_auxiliary(db, desk.agency)
    _, elsewhere = make_auxiliary(db, desk.other_agency)
    aux.hired_on = date(2026, 2, 10)
    aux.left_on = date(2026, 3, 1)
    march = datetime(2026, 3, 2, 1, tzinfo=UTC)
    january_in_beijing = datetime(2026, 1, 31, 17, tzinfo=UTC)  # 1 February, 01:00 in Nanjing
    _task(db, aux, march)
    _task(db, aux, march, mode="assisted", status=TaskStatus.PENDING_COSIGN)
    _task(db, aux, march, status=TaskStatus.SUPERSEDED)  # a corrected version counts once, as its successor
    _task(db, aux, january_in_beijing)
    _task(db, elsewhere, march)
    complaint = make_complaint(db, aux)
    complaint.received_at = march
    officer, _ = make_officer(db, desk.agency)
    db.add(Article19Case(attempt_id=uuid.uuid4(), agency_id=desk.agency.id, auxiliary_id=aux.id,
                         requested_by=officer.id, reported_by=aux.user_id, flags=["fine_quota"], request={},
                         created_at=march))
    db.flush()
    rows = monthly_figures(db, agency_ids=[desk.agency.id], months=3, now=NOW)
    assert [r.month.label for r in rows] == ["2026-01", "2026-02", "2026-03"]
    jan, feb, mar = rows
    assert (jan.independent, feb.independent, mar.independent) == (0, 1, 1)
    assert mar.assisted == 1 and mar.complaints == 1 and mar.article19 == 1
    assert feb.hires == 1 and mar.departures == 1
    assert sum(r.independent for r in monthly_figures(db, agency_ids=[desk.other_agency.id], months=3,
                                                      now=NOW)) == 1
    assert all(r.independent == 0 for r in monthly_figures(db, agency_ids=[], months=3, now=NOW))


def _agency_order(html: str, agencies: list[Agency]) -> list[str]:
    table = html.split('id="agencies-table"', 1)[1]
    names = [a.name for a in agencies]
    return sorted(names, key=table.index)


def test_the_agency_table_sorts_by_the_query_string(client: TestClient, db: Session, desk: Desk) -> None:
    small = make_agency(db, name="甲街道办事处", level="street", quota=3)
    big = make_agency(db, name="乙区城市管理局", quota=80)
    db.flush()
    desk_login(client, desk.justice)
    ours = [small, big, desk.agency]
    html = client.get("/desk/dashboard?sort=quota&dir=desc").text
    assert _agency_order(html, ours) == ["乙区城市管理局", "玄武区城市管理局", "甲街道办事处"]
    assert re.search(r'<th scope="col" class="num" aria-sort="descending"><a href="[^"]*sort=quota&amp;dir=asc"',
                     html)
    html = client.get("/desk/dashboard?sort=quota&dir=asc").text
    assert _agency_order(html, ours) == ["甲街道办事处", "玄武区城市管理局", "乙区城市管理局"]
    assert client.get("/desk/dashboard?sort=nonsense&dir=sideways&months=abc").status_code == 200


def test_the_charts_carry_no_script_and_load_nothing_from_elsewhere(
    client: TestClient, db: Session, desk: Desk
) -> None:
    _, aux = make_auxiliary(db, desk.agency)
    _task(db, aux, datetime.now(UTC) - timedelta(days=1))
    db.flush()
    desk_login(client, desk.admin)
    r = client.get("/desk/dashboard")
    assert r.status_code == 200
    html = r.text
    assert "<script" not in html.lower() and "javascript:" not in html.lower()
    assert not re.findall(r'(?:src|href)\s*=\s*"(?:https?:)?//', html)
    assert not re.findall(r"https?://(?!www\.w3\.org/)", html)
    svgs = re.findall(r"<svg[^>]*>", html)
    assert len(svgs) == 4 and all('role="img"' in s and "aria-label=" in s for s in svgs)
    assert "default-src 'none'" in r.headers["content-security-policy"]
    # Each chart's numbers sit beside it: this month's independent work is in the table.
    month = datetime.now(BEIJING) - timedelta(days=1)
    table = html.split('id="t-tasks"', 1)[1].split("</table>", 1)[0]
    assert re.search(rf"<th scope=\"row\">{month:%Y-%m}</th><td class=\"num\">1</td>", table)


def test_an_agency_sees_its_own_figures_only(client: TestClient, db: Session, desk: Desk) -> None:
    desk_login(client, desk.admin)
    html = client.get("/desk/dashboard").text
    assert desk.agency.name in html and desk.other_agency.name not in html


def test_the_desks_pages_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/desk")]
