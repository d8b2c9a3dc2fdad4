"""A Web Push message reaching the officer's phone app: the service worker shows the notification with the
count and whose record waits, and tells the open app to refresh its count. The push service itself is
stood in for by Chromium's DevTools (ServiceWorker.deliverPushMessage), which hands the message to the
service worker as a push service would; the server's side (VAPID, RFC 8291 encryption) is tested in
tests/api against a real HTTP receiver."""

import json
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.app.conftest import Site, log_in
from tests.factories import IN_ZONE
from tests.pw import keep_screenshot, phone_context, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live")]

NOTIFICATIONS = """() => navigator.serviceWorker.ready
  .then((r) => r.getNotifications())
  .then((list) => list.map((n) => ({title: n.title, body: n.body, tag: n.tag})))"""


def test_a_push_shows_a_notification_and_refreshes_the_count(site: Site, chromium: Browser) -> None:
    lat, lon = IN_ZONE
    officer = phone_context(chromium, site.base, lat=lat, lon=lon)
    officer.grant_permissions(["geolocation", "notifications"])
    page = officer.new_page()
    cdp = officer.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: registrations.extend(e["registrations"]))
    log_in(page, "app.officer")
    expect(page.locator("#queue")).to_contain_text("没有待会签的记录")
    wait_until(page, "navigator.serviceWorker.controller !== null")
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not [r for r in registrations if r["scopeURL"].endswith("/app/")] and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    (registration,) = {r["registrationId"]: r for r in registrations if r["scopeURL"].endswith("/app/")}.values()

    # A record now names the officer (the server would push this payload to the officer's subscriptions).
    aux = site.c.post("/api/auth/token", data={"username": "app.aux", "password": "live-pass-2026"}).json()
    headers = {"Authorization": f"Bearer {aux['access_token']}"}
    task = site.c.post("/api/tasks", headers=headers, json={
        "id": "3f0c2d7e-5b1a-4c8e-9d2f-6a7b8c9d0e1f", "category": "inspection", "description": "协助现场核查",
        "started_at": "2026-12-06T09:00:00+08:00", "lat": lat, "lon": lon,
        "officer_id": site.officers["app.officer"]["officer_id"]})
    assert task.status_code == 201, task.text
    payload = {"type": "cosign_pending", "task_id": task.json()["id"], "category": "inspection",
               "category_name": "协助开展行政检查、现场核查、调查取证", "auxiliary_name": "李协管", "pending": 1,
               "url": "/app/#/queue"}
    cdp.send("ServiceWorker.deliverPushMessage", {
        "origin": site.base, "registrationId": registration["registrationId"], "data": json.dumps(payload)})

    shown: list[dict[str, str]] = []
    deadline = time.monotonic() + 10
    while not shown and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        shown = page.evaluate(NOTIFICATIONS)
    assert shown == [{"title": "1 条记录待您会签", "body": "李协管 · 协助开展行政检查、现场核查、调查取证",
                      "tag": "cosign"}]
    # The open app heard of it from its service worker and counted again, without a reload.
    expect(page.locator("#count")).to_have_text("1 待会签")
    keep_screenshot(page, "app-officer-pushed")
    officer.close()
