"""The badge page's complaint button leads to a form that works without script or account."""

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import Complaint, Credential
from tests.factories import make_agency, make_auxiliary


def test_form_files_a_complaint_against_the_scanned_badge(client: TestClient, db: Session) -> None:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency)
    cred = db.scalar(select(Credential).where(Credential.auxiliary_id == aux.id))
    assert cred is not None
    token, _ = client.app.state.ctx.keyring.sign_badge(credential_id=cred.id, version=1)  # type: ignore[attr-defined]
    assert f'action="/v/{token}/complaint"' in client.get(f"/v/{token}/complaint").text
    r = client.post(f"/v/{token}/complaint", data={"category": "rude_conduct", "description": "当街辱骂摊主",
                                                   "occurred_at": "2026-11-20T09:30", "location": "中山路"})
    # Post-redirect-get: the filing answers 303 to the receipt, which shows the codes.
    assert [h.status_code for h in r.history] == [303] and r.status_code == 200 and "投诉已受理" in r.text
    tracking_no, code = re.findall(r'<output class="code mono">([^<]+)</output>', r.text)
    stored = db.scalar(select(Complaint).where(Complaint.tracking_no == tracking_no))
    assert stored is not None and stored.agency_id == agency.id and stored.category == "rude_conduct"
    assert stored.occurred_at.isoformat() == "2026-11-20T01:30:00+00:00"  # Beijing 09:30
    status = client.get(f"/api/public/complaints/{tracking_no}", headers={"X-Access-Code": code})
    assert status.status_code == 200 and status.json()["status"] == "received"


def test_incomplete_form_comes_back_with_what_to_fix_and_stores_nothing(client: TestClient, db: Session) -> None:
    before = len(db.scalars(select(Complaint)).all())
    r = client.post("/v/sometoken/complaint", data={"category": "", "description": "x"})
    assert r.status_code == 422 and "请选择问题类型" in r.text
    r = client.post("/v/sometoken/complaint", data={"category": "other", "description": "  "})
    assert r.status_code == 422 and "请填写事情经过" in r.text
    assert len(db.scalars(select(Complaint)).all()) == before
