"""The December roster filing (第十二条) and the usage metrics (第三十条)."""

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import (
    Agency,
    Article19Case,
    Auxiliary,
    AuxiliaryStatus,
    Complaint,
    ComplaintStatus,
    Credential,
    DeadBadgeScan,
    Role,
    Task,
    TaskStatus,
    Training,
    User,
)
from tests.factories import login, make_agency, make_auxiliary, make_officer, make_user
from tests.problems import assert_problem

BEIJING = timezone(timedelta(hours=8))
YEAR = 2025
HEADERS = ["证件编号", "姓名", "身份证号码", "聘用方式", "劳务派遣单位", "聘用日期", "状态", "离职日期", "指挥机关",
           "独立履职类别", "岗前培训（小时）", "思想政治培训（小时）", "法律知识培训（小时）", "岗位技能培训（小时）",
           "心理健康培训（小时）", "本年培训合计（小时）", "累计培训（小时）"]


def _hired(db: Session, agency: Agency, hired_on: date, left_on: date | None = None, **kw: Any) -> Auxiliary:
    status = AuxiliaryStatus.DEPARTED if left_on else AuxiliaryStatus.ACTIVE
    _, aux = make_auxiliary(db, agency, status=status, **kw)
    aux.hired_on, aux.left_on = hired_on, left_on
    db.flush()
    return aux


def _task(db: Session, aux: Auxiliary, started_at: datetime, *, category: str = "patrol",
          status: TaskStatus = TaskStatus.RECORDED, created_at: datetime | None = None) -> Task:
    assisted = category in {"inspection", "scene_order"}
    task = Task(
        id=uuid.uuid4(), auxiliary_id=aux.id, agency_id=aux.agency_id, command_agency_id=aux.commanding_agency_id,
        category=category, mode="assisted" if assisted else "independent", status=status, description="巡查",
        started_at=started_at, lat=32.04, lon=118.78, recorded_by=aux.user_id, content_hash="0" * 64,
        created_at=created_at or started_at,
    )
    db.add(task)
    db.flush()
    return task


def _complaint(db: Session, agency: Agency | None, received_at: datetime,
               status: ComplaintStatus = ComplaintStatus.RECEIVED, due_at: datetime | None = None) -> None:
    db.add(Complaint(
        tracking_no=f"TS{uuid.uuid4().hex[:14].upper()}", access_code_hash="0" * 64,
        agency_id=agency.id if agency else None, category="other", description="x", occurred_at=received_at,
        status=status, received_at=received_at, due_at=due_at or received_at + timedelta(days=15),
    ))
    db.flush()


def _case(db: Session, agency: Agency, user: User, at: datetime) -> None:
    db.add(Article19Case(agency_id=agency.id, requested_by=user.id, reported_by=user.id, flags=["fine_quota"],
                         request={}, created_at=at))
    db.flush()


