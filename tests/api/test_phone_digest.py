"""A complainant's phone is hashed into the log only as a keyed digest (第十条(一)、第十条(三)): no leaf can be
searched for the number, erasing it leaves the logged hash as it was, and a number changed behind the service's
back is still seen, by the full check and by the incremental one. Complaints filed before the digest existed
keep hashing the number itself."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.audit.log import leaf_key, personal_digest, row_hash
from api.domain.audit.tree import integrate_all
from api.domain.models import Complaint, ComplaintStatus, LogLeaf, LogPending, Role
from api.domain.privacy.phones import erase_closed_complainant_phones
from tests.factories import login, make_agency, make_auxiliary, make_user

PHONE = "13912345678"


def _file(client: TestClient, db: Session) -> Complaint:
    _, aux = make_auxiliary(db, make_agency(db))
    r = client.post("/api/public/complaints", json={
        "badge_no": aux.badge_no, "category": "rude_conduct", "description": "劝离摊贩时言语粗暴",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(), "contact_phone": PHONE})
    assert r.status_code == 201, r.text
    complaint = db.scalar(select(Complaint).where(Complaint.tracking_no == r.json()["tracking_no"]))
    assert complaint is not None
    return complaint


def _verify(client: TestClient, db: Session, *, full: bool) -> dict[str, object]:
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    body: dict[str, object] = client.get("/api/audit/verify", params={"full": str(full).lower()},
                                         headers=justice).json()
    return body


def test_the_logged_hash_of_a_complaint_does_not_depend_on_the_phone(client: TestClient, db: Session) -> None:
    complaint = _file(client, db)
    assert complaint.contact_phone_digest == personal_digest(leaf_key(db), "complaints.contact_phone", PHONE)
    assert complaint.contact_phone_digest != hashlib.sha256(PHONE.encode()).hexdigest()
    logged = row_hash(complaint)
    for guess in ("13900000000", PHONE, None):  # trying numbers against the leaf tells nothing
        complaint.contact_phone = guess
        assert row_hash(complaint) == logged
    complaint.contact_phone = PHONE
    leaves = [bytes(b) for b in db.scalars(select(LogPending.leaf))]
    leaves += [bytes(b) for b in db.scalars(select(LogLeaf.leaf))]
    assert leaves and not [leaf for leaf in leaves if PHONE.encode() in leaf]


def test_the_digest_needs_the_service_secret(db: Session) -> None:
    other = bytes(32)
    assert personal_digest(leaf_key(db), "complaints.contact_phone", PHONE) != personal_digest(
        other, "complaints.contact_phone", PHONE)


def test_erasing_a_keyed_phone_keeps_the_logged_hash_and_verifies(client: TestClient, db: Session) -> None:
    complaint = _file(client, db)
    complaint.status, complaint.decided_at = ComplaintStatus.RESOLVED, datetime.now(UTC) - timedelta(days=200)
    db.flush()
    audit.record(db, complaint, "complaint.resolved", actor_id=None)
    before = row_hash(complaint)
    integrate_all(db)
    assert erase_closed_complainant_phones(db, now=datetime.now(UTC), days=180) == 1
    db.expire_all()
    assert complaint.contact_phone is None and complaint.contact_phone_digest is not None
    assert row_hash(complaint) == before
    integrate_all(db)
    body = _verify(client, db, full=True)
    assert body["ok"] is True, body


@pytest.mark.parametrize("full", [True, False])
def test_a_keyed_phone_changed_behind_the_service_is_row_altered(client: TestClient, db: Session, full: bool) -> None:
    complaint = _file(client, db)
    integrate_all(db)
    if not full:
        assert _verify(client, db, full=True)["ok"] is True  # a passed check: the next one is incremental
    complaint.contact_phone = "13800000000"  # the digest no longer matches it, though the row hash is the same
    db.flush()
    body = _verify(client, db, full=full)
    assert body["ok"] is False, body
    assert isinstance(body["first_bad"], dict) and body["first_bad"]["reason"] == "row_altered", body


def test_a_complaint_filed_before_the_digest_hashes_the_phone_itself(db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    now = datetime.now(UTC)
    legacy = Complaint(tracking_no="TSLEGACY0001", access_code_hash="0" * 64, agency_id=aux.agency_id,
                       auxiliary_id=aux.id, badge_no=aux.badge_no, identified_by="badge_no", category="other",
                       description="旧投诉", occurred_at=now, status=ComplaintStatus.RECEIVED, due_at=now,
                       contact_phone=PHONE)
    db.add(legacy)
    db.flush()
    logged = row_hash(legacy)
    legacy.contact_phone = "13900000000"
    assert row_hash(legacy) != logged
