"""The phone app when the session ends under it, and on the narrowest and widest phones it must serve, in
real headless Chromium against a real ``auxduty serve``."""

import pytest
from playwright.sync_api import Browser, Page, Route, ViewportSize, expect

from tests.a11y import assert_accessible
from tests.app.conftest import Site, log_in, record
from tests.factories import IN_ZONE
from tests.live import PASSWORD
from tests.pw import keep_screenshot, phone_context, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live")]

STORED_REFRESH = """() => new Promise((resolve, reject) => {
  const r = indexedDB.open("auxduty");
  r.onsuccess = () => {
    const get = r.result.transaction("kv").objectStore("kv").get("session");
    get.onsuccess = () => resolve(get.result.refresh);
    get.onerror = () => reject(get.error);
  };
})"""


def test_a_revoked_session_asks_for_the_password_and_loses_nothing(site: Site, chromium: Browser) -> None:
    lat, lon = IN_ZONE
    phone = phone_context(chromium, site.base, lat=lat, lon=lon)
    page = phone.new_page()
    log_in(page, "app.aux")
    expect(page.locator(".who")).to_contain_text(site.aux["badge_no"])
    phone.set_offline(True)
    record(page, "patrol", "夜间巡查，发现井盖缺失已上报")

    # Someone replays the phone's refresh token (a stolen copy): the server ends the whole session family.
    token = page.evaluate(STORED_REFRESH)
    assert site.c.post("/api/auth/refresh", json={"refresh_token": token}).status_code == 200
    reused = site.c.post("/api/auth/refresh", json={"refresh_token": token})
    assert reused.status_code == 401 and reused.json()["code"] == "refresh_token_reused"

    phone.set_offline(False)
    expect(page.locator("#login-error")).to_contain_text("登录已失效", timeout=30_000)
    keep_screenshot(page, "app-session-ended")
    assert site.tasks() == []
    page.fill("#username", "app.aux")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.goto("/app/#/records")
    expect(page.locator("#sync-status")).to_contain_text("全部已发送", timeout=30_000)
    expect(page.locator("#record-list li[data-state=saved]")).to_contain_text("夜间巡查")
    assert [t["description"] for t in site.tasks()] == ["夜间巡查，发现井盖缺失已上报"]
    phone.close()


def test_a_screen_that_finishes_late_does_not_draw_over_the_one_asked_for_since(site: Site, chromium: Browser) -> None:
    lat, lon = IN_ZONE
    phone = phone_context(chromium, site.base, lat=lat, lon=lon)
    page = phone.new_page()
    log_in(page, "app.aux")
    expect(page.locator("#check-in")).to_be_visible()
    # The records screen waits on the server's list; hold that answer until the user has gone back home.
    held: list[Route] = []
    page.route("**/api/tasks?limit=100", lambda route: held.append(route))
    page.click("#records")
    wait_until(page, "location.hash === '#/records'")
    for _ in range(300):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the records screen never asked for the server's list"
    page.goto("/app/#/")
    expect(page.locator("#check-in")).to_be_visible()
    page.evaluate("""() => { window.drawnOver = false;
      new MutationObserver(() => { if (document.getElementById("record-list") || !document.getElementById("check-in"))
        window.drawnOver = true; }).observe(document.getElementById("view"), { childList: true, subtree: true }); }""")
    with page.expect_response("**/api/tasks?limit=100"):
        held[0].continue_()
    # The late screen has its answer; give it the turns of the event loop it needs to finish, then look.
    page.evaluate("() => new Promise((r) => setTimeout(r, 300))")
    assert page.evaluate("window.drawnOver") is False
    expect(page.locator("#check-in")).to_be_visible()
    phone.close()


def _fits(page: Page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # Measured in one go: the screen may re-render when a sync finishes. A checkbox's target is its label.
    heights = page.evaluate("""() => [...document.querySelectorAll("button, a.button, input, select, label.check")]
        .filter((e) => e.offsetParent !== null && e.type !== "checkbox")
        .map((e) => [e.outerHTML.slice(0, 120), e.getBoundingClientRect().height])""")
    assert heights
    small = [(html, h) for html, h in heights if h < 44]
    assert not small, small


@pytest.mark.parametrize("viewport", [{"width": 320, "height": 640}, {"width": 430, "height": 932}],
                         ids=["320px", "430px"])
def test_every_screen_fits_the_phone_with_large_targets_and_no_serious_accessibility_fault(
    site: Site, chromium: Browser, viewport: ViewportSize
) -> None:
    lat, lon = IN_ZONE
    phone = phone_context(chromium, site.base, lat=lat, lon=lon)
    page = phone.new_page()
    page.set_viewport_size(viewport)
    width = viewport["width"]
    page.goto("/app/")
    expect(page.locator("#login")).to_be_visible()
    _fits(page, width)
    assert_accessible(page)
    log_in(page, "app.aux")
    expect(page.locator(".who")).to_contain_text(site.aux["badge_no"])
    for hash_, ready in (("#/", "#new-task"), ("#/new", "#task-form"), ("#/report", "#task-form"),
                         ("#/records", "#sync-status")):
        page.goto(f"/app/{hash_}")
        expect(page.locator(ready)).to_be_visible()
        if hash_ == "#/new":
            page.select_option("#category", "inspection")  # shows the officer field too
        _fits(page, width)
        assert_accessible(page)
    keep_screenshot(page, f"app-records-{width}px")
    officer = phone_context(chromium, site.base, lat=lat, lon=lon)
    op = officer.new_page()
    op.set_viewport_size(viewport)
    log_in(op, "app.officer")
    expect(op.locator("#queue")).to_be_visible()
    _fits(op, width)
    assert_accessible(op)
    officer.close()
    phone.close()


def test_work_that_must_not_be_done_is_reported_and_kept_as_an_article_19_case(site: Site, chromium: Browser) -> None:
    lat, lon = IN_ZONE
    phone = phone_context(chromium, site.base, lat=lat, lon=lon)
    page = phone.new_page()
    log_in(page, "app.aux")
    page.click("#report")
    page.select_option("#category", "order_correction")
    page.fill("#description", "科长要求本人独自对商户开具罚单，并下达每月罚款指标")
    page.fill("#reference", "街道执法中队张科长口头指派")
    page.click("#task-form button[type=submit]")
    expect(page.locator("#form-error")).to_contain_text("请勾选")  # a report names what was wrong
    page.check("input[name=flag][value=fine_quota]")
    page.check("input[name=flag][value=in_officer_name]")
    page.click("#task-form button[type=submit]")
    reported = page.locator("#record-list li[data-state=refused]")
    expect(reported).to_contain_text("已上报：第十九条", timeout=30_000)
    keep_screenshot(page, "app-aux-reported")
    cases = site.c.get("/api/article19-cases", headers=site.admin).json()["items"]
    assert len(cases) == 1
    assert {f["flag"] for f in cases[0]["flags"]} == {"fine_quota", "in_officer_name"}
    assert "张科长" in cases[0]["request"]["assignment_ref"]
    assert cases[0]["auxiliary"]["id"] == site.aux["id"]
    assert site.tasks() == []
    phone.close()