def _in_year(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(YEAR, month, day, hour, tzinfo=BEIJING)


def _roster(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    return client.get("/api/reports/roster", params={"year": YEAR, **params}, headers=headers)


@pytest.fixture
def filing(db: Session) -> dict[str, Any]:
    """An agency whose staff came and went around the report year."""
    agency = make_agency(db, quota=10)
    street = make_agency(db, level="street", parent=agency, name="新街口街道")
    staff = {
        "left_last_year": _hired(db, agency, date(2023, 3, 1), date(YEAR - 1, 12, 31)),
        "left_on_new_year": _hired(db, agency, date(2023, 3, 1), date(YEAR, 1, 1)),
        "steady": _hired(db, agency, date(2024, 3, 1), command_agency=street, name="王稳定"),
        "hired_in_december": _hired(db, agency, date(YEAR, 12, 15), name="陈十二"),
        "hired_next_year": _hired(db, agency, date(YEAR + 1, 1, 1)),
    }
    steady = staff["steady"]
    steady.hire_method, steady.dispatch_company = "dispatch", "=HYPERLINK(\"x\")"
    for hours, day in ((8, date(YEAR, 3, 1)), (4, date(YEAR, 9, 1)), (6, date(YEAR - 1, 9, 1))):
        db.add(Training(auxiliary_id=steady.id, kind="legal", hours=hours, completed_on=day, passed=True,
                        recorded_by=steady.user_id))
    db.flush()
    return {"agency": agency, "street": street, "staff": staff,
            "admin": make_user(db, role=Role.AGENCY_ADMIN, agency=agency)}


def test_roster_csv_is_utf8_with_bom_chinese_headers_and_the_years_staff(
    client: TestClient, db: Session, filing: dict[str, Any]
) -> None:
    r = _roster(client, login(client, filing["admin"]), format="csv")
    assert r.status_code == 200, r.text
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert r.headers["content-type"].startswith("text/csv")
    code, name = filing["agency"].code, filing["agency"].name
    assert r.headers["content-disposition"] == (
        f'attachment; filename="roster-{code}-{YEAR}.csv"; '
        f"filename*=UTF-8''{quote(f'{name}{YEAR}年行政执法辅助人员名册.csv', safe='')}")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == HEADERS
    staff = filing["staff"]
    expected = {staff[k].badge_no for k in ("left_on_new_year", "steady", "hired_in_december")}
    assert {row[0] for row in rows[1:]} == expected
    steady = next(dict(zip(HEADERS, row, strict=True)) for row in rows[1:] if row[0] == staff["steady"].badge_no)
    assert (steady["姓名"], steady["聘用方式"], steady["状态"]) == ("王稳定", "劳务派遣", "在岗")
    assert steady["劳务派遣单位"].startswith("'=")  # not a live formula in Excel
    assert steady["指挥机关"] == "新街口街道" and steady["聘用日期"] == "2024-03-01"
    assert steady["法律知识培训（小时）"] == "12" and steady["岗前培训（小时）"] == "0"
    assert (steady["本年培训合计（小时）"], steady["累计培训（小时）"]) == ("12", "18")  # 6 h the year before
    assert "巡查责任区" in steady["独立履职类别"] and "patrol" not in steady["独立履职类别"]


def test_roster_json_lists_the_same_staff_with_usage_for_the_year(
    client: TestClient, db: Session, filing: dict[str, Any]
) -> None:
    agency: Agency = filing["agency"]
    steady: Auxiliary = filing["staff"]["steady"]
    officer_user, _ = make_officer(db, agency)
    # Half past midnight on 1 January in Beijing is still the previous year in UTC: it counts.
    _task(db, steady, datetime(YEAR, 1, 1, 0, 30, tzinfo=BEIJING))
    _task(db, steady, _in_year(6, 1))
    _task(db, steady, _in_year(6, 2), status=TaskStatus.SUPERSEDED)
    _task(db, steady, _in_year(6, 3), category="inspection", status=TaskStatus.COSIGNED)
    _task(db, steady, _in_year(6, 4), category="inspection", status=TaskStatus.PENDING_COSIGN)
    _task(db, steady, datetime(YEAR - 1, 12, 31, 23, 30, tzinfo=BEIJING))
    _task(db, filing["staff"]["left_on_new_year"], datetime(YEAR + 1, 1, 1, 8, tzinfo=BEIJING))
    _complaint(db, agency, _in_year(5, 1), ComplaintStatus.RESOLVED)
    _complaint(db, agency, _in_year(7, 1), ComplaintStatus.DISMISSED)
    _complaint(db, agency, datetime(YEAR - 1, 7, 1, tzinfo=UTC), ComplaintStatus.RESOLVED)
    _case(db, agency, officer_user, _in_year(8, 1))
    _case(db, agency, officer_user, datetime(YEAR - 1, 8, 1, tzinfo=UTC))

    headers = login(client, filing["admin"])
    body = _roster(client, headers).json()
    csv_rows = list(csv.reader(io.StringIO(_roster(client, headers, format="csv").content.decode("utf-8-sig"))))
    assert [a["badge_no"] for a in body["auxiliaries"]] == [row[0] for row in csv_rows[1:]]
    assert body["agency"]["id"] == str(agency.id) and body["year"] == YEAR
    entry = next(a for a in body["auxiliaries"] if a["badge_no"] == steady.badge_no)
    assert entry["training_hours"]["legal"] == 12 and entry["command_agency"] == "新街口街道"
    assert {"code": "patrol", "name": "巡查责任区，及时发现、劝阻违法行为并上报"} in entry["categories"]
    usage = body["usage"]
    assert (usage["headcount_quota"], usage["headcount_used"]) == (10, agency.headcount_used)
    assert usage["tasks"] == 4
    assert usage["tasks_by_mode"] == {"independent": 2, "assisted": 2}
    assert {(t["category"], t["mode"], t["count"]) for t in usage["tasks_by_category"]} == {
        ("patrol", "independent", 2), ("inspection", "assisted", 2)}
    assert (usage["assisted_tasks"], usage["cosigned"], usage["pending_cosign"]) == (2, 1, 1)
    assert usage["cosigned_share"] == 0.5
    assert (usage["complaints_received"], usage["complaints_substantiated"]) == (2, 1)
    assert usage["article19_cases"] == 1


def test_another_agencys_admin_gets_403_citing_article_5(
    client: TestClient, db: Session, filing: dict[str, Any]
) -> None:
    stranger = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db)))
    for path in ("/api/reports/roster", "/api/reports/metrics"):
        r = client.get(path, params={"agency_id": str(filing["agency"].id)}, headers=stranger)
        assert_problem(r, 403, "not_your_agency", "第五条")
    officer, _ = make_officer(db, filing["agency"])
    assert_problem(_roster(client, login(client, officer)), 403, "role_not_allowed")


