"""The demo shows the system working: every status, every duty, pending co-signatures, a refusal."""

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.demo import PASSWORD, load_demo
from api.domain.audit.check import verify_log
from api.domain.duties import DUTIES
from api.domain.models import Article19Case, Auxiliary, Task, User


def test_demo_covers_every_status_and_duty_and_verifies(client: TestClient, db: Session) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    demo = load_demo(ctx, quiet=True)
    assert demo is not None
    assert load_demo(ctx, quiet=True) is None  # a second load changes nothing
    statuses = {a.status for a in db.scalars(select(Auxiliary))}
    assert {"active", "pending_training", "suspended", "departed"} <= statuses
    tasks = db.scalars(select(Task)).all()
    assert {d.code for d in DUTIES} <= {t.category for t in tasks}
    assert {"recorded", "pending_cosign", "cosigned", "rejected", "superseded"} <= {t.status for t in tasks}
    case = db.scalar(select(Article19Case))
    assert case is not None
    asker = db.get(User, case.requested_by)
    assert asker is not None and asker.username == "officer.wang"
    for badge in demo.badges:
        if badge.verify_url:
            path = urlsplit(badge.verify_url).path.replace("/v/", "/api/public/verify/")
            assert client.get(path).json()["status"] == badge.status, badge
    r = client.post("/api/auth/token", data={"username": "officer.wang", "password": PASSWORD})
    pending = client.get("/api/tasks?status=pending_cosign",
                         headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()["items"]
    assert len(pending) >= 2
    street = client.post("/api/auth/token", data={"username": "admin.xinjiekou", "password": PASSWORD})
    alerts = client.get("/api/alerts", headers={"Authorization": f"Bearer {street.json()['access_token']}"})
    # The demo's own scans (by photo, with a position) beside those of the checks above (by API, without).
    [photographed] = [a for a in alerts.json()["items"] if a["channel"] == "image"]
    sun = demo.auxiliaries["aux.sun"]
    assert (photographed["badge_no"], photographed["status"], photographed["place"]) == (
        sun.badge_no, "suspended", {"lat": 32.05, "lon": 118.79})
    # The street commands the suspended auxiliary, not the departed one; their employer sees both.
    assert demo.auxiliaries["aux.zhou"].badge_no not in {a["badge_no"] for a in alerts.json()["items"]}
    district = client.post("/api/auth/token", data={"username": "admin.xuanwu", "password": PASSWORD})
    both = client.get("/api/alerts", headers={"Authorization": f"Bearer {district.json()['access_token']}"})
    assert {"suspended", "revoked"} <= {a["status"] for a in both.json()["items"]}
    assert verify_log(db).ok
