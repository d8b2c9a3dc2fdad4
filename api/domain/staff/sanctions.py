"""Sanctions (第二十八条) of an auxiliary, by the agency that employs them.

A sanction is one of 第二十八条's outcomes (``complaints/catalogue.py``: correction, criticism, discipline,
dismissal, judicial referral). A ``dismissal`` ends the employment at once by the path of a departure
(``status.record_departure``): the credential is revoked, the login closed, the place freed, the items still to
be recovered listed, and the person is left ``dismissed``. A complaint resolved with an outcome makes its
sanction itself (``sanction_for_complaint``), once: the complaint names at most one sanction.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.base import beijing_date, utcnow
from api.domain.complaints.catalogue import ACTION_BY_CODE
from api.domain.errors import Conflict, DomainError, RuleViolation
from api.domain.models import Auxiliary, Complaint, ComplaintStatus, Sanction, User
from api.domain.staff.credentials import departed_refusal
from api.domain.staff.lookup import managed_auxiliary
from api.domain.staff.status import record_departure

DISMISSAL = "dismissal"


def _check_complaint(session: Session, aux: Auxiliary, complaint_id: uuid.UUID, action: str) -> None:
    """A sanction that names a complaint carries out that complaint's decision, and only once."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or complaint.auxiliary_id != aux.id:
        raise DomainError("complaint_not_about_auxiliary", "该投诉不是针对此辅助人员的",
                          "the complaint is not about this auxiliary")
    if complaint.status != ComplaintStatus.RESOLVED or complaint.action != action:
        raise RuleViolation("complaint_action_differs", "第二十八条", "处理方式须与投诉办结决定一致",
                            "the sanction must be the outcome the complaint was resolved with",
                            complaint_status=str(complaint.status), complaint_action=complaint.action)
    made = session.scalar(select(Sanction.id).where(Sanction.complaint_id == complaint_id))
    if made is not None:
        raise Conflict("sanction_exists", "该投诉的处理决定已经执行", "this complaint's sanction is already recorded",
                       sanction_id=str(made))


def record_sanction(
    session: Session,
    aux: Auxiliary,
    *,
    actor: User,
    action: str,
    reason: str,
    complaint_id: uuid.UUID | None = None,
    items_recovered: Sequence[str] = (),
) -> Sanction:
    """第二十八条: record a sanction; a dismissal also ends the employment at once. The caller holds the
    auxiliary's row lock and has checked that the actor's agency employs them."""
    if action not in ACTION_BY_CODE:
        raise DomainError("validation_error", "未知的处理方式", f"unknown action {action!r}",
                          errors=[{"field": "action", "message": "not an Article 28 outcome", "type": "value_error"}])
    if action == DISMISSAL and aux.has_left:
        raise departed_refusal()
    if complaint_id is not None:
        _check_complaint(session, aux, complaint_id, action)
    sanction = Sanction(auxiliary_id=aux.id, agency_id=aux.agency_id, recorded_by=actor.id, action=action,
                        reason=reason.strip(), complaint_id=complaint_id)
    session.add(sanction)
    audit.record(session, sanction, "sanction.recorded", actor_id=actor.id)
    if action == DISMISSAL:
        record_departure(session, aux, actor=actor, left_on=beijing_date(utcnow()), reason=reason.strip(),
                         items_recovered=items_recovered, dismissal=True)
    return sanction


def sanction_for_complaint(session: Session, complaint: Complaint, *, actor: User) -> Sanction | None:
    """The sanction a complaint just resolved with an outcome decides (第二十八条), made once: a complaint that
    already has its sanction gets it back. None when the complaint names nobody or no outcome."""
    if complaint.auxiliary_id is None or complaint.action is None:
        return None
    made = session.scalar(select(Sanction).where(Sanction.complaint_id == complaint.id))
    if made is not None:
        return made
    aux = managed_auxiliary(session, complaint.auxiliary_id, user=actor)
    return record_sanction(session, aux, actor=actor, action=complaint.action,
                           reason=f"投诉 {complaint.tracking_no}：{complaint.finding or ''}", complaint_id=complaint.id)