def test_justice_bureau_reads_any_agency_or_the_whole_city(
    client: TestClient, db: Session, filing: dict[str, Any]
) -> None:
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    r = _roster(client, justice, agency_id=str(filing["agency"].id))
    assert r.status_code == 200 and len(r.json()["auxiliaries"]) == 3
    assert_problem(_roster(client, justice, agency_id=str(uuid.uuid4())), 404, "not_found")

    other = make_agency(db, name="另一个区城管局")
    elsewhere = _hired(db, other, date(2022, 5, 1), name="周他处")
    city = _roster(client, justice).json()
    assert city["agency"] is None and city["usage"] is None and city["status_as_of"] == f"{YEAR}-12-31"
    by_badge = {a["badge_no"]: a for a in city["auxiliaries"]}
    assert {filing["staff"]["steady"].badge_no, elsewhere.badge_no} <= set(by_badge)
    assert filing["staff"]["hired_next_year"].badge_no not in by_badge
    assert by_badge[elsewhere.badge_no]["agency"]["code"] == other.code
    assert by_badge[filing["staff"]["steady"].badge_no]["agency"]["id"] == str(filing["agency"].id)

    r = _roster(client, justice, format="csv")
    assert 'filename="roster-all-' in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["机关名称", "机关代码", *HEADERS]
    assert [other.name, other.code, elsewhere.badge_no] in [row[:3] for row in rows[1:]]


def test_an_agency_admin_without_agency_id_gets_their_own_roster_never_the_citys(
    client: TestClient, db: Session, filing: dict[str, Any]
) -> None:
    _hired(db, make_agency(db), date(2022, 5, 1))
    body = _roster(client, login(client, filing["admin"])).json()
    assert body["agency"]["id"] == str(filing["agency"].id) and body["usage"] is not None
    assert {a["agency"]["id"] for a in body["auxiliaries"]} == {str(filing["agency"].id)}


@pytest.mark.parametrize(
    "params",
    [{"year": 1999}, {"year": 2101}, {"year": "last"}, {"format": "pdf"}, {"agency_id": "not-a-uuid"}],
)
def test_bad_report_parameters_answer_422(
    client: TestClient, db: Session, filing: dict[str, Any], params: dict[str, Any]
) -> None:
    r = client.get("/api/reports/roster", params=params, headers=login(client, filing["admin"]))
    assert_problem(r, 422, "validation_error")


