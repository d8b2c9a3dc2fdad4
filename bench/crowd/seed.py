"""What the crowd finds when it arrives, made through the API as an agency would make it: a bureau and a
district, the district's admin and officers, and several hundred auxiliaries, each trained and holding a badge."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx2

PASSWORD = "crowd-pass-2026"
JUSTICE = "crowd.justice"
WRITERS = 24  # auxiliaries on duty whose phones write tasks during the crowd; never suspended
TOGGLED = 40  # badges an agency suspends and reinstates while the crowd checks them
FORGETFUL = 8  # accounts whose owners mistype their password
XINJIEKOU = {"type": "MultiPolygon", "coordinates": [[[[118.772, 32.034], [118.790, 32.034], [118.790, 32.048],
                                                        [118.772, 32.048], [118.772, 32.034]]]]}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "军", "杰", "涛", "明", "超", "秀英", "晓东", "海燕"]


@dataclass
class Badge:
    aux_id: str
    badge_no: str
    token: str
    username: str
    suspended: bool = False


@dataclass
class World:
    admin: dict[str, str]
    officer_id: str
    badges: list[Badge]
    writers: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (auxiliary id, auth header)

    @property
    def toggled(self) -> list[Badge]:
        return self.badges[WRITERS:WRITERS + TOGGLED]

    @property
    def forgetful(self) -> list[str]:
        return [b.username for b in self.badges[WRITERS + TOGGLED:WRITERS + TOGGLED + FORGETFUL]]

    @property
    def remembering(self) -> list[str]:
        return [b.username for b in self.badges[WRITERS + TOGGLED + FORGETFUL:]]


def _ok(r: httpx2.Response) -> dict[str, Any]:
    if r.status_code >= 300:
        raise SystemExit(f"seeding: {r.request.method} {r.request.url.path} answered {r.status_code}: {r.text[:300]}")
    body: dict[str, Any] = r.json()
    return body


async def _login(c: httpx2.AsyncClient, username: str) -> dict[str, str]:
    token = _ok(await c.post("/api/auth/token", data={"username": username, "password": PASSWORD}))["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _hire_body(agency_id: str, n: int, tag: str) -> dict[str, Any]:
    return {
        "name": SURNAMES[n % len(SURNAMES)] + GIVEN[(n // len(SURNAMES)) % len(GIVEN)],
        "username": f"crowd{tag}.aux{n}", "password": PASSWORD, "birth_date": f"{1988 + n % 12}-0{1 + n % 9}-1{n % 9}",
        "education": ["high_school", "vocational", "college", "bachelor"][n % 4],
        "hire_method": "direct" if n % 3 else "dispatch", "dispatch_company": None if n % 3 else "南京人力资源服务公司",
        "agency_id": agency_id, "hired_on": "2025-03-01", "categories": ["patrol", "publicity"], "zones": XINJIEKOU,
        "record": {"criminal_record": False, "pending_criminal_case": False, "dismissed_for_violation": False,
                   "serious_dishonesty": False},
        "preferences": {"martyr_family": False, "veteran": n % 7 == 0, "heroic_deed": False},
    }


async def _badge(c: httpx2.AsyncClient, admin: dict[str, str], agency_id: str, n: int, tag: str) -> Badge:
    body = _hire_body(agency_id, n, tag)
    aux = _ok(await c.post("/api/auxiliaries", headers=admin, json=body))
    _ok(await c.post(f"/api/auxiliaries/{aux['id']}/trainings", headers=admin, json={
        "kind": "pre_job", "hours": 40, "completed_on": "2025-03-20", "passed": True}))
    token = _ok(await c.post(f"/api/auxiliaries/{aux['id']}/credential", headers=admin))["token"]
    return Badge(aux["id"], aux["badge_no"], token, body["username"])


async def _seed(base: str, badges: int, tag: str, parallel: int) -> World:
    async with httpx2.AsyncClient(base_url=base, timeout=120) as c:
        justice = await _login(c, JUSTICE)
        city = _ok(await c.post("/api/agencies", headers=justice, json={
            "name": "南京市城市管理局", "code": "NJ-CG", "level": "municipal", "headcount_quota": 0}))
        district = _ok(await c.post("/api/agencies", headers=justice, json={
            "name": "玄武区城市管理局", "code": "XW-CG", "level": "district", "parent_id": city["id"],
            "headcount_quota": badges + 10}))
        _ok(await c.post("/api/users", headers=justice, json={
            "username": f"crowd{tag}.admin", "password": PASSWORD, "role": "agency_admin",
            "agency_id": district["id"], "name": "玄武区城管局 人事科"}))
        admin = await _login(c, f"crowd{tag}.admin")
        officer = _ok(await c.post("/api/users", headers=admin, json={
            "username": f"crowd{tag}.officer", "password": PASSWORD, "role": "officer", "agency_id": district["id"],
            "name": "王警官", "officer_cert_no": "JS3201000123"}))
        gate = asyncio.Semaphore(parallel)

        async def one(n: int) -> Badge:
            async with gate:
                return await _badge(c, admin, district["id"], n, tag)

        made = await asyncio.gather(*(one(n) for n in range(badges)))
        world = World(admin=admin, officer_id=officer["officer_id"], badges=list(made))
        for b in world.badges[:WRITERS]:
            world.writers.append((b.aux_id, await _login(c, b.username)))
        return world


def seed(base: str, *, badges: int, tag: str, parallel: int = 8) -> World:
    if badges < WRITERS + TOGGLED + FORGETFUL + 20:
        raise SystemExit(f"--badges must be at least {WRITERS + TOGGLED + FORGETFUL + 20}")
    return asyncio.run(_seed(base, badges, tag, parallel))
