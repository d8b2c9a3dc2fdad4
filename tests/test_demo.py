"""The demo shows the system working: every status, every duty, pending co-signatures, a refusal, a co-signature
from far away, work kept from before a suspension, an overdue rectification order, and people's standing: an
assessment, a renewal, a refused one, a commendation, a dismissal on a complaint, and another agency refused the
dismissed man (第十四条)."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.demo import PASSWORD, Demo, demo_id_number, load_demo
from api.domain.audit.check import verify_log
from api.domain.duties import DUTIES
from api.domain.errors import RuleViolation
from api.domain.models import (
    Article19Case,
    Assessment,
    Auxiliary,
    Commendation,
    Contract,
    Cosignature,
    RectificationOrder,
    Sanction,
    ShiftEvent,
    Task,
    User,
)
from api.domain.oversight.rectification import beijing_today
from api.domain.staff.contracts import record_contract
from api.domain.staff.identity import check_id_number, mask_id_number
from tests.factories import hire_body
from tests.problems import assert_problem


def test_demo_covers_every_status_and_duty_and_verifies(client: TestClient, db: Session) -> None:
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    demo = load_demo(ctx, quiet=True)
    assert demo is not None
    assert load_demo(ctx, quiet=True) is None  # a second load changes nothing
    statuses = {a.status for a in db.scalars(select(Auxiliary))}
    assert {"active", "pending_training", "suspended", "departed", "dismissed"} <= statuses
    tasks = db.scalars(select(Task)).all()
    assert {d.code for d in DUTIES} <= {t.category for t in tasks}
    assert {"recorded", "pending_cosign", "cosigned", "rejected", "superseded"} <= {t.status for t in tasks}
    case = db.scalar(select(Article19Case))
    assert case is not None
    asker = db.get(User, case.requested_by)
    assert asker is not None and asker.username == "officer.wang"
    order = db.scalar(select(RectificationOrder).where(RectificationOrder.case_id == case.id))
    assert order is not None and order.agency_id == demo.xinjiekou.id and order.overdue(beijing_today())
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
    far = db.scalars(select(Cosignature).where(Cosignature.far_from_task.is_(True))).all()
    assert len(far) == 1 and far[0].distance_m is not None and far[0].distance_m > 500
    assert [t.auxiliary_id for t in tasks if t.recorded_before_suspension] == [
        a.id for a in db.scalars(select(Auxiliary).where(Auxiliary.status == "suspended"))]
    shifts = db.scalars(select(ShiftEvent)).all()
    assert {s.kind for s in shifts} == {"check_in", "check_out"}
    assert all(s.check_in_id is not None for s in shifts if s.kind == "check_out")
    r = client.post("/api/auth/token", data={"username": "admin.xinjiekou", "password": PASSWORD})
    overdue = client.get("/api/rectification-orders?overdue=true",
                         headers={"Authorization": f"Bearer {r.json()['access_token']}"}).json()["items"]
    assert [o["id"] for o in overdue] == [str(order.id)]
    _shows_standing(db, demo.auxiliaries, demo.district_admin)
    _shows_one_person_city_wide(client, db, demo)
    assert verify_log(db).ok


def _shows_one_person_city_wide(client: TestClient, db: Session, demo: Demo) -> None:
    """Every demo auxiliary has a valid number, shown masked; 钱勇, dismissed by the district, is refused by the
    street, in the demo and again through the API (第十四条)."""
    assert demo.refused_rehire is not None
    assert {"code": "dismissed_on_record", "article": "第十四条", "item": "（二）"} in demo.refused_rehire
    assert db.scalars(select(Auxiliary).where(Auxiliary.agency_id == demo.xinjiekou.id)).all() == []
    for username, aux in demo.auxiliaries.items():
        number = demo_id_number(username)
        assert check_id_number(number, birth_date=aux.birth_date) == number
        assert aux.id_number_masked == mask_id_number(number)
    r = client.post("/api/auth/token", data={"username": "admin.xinjiekou", "password": PASSWORD})
    again = client.post("/api/auxiliaries", headers={"Authorization": f"Bearer {r.json()['access_token']}"},
                        json={**hire_body(demo.xinjiekou, birth_date="1994-08-08"),
                              "id_number": demo_id_number("aux.qian")})
    body = assert_problem(again, 422, "ineligible", "第十四条")
    assert [x["code"] for x in body["reasons"]] == ["dismissed_on_record"]


def _shows_standing(db: Session, auxiliaries: dict[str, Auxiliary], admin: User) -> None:
    zhang, wu, qian = (auxiliaries[u] for u in ("aux.zhang", "aux.wu", "aux.qian"))
    renewal = db.scalar(select(Contract).where(Contract.auxiliary_id == zhang.id, Contract.sequence == 2))
    assert renewal is not None and renewal.assessment_id is not None
    assert db.scalar(select(Commendation).where(Commendation.auxiliary_id == zhang.id)) is not None
    grades = db.scalars(select(Assessment.grade).where(Assessment.auxiliary_id == wu.id)).all()
    assert grades == ["incompetent"]
    [term] = db.scalars(select(Contract).where(Contract.auxiliary_id == wu.id)).all()
    with pytest.raises(RuleViolation) as refused:
        record_contract(db, wu, actor=admin, starts_on=term.ends_on + timedelta(days=1),
                        ends_on=term.ends_on + timedelta(days=365))
    assert refused.value.code == "assessment_incompetent"
    [sanction] = db.scalars(select(Sanction).where(Sanction.auxiliary_id == qian.id)).all()
    assert sanction.action == "dismissal" and sanction.complaint_id is not None
    assert db.get(Auxiliary, qian.id).status == "dismissed"  # type: ignore[union-attr]