# --- metrics -------------------------------------------------------------------------------------------


def test_metrics_count_the_rows_of_the_agency(client: TestClient, db: Session) -> None:
    agency = make_agency(db, quota=20)
    now = datetime.now(UTC)
    _, active = make_auxiliary(db, agency)
    make_auxiliary(db, agency)
    _, suspended = make_auxiliary(db, agency, status=AuxiliaryStatus.SUSPENDED)
    _, departed = make_auxiliary(db, agency, status=AuxiliaryStatus.DEPARTED)
    make_auxiliary(db, agency, status=AuxiliaryStatus.PENDING_TRAINING)
    _task(db, active, now - timedelta(days=1))
    _task(db, active, now - timedelta(days=29))
    _task(db, active, now - timedelta(days=2), status=TaskStatus.SUPERSEDED)
    _task(db, active, now - timedelta(days=40))
    _task(db, active, now - timedelta(days=3), category="scene_order", status=TaskStatus.COSIGNED)
    _task(db, active, now - timedelta(hours=50), category="inspection", status=TaskStatus.PENDING_COSIGN)
    _task(db, active, now - timedelta(hours=5), category="inspection", status=TaskStatus.PENDING_COSIGN)
    _complaint(db, agency, now - timedelta(days=20))  # open, past its 15 days
    _complaint(db, agency, now - timedelta(days=2), ComplaintStatus.INVESTIGATING)
    _complaint(db, agency, now - timedelta(days=30), ComplaintStatus.RESOLVED)
    _complaint(db, None, now - timedelta(days=16))
    user = make_user(db, role=Role.OFFICER, agency=agency)
    _case(db, agency, user, now - timedelta(days=3))
    _case(db, agency, user, now - timedelta(days=45))
    for aux, days in ((suspended, 1), (departed, 2), (departed, 60)):
        credential = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
        assert credential is not None
        db.add(DeadBadgeScan(credential_id=credential.id, auxiliary_id=aux.id, status="revoked", channel="api",
                             scanned_at=now - timedelta(days=days)))
    db.flush()

    admin = login(client, make_user(db, role=Role.AGENCY_ADMIN, agency=agency))
    body = client.get("/api/reports/metrics", headers=admin).json()
    assert body["unassigned_complaints_open"] is None
    [m] = body["agencies"]
    assert m["agency"]["id"] == str(agency.id)
    assert (m["headcount_quota"], m["headcount_used"]) == (20, 5)
    assert m["auxiliaries"] == {"pending_training": 1, "active": 2, "suspended": 1, "departed": 1, "dismissed": 0}
    assert m["tasks_last_30_days"] == {"independent": 2, "assisted": 3}
    assert m["pending_cosign"] == 2 and 49.9 <= m["oldest_pending_hours"] <= 50.1
    assert (m["complaints_open"], m["complaints_overdue"]) == (2, 1)
    assert (m["article19_cases"], m["article19_cases_last_30_days"]) == (2, 1)
    assert (m["dead_badge_scans"], m["dead_badge_scans_last_30_days"]) == (3, 2)


def test_justice_bureau_gets_every_agency_and_its_own_queue(client: TestClient, db: Session) -> None:
    first, second = make_agency(db), make_agency(db)
    _complaint(db, None, datetime.now(UTC) - timedelta(days=20))
    _complaint(db, second, datetime.now(UTC))
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    body = client.get("/api/reports/metrics", headers=justice).json()
    by_id = {m["agency"]["id"]: m for m in body["agencies"]}
    assert {str(first.id), str(second.id)} <= set(by_id)
    assert by_id[str(second.id)]["complaints_open"] == 1 and by_id[str(first.id)]["complaints_open"] == 0
    assert body["unassigned_complaints_open"] >= 1 and body["unassigned_complaints_overdue"] >= 1
    one = client.get("/api/reports/metrics", params={"agency_id": str(first.id)}, headers=justice).json()
    assert [m["agency"]["id"] for m in one["agencies"]] == [str(first.id)]
