"""Commendations and rewards (第二十六条): 工作表现突出、成绩显著，或者有突出事迹的，行政执法机关应当按照有关
规定给予表彰和奖励. Recorded by the agency that employs the person; what it is called is the agency's own word."""

from datetime import date

from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.base import beijing_date, utcnow
from api.domain.errors import DomainError
from api.domain.models import Auxiliary, Commendation, User


def record_commendation(
    session: Session, aux: Auxiliary, *, actor: User, kind: str, reason: str, awarded_on: date
) -> Commendation:
    """Record a commendation given on ``awarded_on``; the caller has checked that the actor's agency employs
    the person. One that has left may still be commended for what they did while employed."""
    if awarded_on > beijing_date(utcnow()):
        raise DomainError("awarded_in_future", "表彰日期不能晚于今天", "awarded_on lies in the future")
    commendation = Commendation(auxiliary_id=aux.id, agency_id=aux.agency_id, recorded_by=actor.id,
                                kind=kind.strip(), reason=reason.strip(), awarded_on=awarded_on)
    session.add(commendation)
    audit.record(session, commendation, "commendation.recorded", actor_id=actor.id)
    return commendation
