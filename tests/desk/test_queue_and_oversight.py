"""The complaints queue (overdue first) and the transition form to resolution; Article 19 cases and
rectification orders by role; alerts; the log's state; the roster's files through the desk's session."""

import io
import uuid
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import (
    Article19Case,
    AuxiliaryStatus,
    ComplaintStatus,
    Credential,
    CredentialStatus,
    DeadBadgeScan,
    RectificationOrder,
    Sanction,
)
from tests.desk.conftest import Desk
from tests.desk.helpers import desk_login, post
from tests.factories import make_auxiliary, make_complaint, make_officer


def test_the_queue_puts_overdue_complaints_first_with_their_due_dates(
    client: TestClient, db: Session, desk: Desk
) -> None:
    _, aux = make_auxiliary(db, desk.agency)
    fresh = make_complaint(db, aux)
    late = make_complaint(db, aux, status=ComplaintStatus.INVESTIGATING)
    late.due_at = datetime.now(UTC) - timedelta(days=2)
    done = make_complaint(db, aux, status=ComplaintStatus.RESOLVED)
    db.flush()
    desk_login(client, desk.admin)
    html = client.get("/desk/complaints").text
    assert html.index(late.tracking_no) < html.index(fresh.tracking_no)
    assert done.tracking_no not in html and "已逾期" in html
    assert done.tracking_no in client.get("/desk/complaints?status=resolved").text


def test_a_complaint_is_handled_to_its_resolution(client: TestClient, db: Session, desk: Desk) -> None:
    _, aux = make_auxiliary(db, desk.agency, name="周协管")
    complaint = make_complaint(db, aux)
    db.flush()
    token = desk_login(client, desk.admin)
    path = f"/desk/complaints/{complaint.id}"
    assert post(client, f"{path}/transition", token, to="investigating").status_code == 303
    r = post(client, f"{path}/transition", token, to="resolved", finding="", action="criticism")
    assert r.status_code == 422 and "办结须写明调查结论" in r.text
    r = post(client, f"{path}/transition", token, to="resolved", finding="经核实情况属实", action="")
    assert r.status_code == 422 and "第二十八条：办结须按第二十八条给出处理方式" in r.text
    r = post(client, f"{path}/transition", token, to="resolved", finding="经核实情况属实", action="criticism",
             notice="周协管推搡摊主，给予通报批评")
    assert r.status_code == 422 and "通报须匿名" in r.text and "经核实情况属实" in r.text
    r = post(client, f"{path}/transition", token, to="resolved", finding="经核实情况属实", action="criticism")
    assert r.status_code == 303
    db.refresh(complaint)
    assert complaint.status == ComplaintStatus.RESOLVED and complaint.action == "criticism"
    assert db.scalar(select(Sanction.action).where(Sanction.complaint_id == complaint.id)) == "criticism"
    page = client.get(r.headers["location"]).text
    assert "已办结" in page and "通报批评" in page and 'name="to"' not in page


def _case(db: Session, desk: Desk) -> Article19Case:
    officer_user, _ = make_officer(db, desk.agency)
    _, aux = make_auxiliary(db, desk.agency)
    case = Article19Case(attempt_id=uuid.uuid4(), agency_id=desk.agency.id, auxiliary_id=aux.id,
                         requested_by=officer_user.id, reported_by=aux.user_id, flags=["fine_quota"],
                         request={"category": "patrol", "description": "每人每天罚款指标二十单"})
    db.add(case)
    db.flush()
    return case


def test_rectification_from_order_to_answer_to_close(client: TestClient, db: Session, desk: Desk) -> None:
    case = _case(db, desk)
    justice = TestClient(client.app)
    j_token = desk_login(justice, desk.justice)
    cases = justice.get("/desk/cases").text
    assert "每人每天罚款指标二十单" in cases and "第十九条（一）" in cases
    r = post(justice, f"/desk/cases/{case.id}/rectification", j_token, instructions="立即撤销指标",
             due_on="2001-01-01")
    assert r.status_code == 422 and "第二十九条：整改期限不能早于今天" in r.text and "立即撤销指标" in r.text
    due = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    r = post(justice, f"/desk/cases/{case.id}/rectification", j_token, instructions="立即撤销指标", due_on=due)
    assert r.status_code == 303
    order = db.scalar(select(RectificationOrder).where(RectificationOrder.case_id == case.id))
    assert order is not None
    a_token = desk_login(client, desk.admin)
    r = post(client, f"/desk/rectification/{order.id}/answer", a_token, measures="已撤销罚款指标并批评教育")
    assert r.status_code == 303
    r = post(justice, f"/desk/rectification/{order.id}/close", j_token, note="整改到位")
    assert r.status_code == 303
    db.refresh(order)
    assert order.status == "closed"
    # The agency never closes its own order: the domain refuses it as the API does.
    r = post(client, f"/desk/rectification/{order.id}/close", a_token)
    assert r.status_code == 403 and "只有司法行政部门可以办结" in r.text


def test_alerts_list_scans_of_dead_badges(client: TestClient, db: Session, desk: Desk) -> None:
    _, aux = make_auxiliary(db, desk.agency, status=AuxiliaryStatus.SUSPENDED, name="冒用者")
    credential = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert credential is not None
    db.add(DeadBadgeScan(credential_id=credential.id, auxiliary_id=aux.id, status=CredentialStatus.SUSPENDED,
                         channel="page", place_lat=32.04, place_lon=118.78))
    db.flush()
    desk_login(client, desk.admin)
    html = client.get("/desk/alerts").text
    assert aux.badge_no in html and "扫码打开核验页" in html and "32.04, 118.78" in html


def test_the_log_page_shows_the_newest_checkpoint_and_lets_the_bureau_check(
    client: TestClient, desk: Desk
) -> None:
    token = desk_login(client, desk.justice)
    html = client.get("/desk/log").text
    assert "最新检查点" in html and "立即校验" in html
    r = post(client, "/desk/log/verify", token)
    assert r.status_code == 200 and ("校验通过" in r.text or "校验未通过" in r.text)
    agency = TestClient(client.app)
    a_token = desk_login(agency, desk.admin)
    assert "立即校验" not in agency.get("/desk/log").text
    assert post(agency, "/desk/log/verify", a_token).status_code == 403


def test_the_roster_downloads_with_the_desk_session(client: TestClient, db: Session, desk: Desk) -> None:
    make_auxiliary(db, desk.agency, name="名册中人")
    db.flush()
    desk_login(client, desk.justice)
    page = client.get("/desk/roster").text
    link = page.split('href="/api/reports/roster?', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert "format=xlsx" in link
    r = client.get(f"/api/reports/roster?{link}")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None
    names = [row[3] for row in sheet.iter_rows(values_only=True)]
    assert "名册中人" in names
    csv = client.get("/api/reports/roster?" + link.replace("format=xlsx", "format=csv"))
    assert csv.status_code == 200 and "名册中人" in csv.content.decode("utf-8-sig")
