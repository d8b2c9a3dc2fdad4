"""The phone app at /app/ in real headless Chromium (Debian's, driven by Playwright), against a real
``auxduty serve`` on each database: installable, works offline, loses nothing, and an officer co-signs from
their own phone. Screenshots at 390 x 844 go to tests/artifacts/.
"""

import hashlib
import io

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.app.conftest import Site, log_in, photo_bytes, record
from tests.factories import IN_ZONE
from tests.pw import keep_screenshot, phone_context, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live")]


def _states(page: Page) -> list[str | None]:
    return [li.get_attribute("data-state") for li in page.locator("#record-list > li[data-state]").all()]


def test_offline_day_is_sent_exactly_once_and_an_officer_cosigns(site: Site, chromium: Browser) -> None:
    lat, lon = IN_ZONE
    phone: BrowserContext = phone_context(chromium, site.base, lat=lat, lon=lon)
    page = phone.new_page()

    # Installable: a manifest with a Chinese name, standalone display and 192/512 PNG icons; a service worker.
    page.goto("/app/")
    manifest_url = page.get_attribute("link[rel=manifest]", "href")
    assert manifest_url == "/app/manifest.webmanifest"
    manifest = site.c.get(manifest_url).json()
    assert manifest["name"] == "执法辅助人员执勤" and manifest["display"] == "standalone"
    assert manifest["start_url"] == "/app/" and manifest["scope"] == "/app/"
    for entry in manifest["icons"]:
        r = site.c.get(entry["src"])
        assert r.headers["content-type"] == "image/png"
        with Image.open(io.BytesIO(r.content)) as img:
            assert f"{img.width}x{img.height}" == entry["sizes"]
    assert {e["sizes"] for e in manifest["icons"]} >= {"192x192", "512x512"}
    assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active !== null && r.scope)").endswith("/app/")
    wait_until(page, "navigator.serviceWorker.controller !== null")

    log_in(page, "app.aux")
    expect(page.locator("#check-in")).to_be_visible()
    expect(page.locator(".who")).to_contain_text(site.aux["badge_no"])
    keep_screenshot(page, "app-aux-home")

    # A day with no network: check in, three tasks (one with a photo, one naming an officer), a reload.
    phone.set_offline(True)
    expect(page.locator("#net")).to_have_text("离线")
    page.click("#check-in")
    expect(page.locator("#check-out")).to_be_visible()
    photo = photo_bytes()
    record(page, "patrol", "新街口巡查，劝阻占道经营一处", photo=photo)
    record(page, "publicity", "发放垃圾分类宣传单 200 份")
    sign = photo_bytes((150, 60, 40))
    record(page, "inspection", "协助检查沿街店铺招牌", officer=site.officers["app.officer"]["officer_id"], photo=sign)
    page.reload()
    page.goto("/app/#/records")
    expect(page.locator("#record-list > li[data-state]")).to_have_count(4)
    assert set(_states(page)) == {"pending"}
    expect(page.locator("#sync-status")).to_contain_text("6 项等待发送")  # 4 records and 2 photos
    keep_screenshot(page, "app-aux-offline-records")
    assert site.tasks() == []

    # Back online: everything is sent, once, and the photo the server keeps is the one taken.
    phone.set_offline(False)
    expect(page.locator("#sync-status")).to_contain_text("全部已发送", timeout=30_000)
    page.goto("/app/#/records")
    # The list is drawn again once the "online" handler's sync has finished; wait for that drawing, not the status.
    expect(page.locator("#record-list > li[data-state=saved]")).to_have_count(4)
    assert set(_states(page)) == {"saved"}
    expect(page.locator("#record-list .photo.uploaded")).to_have_count(2)
    keep_screenshot(page, "app-aux-synced")
    tasks = site.tasks()
    assert sorted(t["category"] for t in tasks) == ["inspection", "patrol", "publicity"]
    local_ids = {li.get_attribute("data-id") for li in page.locator("#record-list > li[data-state]").all()}
    assert {t["id"] for t in tasks} <= local_ids
    (patrol,) = [t for t in tasks if t["category"] == "patrol"]
    assert [e["sha256"] for e in patrol["evidence"]] == [hashlib.sha256(photo).hexdigest()]
    stored = site.c.get(f"/api/tasks/{patrol['id']}/evidence/{patrol['evidence'][0]['id']}", headers=site.admin)
    assert hashlib.sha256(stored.content).hexdigest() == hashlib.sha256(photo).hexdigest()
    shifts = site.c.get("/api/shifts", headers=site.admin).json()["items"]
    assert len(shifts) == 1 and shifts[0]["check_out"] is None

    # A second sync, as on the next app start, sends nothing new: still three tasks.
    page.reload()
    page.goto("/app/#/records")
    expect(page.locator("#sync-status")).to_contain_text("全部已发送")
    assert len(site.tasks()) == 3

    # A correction is a new version; the first stays, superseded (第十条(三)).
    (publicity,) = [t for t in tasks if t["category"] == "publicity"]
    page.click(f"#record-list li[data-id='{publicity['id']}'] a.button")
    page.fill("#description", "发放垃圾分类宣传单 300 份")
    page.click("#task-form button[type=submit]")
    expect(page.locator("#sync-status")).to_contain_text("全部已发送", timeout=30_000)
    versions = {t["description"]: t for t in site.tasks() if t["category"] == "publicity"}
    assert versions["发放垃圾分类宣传单 200 份"]["status"] == "superseded"
    assert versions["发放垃圾分类宣传单 300 份"]["corrects_id"] == publicity["id"]
    assert versions["发放垃圾分类宣传单 300 份"]["version"] == 2

    # The officer the phone remembers leaves while it is offline: the record naming them is refused (第八条),
    # and the phone keeps it, with the article and the reason, across a reload.
    leaver = site.officers["app.leaver"]
    site.c.post(f"/api/users/{leaver['id']}/deactivate", headers=site.admin).raise_for_status()
    phone.set_offline(True)
    page.goto("/app/#/")
    record(page, "scene_order", "协助维持拆违现场秩序", officer=leaver["officer_id"])
    phone.set_offline(False)
    refused = page.locator("#record-list li[data-state=refused]")
    page.goto("/app/#/records")
    expect(refused).to_have_count(1, timeout=30_000)
    expect(refused).to_contain_text("第八条")
    page.reload()
    expect(page.locator("#record-list li[data-state=refused]")).to_contain_text("第八条")
    keep_screenshot(page, "app-aux-refused")
    assert len(site.tasks()) == 4
    # Recorded again naming the officer who directs the street now: a new record, the refused one kept.
    page.click("#record-list li[data-state=refused] a.button")
    expect(page.locator("#description")).to_have_value("协助维持拆违现场秩序")
    page.select_option("#officer", value=site.officers["app.officer"]["officer_id"])
    page.click("#task-form button[type=submit]")
    expect(page.locator("#sync-status")).to_contain_text("全部已发送", timeout=30_000)
    expect(page.locator("#record-list li[data-state=refused]")).to_have_count(1)
    assert sorted(t["category"] for t in site.tasks() if t["status"] == "pending_cosign") == [
        "inspection", "scene_order"]

    # The officer, on their own phone about 300 m away, sees the assisted record and approves it.
    officer = phone_context(chromium, site.base, lat=lat + 0.0027, lon=lon)
    op = officer.new_page()
    log_in(op, "app.officer")
    expect(op.locator("#queue li[data-id]")).to_have_count(2)
    # Newest first: the scene_order record was made after the inspection.
    expect(op.locator("#queue li[data-id]").first).to_contain_text("协助维持拆违现场秩序")
    card = op.locator("#queue li[data-id]", has_text="协助检查沿街店铺招牌")
    expect(card).to_contain_text("李协管")
    expect(card.locator(".distance")).to_contain_text("米")
    # The photo the auxiliary took, fetched with the officer's token.
    wait_until(op, "[...document.querySelectorAll('#queue img.thumb')].some((i) => i.naturalWidth === 640)")
    expect(op.locator("#count")).to_have_text("2 待会签")
    keep_screenshot(op, "app-officer-queue")
    card.locator("button.approve").click()
    expect(op.locator("#queue")).to_contain_text("已会签同意")
    expect(op.locator("#count")).to_have_text("1 待会签")
    (inspection,) = [t for t in site.tasks() if t["category"] == "inspection"]
    assert inspection["status"] == "cosigned"
    assert inspection["cosignature"]["officer_id"] == site.officers["app.officer"]["officer_id"]
    assert 250 < inspection["cosignature"]["distance_m"] < 350
    keep_screenshot(op, "app-officer-approved")
    officer.close()
    phone.close()
