"""The desk in real headless Chromium at 1366×768: an agency admin logs in, hires (first someone ineligible: the
refusal sits at the field), trains, issues and prints the badge, and handles a complaint to its resolution; the
justice bureau opens the dashboard, sorts it and downloads the roster. Every page passes axe-core's WCAG 2.2 A/AA
rules with no serious or critical violation; screenshots are kept in tests/artifacts/.

The pages are opened with the desk's Content-Security-Policy enforced (it allows no script: axe-core is
evaluated through the DevTools protocol), and one more test checks that nothing on them is blocked."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import Auxiliary, ComplaintStatus
from tests.a11y import assert_accessible
from tests.desk.conftest import Desk, make_case, make_dead_badge_scan, make_order
from tests.factories import PASSWORD, make_auxiliary, make_complaint, valid_id_number
from tests.live import serve
from tests.pw import desk_context, keep_screenshot


@pytest.fixture
def live(client: TestClient) -> Iterator[str]:
    with serve(client.app) as base:  # type: ignore[arg-type]
        yield base


@pytest.fixture
def desk_page(chromium: Browser, live: str) -> Iterator[Page]:
    context = desk_context(chromium, live)
    try:
        yield context.new_page()
    finally:
        context.close()


SLUGS = {"辅助人员": "staff", "投诉办理": "complaints", "第十九条事件": "cases", "整改通知": "rectification",
         "失效证件告警": "alerts", "使用情况统计": "dashboard", "名册下载": "roster", "日志状态": "log"}


def _checked(page: Page, shot: str) -> None:
    """The page as it stands: accessible, and kept as a screenshot."""
    assert_accessible(page)
    keep_screenshot(page, shot)


def _log_in(page: Page, username: str) -> None:
    page.goto("/desk/")
    expect(page).to_have_url("/desk/login?next=/desk/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工作台")


def _hire_form(page: Page, *, born: str, education: str, username: str) -> None:
    page.get_by_label("姓名").fill("吴协管")
    page.get_by_label("居民身份证号码").fill(valid_id_number(born))
    page.get_by_label("出生日期").fill(born)
    page.get_by_label("学历").select_option(education)
    page.get_by_label("聘用日期").fill("2026-03-01")
    page.get_by_label("巡查责任区，及时发现、劝阻违法行为并上报（第七条（二））").check()
    page.get_by_label("登录用户名").fill(username)
    page.get_by_label("初始密码").fill(PASSWORD)
    page.get_by_role("button", name="聘用", exact=True).click()


def test_an_agency_admin_hires_trains_issues_prints_and_resolves_a_complaint(
    desk_page: Page, live: str, db: Session, desk: Desk, backend: str
) -> None:
    page = desk_page
    _, accused = make_auxiliary(db, desk.agency, name="郑协管")
    complaint = make_complaint(db, accused)
    make_order(db, desk)  # an order this agency owes an answer to: its form is on the page audited below
    make_dead_badge_scan(db, desk.agency)
    db.flush()
    _log_in(page, desk.admin.username)
    _checked(page, f"desk-home-{backend}")

    # Someone under 18: the refusal of 第十三条 is at the birth date, what was typed is kept.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="聘用", exact=True).click()
    _checked(page, f"desk-hire-{backend}")
    _hire_form(page, born="2010-05-01", education="high_school", username="aux.wu.desk")
    birth = page.get_by_label("出生日期")
    expect(birth).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-birth_date-error")).to_contain_text("第十三条（三）：聘用之日未年满十八周岁")
    expect(page.get_by_label("姓名")).to_have_value("吴协管")
    _checked(page, f"desk-hire-refused-{backend}")

    # Corrected: hired, pending training.
    _hire_form(page, born="1995-05-01", education="bachelor", username="aux.wu.desk")
    expect(page.get_by_role("status")).to_contain_text("已聘用")
    aux = db.scalar(select(Auxiliary).where(Auxiliary.name == "吴协管"))
    assert aux is not None
    _checked(page, f"desk-person-hired-{backend}")

    # Pre-job training, then the credential (第二十三条), then the card to print.
    page.get_by_label("学时").fill("40")
    page.get_by_label("完成日期").fill("2026-03-20")
    page.get_by_role("button", name="保存培训记录").click()
    expect(page.get_by_role("status")).to_contain_text("培训记录已保存")
    page.get_by_role("button", name="签发工作证件").click()
    expect(page.get_by_role("status")).to_contain_text("工作证件已签发")
    png = page.get_by_role("link", name="打印证件卡（PNG 图片）")
    pdf = page.get_by_role("link", name="打印证件卡（PDF，供制卡机）")
    expect(pdf).to_have_attribute("href", f"/api/auxiliaries/{aux.id}/badge.pdf")
    _checked(page, f"desk-person-issued-{backend}")
    card = page.request.get(live + str(png.get_attribute("href")))  # with the desk's session cookie
    assert card.status == 200 and card.body().startswith(b"\x89PNG")

    # The complaint, from the queue to its resolution.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="投诉办理").click()
    _checked(page, f"desk-complaints-{backend}")
    page.get_by_role("link", name=complaint.tracking_no).click()
    page.get_by_label("开始调查").check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("status")).to_contain_text("调查中")
    page.get_by_label("办结（查实并处理）").check()
    page.get_by_role("button", name="提交").click()  # no finding: refused at the field
    expect(page.locator("#f-finding-error")).to_contain_text("办结须写明调查结论")
    _checked(page, f"desk-complaint-refused-{backend}")
    page.get_by_label("调查结论").fill("经调取执法记录仪视频核实，情况属实。")
    page.get_by_label("处理方式（第二十八条）").select_option("criticism")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("status")).to_contain_text("已办结")
    _checked(page, f"desk-complaint-resolved-{backend}")
    db.refresh(complaint)
    assert complaint.status == ComplaintStatus.RESOLVED

    for link in ("辅助人员", "第十九条事件", "整改通知", "失效证件告警", "使用情况统计", "名册下载", "日志状态"):
        page.get_by_role("navigation", name="主导航").get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        if link == "整改通知":
            expect(page.get_by_label("已采取的整改措施")).to_be_visible()
        if link == "失效证件告警":
            expect(page.get_by_text("停用证件者")).to_be_visible()
        _checked(page, f"desk-agency-{SLUGS[link]}-{backend}")
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url("/desk/login")
    _checked(page, f"desk-login-{backend}")


def test_the_justice_bureau_opens_the_dashboard_and_downloads_the_roster(
    desk_page: Page, db: Session, desk: Desk, backend: str
) -> None:
    page = desk_page
    make_auxiliary(db, desk.agency, name="冯协管")
    make_auxiliary(db, desk.other_agency, name="陈协管")
    make_case(db, desk.other_agency)  # with its order form for the bureau
    make_order(db, desk, answered=True)  # with the bureau's close and reopen forms
    make_dead_badge_scan(db, desk.agency)
    db.flush()
    _log_in(page, desk.justice.username)
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="使用情况统计").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("使用情况统计（第三十条）")
    expect(page.locator("svg[role=img]")).to_have_count(4)
    _checked(page, f"desk-dashboard-{backend}")
    # Sorting is a link: by headcount quota, largest first.
    page.locator("#agencies-table").get_by_role("link", name="核定员额").click()
    expect(page.locator("#agencies-table th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    _checked(page, f"desk-dashboard-sorted-{backend}")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="名册下载").click()
    _checked(page, f"desk-roster-{backend}")
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 Excel 文件（.xlsx）").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert download.value.path().read_bytes().startswith(b"PK")

    for link in ("辅助人员", "投诉办理", "第十九条事件", "整改通知", "失效证件告警", "日志状态"):
        page.get_by_role("navigation", name="主导航").get_by_role("link", name=link, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        if link == "第十九条事件":
            page.get_by_text("责令整改（第二十九条）", exact=True).focus()  # the order form, opened from the keyboard
            page.keyboard.press("Enter")
            expect(page.get_by_label("整改要求")).to_be_visible()
        if link == "整改通知":
            expect(page.get_by_role("button", name="重新责令整改")).to_be_visible()
        _checked(page, f"desk-justice-{SLUGS[link]}-{backend}")
    page.get_by_role("button", name="立即校验").click()
    expect(page.get_by_text("校验通过").or_(page.get_by_text("校验未通过"))).to_be_visible()
    _checked(page, f"desk-log-checked-{backend}")


def test_with_its_policy_enforced_the_desk_renders_and_nothing_is_blocked(
    chromium: Browser, live: str, db: Session, desk: Desk
) -> None:
    make_auxiliary(db, desk.agency)
    db.flush()
    context = desk_context(chromium, live)
    blocked: list[str] = []
    try:
        page = context.new_page()
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        _log_in(page, desk.admin.username)
        for path in ("/desk/", "/desk/staff", "/desk/hire", "/desk/dashboard", "/desk/complaints"):
            page.goto(path)
            # The stylesheet, served by the app itself, is applied: the header is the desk's dark blue.
            header = page.locator("header.top")
            expect(header).to_have_css("background-color", "rgb(22, 52, 96)")
        expect(page.locator("svg[role=img]")).to_have_count(0)  # the complaints page draws nothing
        page.goto("/desk/dashboard")
        expect(page.locator("svg[role=img]").first).to_be_visible()
    finally:
        context.close()
    assert blocked == []
