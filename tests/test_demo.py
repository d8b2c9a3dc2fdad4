"""The demo shows the system working: every status, every duty, pending co-signatures, a refusal, a co-signature
from far away and work kept from before a suspension."""

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.demo import PASSWORD, load_demo
from api.domain.audit.check import verify_log
from api.domain.duties import DUTIES
from api.domain.models import Article19Case, Auxiliary, Cosignature, ShiftEvent, Task, User


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
    far = db.scalars(select(Cosignature).where(Cosignature.far_from_task.is_(True))).all()
    assert len(far) == 1 and far[0].distance_m is not None and far[0].distance_m > 500
    assert [t.auxiliary_id for t in tasks if t.recorded_before_suspension] == [
        a.id for a in db.scalars(select(Auxiliary).where(Auxiliary.status == "suspended"))]
    shifts = db.scalars(select(ShiftEvent)).all()
    assert {s.kind for s in shifts} == {"check_in", "check_out"}
    assert all(s.check_in_id is not None for s in shifts if s.kind == "check_out")
    assert verify_log(db).ok
