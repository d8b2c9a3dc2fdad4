"""Handling a complaint, without HTTP: the moves of ``TRANSITIONS`` and nothing else, a resolution with a
finding and an Article 28 action, an anonymous case notice, and only the handling agency deciding (第二十四条)."""

import itertools
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.complaints.catalogue import TRANSITIONS
from api.domain.complaints.handling import transition_complaint
from api.domain.models import Agency, Auxiliary, CaseNotice, Complaint, ComplaintEvent, ComplaintStatus, Role, User
from tests.factories import make_agency, make_auxiliary, make_complaint, make_user
from tests.problems import refused

ALLOWED = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
EVERY_MOVE = list(itertools.product(ComplaintStatus, ComplaintStatus))
DECISION: dict[ComplaintStatus, dict[str, Any]] = {
    ComplaintStatus.RESOLVED: {"finding": "属实", "action": "correction"},
    ComplaintStatus.DISMISSED: {"finding": "无法核实"},
}


def _case(db: Session, status: ComplaintStatus = ComplaintStatus.RECEIVED) -> tuple[User, Auxiliary, Complaint]:
    agency = make_agency(db)
    _, aux = make_auxiliary(db, agency, name="李协管")
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    return admin, aux, make_complaint(db, aux, status=status)


def _move(db: Session, user: User, complaint: Complaint, to: ComplaintStatus, **kw: Any) -> Complaint:
    values: dict[str, Any] = {"finding": None, "action": None, "notice": None} | kw
    return transition_complaint(db, user=user, complaint_id=complaint.id, to=to, **values)


def test_the_table_allows_received_to_investigating_or_dismissed_then_resolved_or_dismissed() -> None:
    expected = {
        (ComplaintStatus.RECEIVED, ComplaintStatus.INVESTIGATING),
        (ComplaintStatus.RECEIVED, ComplaintStatus.DISMISSED),
        (ComplaintStatus.INVESTIGATING, ComplaintStatus.RESOLVED),
        (ComplaintStatus.INVESTIGATING, ComplaintStatus.DISMISSED),
    }
    assert expected == ALLOWED


@pytest.mark.parametrize(("start", "to"), sorted(ALLOWED), ids=lambda s: str(s))
def test_an_allowed_move_changes_the_status_and_keeps_an_event(
    db: Session, start: ComplaintStatus, to: ComplaintStatus
) -> None:
    admin, _, complaint = _case(db, start)
    moved = _move(db, admin, complaint, to, **DECISION.get(to, {}))
    assert moved.status == to
    events = db.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)).all()
    assert [(e.from_status, e.to_status, e.actor_id) for e in events] == [(start, to, admin.id)]
    assert (moved.decided_at is not None) == (to in DECISION)


@pytest.mark.parametrize(("start", "to"), [m for m in EVERY_MOVE if m not in ALLOWED], ids=lambda s: str(s))
def test_a_move_outside_the_table_is_invalid_transition(
    db: Session, start: ComplaintStatus, to: ComplaintStatus
) -> None:
    admin, _, complaint = _case(db, start)
    with refused("invalid_transition", None, status=409) as caught:
        _move(db, admin, complaint, to, **DECISION.get(to, {}))
    assert caught.value.extra == {"from_status": start.value, "to": to.value}
    db.refresh(complaint)
    assert complaint.status == start
    assert db.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)).all() == []


@pytest.mark.parametrize("finding", [None, "", "   "])
def test_resolving_without_a_finding_is_finding_required(db: Session, finding: str | None) -> None:
    admin, _, complaint = _case(db, ComplaintStatus.INVESTIGATING)
    with refused("finding_required", None, status=422):
        _move(db, admin, complaint, ComplaintStatus.RESOLVED, finding=finding, action="correction")


@pytest.mark.parametrize("action", [None, "fine"])
def test_resolving_without_an_article_28_action_cites_article_28(db: Session, action: str | None) -> None:
    admin, _, complaint = _case(db, ComplaintStatus.INVESTIGATING)
    with refused("action_required", "第二十八条", status=422):
        _move(db, admin, complaint, ComplaintStatus.RESOLVED, finding="属实", action=action)


def test_an_action_goes_only_with_resolving(db: Session) -> None:
    admin, _, complaint = _case(db)
    with refused("action_only_when_resolved", None):
        _move(db, admin, complaint, ComplaintStatus.INVESTIGATING, action="criticism")


def test_a_notice_goes_only_with_resolving(db: Session) -> None:
    admin, _, complaint = _case(db)
    with refused("notice_only_when_resolved", None):
        _move(db, admin, complaint, ComplaintStatus.DISMISSED, finding="无法核实", notice="某辅助人员被投诉。")


def test_a_notice_naming_the_auxiliary_or_the_badge_is_not_anonymised(db: Session) -> None:
    admin, aux, complaint = _case(db, ComplaintStatus.INVESTIGATING)
    for leak, found in ((aux.name, "auxiliary_name"), (aux.badge_no.lower(), "badge_no")):
        with refused("notice_not_anonymised", None) as caught:
            _move(db, admin, complaint, ComplaintStatus.RESOLVED, finding="属实", action="criticism",
                  notice=f"经查，辅助人员（{leak}）推搡当事人，给予通报批评。")
        assert caught.value.extra["found"] == [found]
    db.refresh(complaint)
    assert complaint.status == ComplaintStatus.INVESTIGATING


def test_an_anonymous_notice_is_published_with_the_resolution(db: Session) -> None:
    admin, _, complaint = _case(db, ComplaintStatus.INVESTIGATING)
    _move(db, admin, complaint, ComplaintStatus.RESOLVED, finding="属实", action="criticism",
          notice="经查，某辅助人员推搡当事人，给予通报批评。")
    notice = db.scalar(select(CaseNotice).where(CaseNotice.complaint_id == complaint.id))
    assert notice is not None and (notice.action, notice.agency_id) == ("criticism", complaint.agency_id)


def test_another_agencys_admin_finds_no_such_complaint(db: Session) -> None:
    _, _, complaint = _case(db)
    stranger = make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))
    with refused("not_found", None, status=404):
        _move(db, stranger, complaint, ComplaintStatus.INVESTIGATING)


def test_the_justice_bureau_does_not_decide_an_agencys_complaint_citing_article_24(db: Session) -> None:
    _, _, complaint = _case(db)
    justice = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    with refused("not_handling_agency", "第二十四条", status=403):
        _move(db, justice, complaint, ComplaintStatus.INVESTIGATING)


def test_the_justice_bureau_decides_a_complaint_about_nobody_identified(db: Session) -> None:
    orphan = make_complaint(db, None)
    justice = make_user(db, role=Role.JUSTICE_ADMIN, agency=None)
    assert _move(db, justice, orphan, ComplaintStatus.DISMISSED, finding="无法核实").status == "dismissed"


@pytest.mark.parametrize("role", [Role.OFFICER, Role.AUXILIARY])
def test_officers_and_auxiliaries_do_not_handle_complaints(db: Session, role: Role) -> None:
    _, aux, complaint = _case(db)
    user = make_user(db, role=role, agency=db.get(Agency, aux.agency_id))
    with refused("role_not_allowed", None, status=403):
        _move(db, user, complaint, ComplaintStatus.INVESTIGATING)
