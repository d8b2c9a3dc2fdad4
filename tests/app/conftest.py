"""A real ``auxduty serve`` on each database with a district, its admin, two officers and an auxiliary, and
the steps a phone takes in the app, for the browser tests of the phone app."""

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from PIL import Image
from playwright.sync_api import FilePayload, Page, expect

from tests.conftest import _drop_pg_database, _fresh_pg_database, _worker
from tests.factories import XINJIEKOU_ZONE, valid_id_number
from tests.live import PASSWORD, cli, login, make_district, running_service, service_env
from tests.pw import chromium, playwright_driver  # noqa: F401


class Site:
    def __init__(self, base: str, c: httpx2.Client, admin: dict[str, str], officers: dict[str, dict[str, Any]],
                 aux: dict[str, Any]) -> None:
        self.base, self.c, self.admin, self.officers, self.aux = base, c, admin, officers, aux

    def tasks(self) -> list[dict[str, Any]]:
        r = self.c.get("/api/tasks", headers=self.admin, params={"limit": 100})
        r.raise_for_status()
        return [t for t in r.json()["items"] if t["auxiliary_id"] == self.aux["id"]]


def hire_body(agency_id: str) -> dict[str, Any]:
    return {
        "name": "李协管", "username": "app.aux", "password": PASSWORD, "birth_date": "1994-04-01",
        "id_number": valid_id_number("1994-04-01"), "education": "high_school", "hire_method": "direct",
        "agency_id": agency_id, "hired_on": "2026-03-01", "categories": ["patrol", "publicity"],
        "zones": XINJIEKOU_ZONE,
        "record": {"criminal_record": False, "pending_criminal_case": False, "dismissed_for_violation": False,
                   "serious_dishonesty": False},
        "preferences": {"martyr_family": False, "veteran": False, "heroic_deed": False},
    }


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """A served database with a district, its admin, two officers and one auxiliary with a valid badge."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'app.db'}"
    else:
        url = _fresh_pg_database(f"auxduty_app_{_worker()}")
    env = service_env(url, tmp_path / "data", AUXDUTY_RATE_LIMIT_SCALE="5")
    cli(env, "create-admin", "--username", "app.justice", "--password", PASSWORD)
    try:
        with running_service(env, tmp_path / "serve.log") as base, httpx2.Client(base_url=base, timeout=30) as c:
            j = login(c, "app.justice")
            district = make_district(c, j, quota=5)
            c.post("/api/users", headers=j, json={"username": "app.admin", "password": PASSWORD,
                                                  "role": "agency_admin", "agency_id": district["id"],
                                                  "name": "管理员"}).raise_for_status()
            admin = login(c, "app.admin")
            officers = {}
            for username, name, cert in (("app.officer", "王执法", "32010001"), ("app.leaver", "陈执法", "32010002")):
                r = c.post("/api/users", headers=admin, json={
                    "username": username, "password": PASSWORD, "role": "officer", "agency_id": district["id"],
                    "name": name, "officer_cert_no": cert})
                r.raise_for_status()
                officers[username] = r.json()
            r = c.post("/api/auxiliaries", headers=admin, json=hire_body(district["id"]))
            r.raise_for_status()
            aux = r.json()
            c.post(f"/api/auxiliaries/{aux['id']}/trainings", headers=admin, json={
                "kind": "pre_job", "hours": 40, "completed_on": "2026-03-10", "passed": True}).raise_for_status()
            c.post(f"/api/auxiliaries/{aux['id']}/credential", headers=admin).raise_for_status()
            yield Site(base, c, admin, officers, aux)
    finally:
        if request.param == "postgresql":
            _drop_pg_database(url)


def photo_bytes(colour: tuple[int, int, int] = (40, 110, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def log_in(page: Page, username: str) -> None:
    page.goto("/app/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")


def record(page: Page, category: str, description: str, *, officer: str | None = None,
            photo: bytes | None = None) -> None:
    page.click("#new-task") if page.locator("#new-task").count() else page.goto("/app/#/new")
    page.select_option("#category", category)
    if officer:
        page.select_option("#officer", value=officer)
    page.fill("#description", description)
    if photo:
        scene: FilePayload = {"name": "scene.jpg", "mimeType": "image/jpeg", "buffer": photo}
        page.set_input_files("#photos", files=[scene])
        expect(page.locator("#photo-list code")).to_contain_text(hashlib.sha256(photo).hexdigest())
    page.click("#task-form button[type=submit]")
    expect(page.locator("#record-list")).to_contain_text(description)
    page.goto("/app/#/")
    expect(page.locator("#new-task")).to_be_visible()
