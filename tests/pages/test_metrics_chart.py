"""The usage figures drawn as a chart, checked as SVG and in a real browser."""

import xml.etree.ElementTree as ET
from pathlib import Path

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from api.demo import load_demo
from api.domain.models import Role
from tests.browser import require_chromium, screenshot
from tests.factories import login, make_agency, make_auxiliary, make_user
from tests.problems import assert_problem

SVG = "{http://www.w3.org/2000/svg}"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def test_metrics_chart_draws_each_agency_with_its_headcount(client: TestClient, db: Session) -> None:
    full = make_agency(db, name="满员区城管局<测试>", quota=1)
    make_auxiliary(db, full)
    roomy = make_agency(db, name="宽松区城管局", quota=4)
    admin = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    r = client.get("/api/reports/metrics.svg", headers=login(client, admin))
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(r.text)  # well-formed: the agency name's "<" is escaped
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    assert "满员区城管局<测试>" in texts and roomy.name in texts and "1/1" in texts and "0/4" in texts
    # A full quota is drawn in red.
    assert any(rect.get("fill") == "#c62828" for rect in root.iter(f"{SVG}rect"))


def test_agency_admin_sees_only_their_own_row(client: TestClient, db: Session) -> None:
    mine, other = make_agency(db, name="本机关"), make_agency(db, name="别的机关")
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=mine)
    text = client.get("/api/reports/metrics.svg", headers=login(client, admin)).text
    assert "本机关" in text and "别的机关" not in text
    r = client.get(f"/api/reports/metrics.svg?agency_id={other.id}", headers=login(client, admin))
    assert_problem(r, 403, "not_your_agency", "第五条")


def test_metrics_chart_renders_in_chromium(client: TestClient, db: Session, backend: str) -> None:
    require_chromium()
    load_demo(client.app.state.ctx, quiet=True)  # type: ignore[attr-defined]
    admin = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    token = login(client, admin)["Authorization"].split()[1]
    svg = client.get("/api/reports/metrics.svg", headers={"Authorization": f"Bearer {token}"}).text
    page = ARTIFACTS / f"metrics-{backend}.svg"
    ARTIFACTS.mkdir(exist_ok=True)
    page.write_text(svg, encoding="utf-8")
    shot = screenshot(page.as_uri(), ARTIFACTS / f"metrics-{backend}.png", width=1300, height=300)
    with Image.open(shot) as img:
        # Something besides white was painted: the bars.
        assert len(img.convert("RGB").getcolors(1 << 20) or []) > 10
