"""Complainants' phone numbers are erased a set time after the complaint is decided (第十条(一)), and the
transparency log still verifies and never held the number (第十条(三))."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import cli
from api.domain.audit import log as audit
from api.domain.audit.tree import integrate_all
from api.domain.models import Auxiliary, Complaint, ComplaintStatus, LogLeaf, LogPending, Role
from api.domain.privacy.phones import ERASED_ACTION, erase_closed_complainant_phones
from api.settings import get_settings
from tests.factories import login, make_agency, make_auxiliary, make_user

DAYS = 180


def _complaint(db: Session, aux: Auxiliary, phone: str, status: ComplaintStatus, decided_days_ago: float | None
               ) -> Complaint:
    now = datetime.now(UTC)
    complaint = Complaint(
        tracking_no=f"TS{phone[-8:]}{status.value[:4].upper()}", access_code_hash="0" * 64,
        agency_id=aux.agency_id, auxiliary_id=aux.id, badge_no=aux.badge_no, identified_by="badge_no",
        category="rude_conduct", description="在新街口推搡摊主", occurred_at=now - timedelta(days=400),
        status=status, due_at=now - timedelta(days=380), contact_phone=phone,
        decided_at=None if decided_days_ago is None else now - timedelta(days=decided_days_ago),
    )
    db.add(complaint)
    audit.record(db, complaint, "complaint.filed", actor_id=None)
    return complaint


def test_phones_of_complaints_decided_longer_ago_than_the_setting_are_erased_and_the_log_still_verifies(
    client: TestClient, db: Session
) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    old_resolved = _complaint(db, aux, "13900000001", ComplaintStatus.RESOLVED, DAYS + 20)
    old_dismissed = _complaint(db, aux, "13900000002", ComplaintStatus.DISMISSED, DAYS + 1)
    recent = _complaint(db, aux, "13900000003", ComplaintStatus.RESOLVED, DAYS - 1)
    still_open = _complaint(db, aux, "13900000004", ComplaintStatus.INVESTIGATING, None)
    integrate_all(db)  # the filings' leaves are in the tree before the erasure

    assert erase_closed_complainant_phones(db, now=datetime.now(UTC), days=DAYS) == 2
    assert erase_closed_complainant_phones(db, now=datetime.now(UTC), days=DAYS) == 0
    db.expire_all()
    assert [c.contact_phone for c in (old_resolved, old_dismissed, recent, still_open)] == [
        None, None, "13900000003", "13900000004"]
    erased = db.scalars(select(LogPending.entity_id).where(LogPending.action == ERASED_ACTION)).all()
    assert sorted(erased) == sorted([str(old_resolved.id), str(old_dismissed.id)])

    integrate_all(db)
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    r = client.get("/api/audit/verify", params={"full": "true"}, headers=justice)
    assert r.status_code == 200 and r.json()["ok"], r.text
    leaves = [bytes(leaf) for leaf in db.scalars(select(LogLeaf.leaf))]
    leaves += [bytes(leaf) for leaf in db.scalars(select(LogPending.leaf))]
    assert leaves and not [leaf for leaf in leaves if b"1390000000" in leaf]


def test_a_phone_cleared_behind_the_service_is_still_row_altered(client: TestClient, db: Session) -> None:
    _, aux = make_auxiliary(db, make_agency(db))
    complaint = _complaint(db, aux, "13900000005", ComplaintStatus.RESOLVED, DAYS + 20)
    integrate_all(db)
    complaint.contact_phone = None  # not by the erasure: no leaf says so
    db.flush()
    justice = login(client, make_user(db, role=Role.JUSTICE_ADMIN, agency=None))
    body = client.get("/api/audit/verify", params={"full": "true"}, headers=justice).json()
    assert (body["ok"], body["first_bad"]["reason"]) == (False, "row_altered"), body


def test_the_erase_phones_command_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AUXDUTY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("AUXDUTY_DATABASE_URL", f"sqlite:///{tmp_path / 'auxduty.db'}")
    get_settings.cache_clear()
    try:
        assert cli.main(["migrate"]) == 0
        assert cli.main(["privacy", "erase-phones", "--days", "30"]) == 0
    finally:
        get_settings.cache_clear()
    assert "phone numbers erased: 0 (complaints decided more than 30 days ago)" in capsys.readouterr().out
