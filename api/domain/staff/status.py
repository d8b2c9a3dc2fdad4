"""Suspension, reinstatement, departure (第二十七条), dismissal (第二十八条) and secondment to a street
(第二十二条).

The credential follows the person at once: a suspended auxiliary's badge scans as ``suspended``, a departed or
dismissed one's as ``revoked``. Leaving, either way, also closes their login and gives the headcount place back
(第十二条); a dismissal is kept as its own status, so that 第十四条 can tell it from a plain departure.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy.orm import Session

from api.domain.audit import log as audit
from api.domain.base import Base
from api.domain.errors import Conflict, DomainError, RuleViolation
from api.domain.models import Agency, AgencyLevel, Auxiliary, AuxiliaryStatus, CredentialStatus, User
from api.domain.organisation.accounts import revoke_logins
from api.domain.organisation.agencies import is_descendant
from api.domain.staff.credentials import current_credential, departed_refusal, mark_credential
from api.domain.staff.hiring import free_headcount_place

RecoverableItem = Literal["credential", "badge", "armband", "uniform"]  # 第二十七条
RECOVERABLE_ITEMS: dict[RecoverableItem, str] = {
    "credential": "证件", "badge": "胸牌", "armband": "臂章", "uniform": "服装",
}


@dataclass(frozen=True)
class StatusMove:
    """One move of an auxiliary's standing, and how their current credential follows it."""

    from_: frozenset[AuxiliaryStatus]
    to: AuxiliaryStatus
    # The credential's status before → after, and the log's word for it; any other status is left as it is.
    credential: tuple[frozenset[CredentialStatus], CredentialStatus, str]


_ACTIVE, _SUSPENDED = AuxiliaryStatus.ACTIVE, AuxiliaryStatus.SUSPENDED
# The auxiliary's status machine. pending_training → active is the credential's issue (第二十三条,
# credentials.py); departed and dismissed are final (第二十七条、第二十八条).
_STAFF = frozenset({AuxiliaryStatus.PENDING_TRAINING, _ACTIVE, _SUSPENDED})
_REVOKE = (frozenset({CredentialStatus.VALID, CredentialStatus.SUSPENDED}), CredentialStatus.REVOKED,
           "credential.revoked")
STATUS_MOVES: dict[str, StatusMove] = {
    "suspend": StatusMove(frozenset({_ACTIVE}), _SUSPENDED,
                          (frozenset({CredentialStatus.VALID}), CredentialStatus.SUSPENDED, "credential.suspended")),
    "reinstate": StatusMove(frozenset({_SUSPENDED}), _ACTIVE,
                            (frozenset({CredentialStatus.SUSPENDED}), CredentialStatus.VALID,
                             "credential.reinstated")),
    "depart": StatusMove(_STAFF, AuxiliaryStatus.DEPARTED, _REVOKE),
    "dismiss": StatusMove(_STAFF, AuxiliaryStatus.DISMISSED, _REVOKE),
}


def _check_move(aux: Auxiliary, move: StatusMove) -> None:
    if aux.status in move.from_:
        return
    if aux.has_left:
        raise departed_refusal()
    raise Conflict("invalid_transition", f"当前状态（{aux.status}）不能变更为{move.to}",
                   f"cannot go from {aux.status} to {move.to}", current_status=str(aux.status))


def _apply_move(session: Session, aux: Auxiliary, move: StatusMove, *, reason: str) -> list[tuple[Base, str]]:
    """Make ``move``; what it changed besides the person, with the action each is logged under."""
    cred = current_credential(session, aux)
    before, after, action = move.credential
    changed: list[tuple[Base, str]] = []
    if cred is not None and cred.status in before:
        mark_credential(cred, after)
        changed.append((cred, action))
    aux.status = move.to
    aux.status_reason = reason
    return changed


def _move(session: Session, aux: Auxiliary, name: str, *, actor: User, reason: str, logged_as: str) -> Auxiliary:
    move = STATUS_MOVES[name]
    _check_move(aux, move)
    changed = _apply_move(session, aux, move, reason=reason)
    # The credential's leaf, then the person's: one flush and one insert (a status change is frequent).
    audit.record_each(session, [*changed, (aux, logged_as)], actor_id=actor.id)
    return aux


def suspend_auxiliary(session: Session, aux: Auxiliary, *, actor: User, reason: str) -> Auxiliary:
    return _move(session, aux, "suspend", actor=actor, reason=reason, logged_as="auxiliary.suspended")


def reinstate_auxiliary(session: Session, aux: Auxiliary, *, actor: User, reason: str) -> Auxiliary:
    return _move(session, aux, "reinstate", actor=actor, reason=reason, logged_as="auxiliary.reinstated")


def record_departure(
    session: Session,
    aux: Auxiliary,
    *,
    actor: User,
    left_on: date,
    reason: str,
    items_recovered: Sequence[str],
    dismissal: bool = False,
) -> Auxiliary:
    """第二十七条: revoke the credential, record what was taken back, close the account and end its logins,
    free the place. A ``dismissal`` (第二十八条) takes the same path and leaves the person ``dismissed``."""
    move = STATUS_MOVES["dismiss" if dismissal else "depart"]
    _check_move(aux, move)
    if left_on < aux.hired_on:
        raise DomainError("left_before_hired", "离职日期不能早于聘用日期", "left_on is before hired_on")
    unknown = [i for i in items_recovered if i not in RECOVERABLE_ITEMS]
    if unknown:
        raise DomainError("unknown_item", "未知的收回物品", f"unknown items: {', '.join(unknown)}")
    # The agency row first: hires lock it before they append to the audit log, so departures must too.
    free_headcount_place(session, aux.agency_id)
    audit.record_each(session, _apply_move(session, aux, move, reason=reason), actor_id=actor.id)
    user = session.get(User, aux.user_id)
    if user is not None:
        user.active = False
        revoke_logins(session, user.id)
        audit.record(session, user, "user.deactivated", actor_id=actor.id)
    aux.left_on = left_on
    aux.items_recovered = [i for i in RECOVERABLE_ITEMS if i in items_recovered]
    audit.record(session, aux, "auxiliary.dismissed" if dismissal else "auxiliary.departed", actor_id=actor.id)
    return aux


def second_auxiliary(
    session: Session, aux: Auxiliary, *, actor: User, command_agency_id: uuid.UUID | None
) -> Auxiliary:
    """第二十二条: place the auxiliary under a street/town below the employer for daily command, or end it."""
    if aux.has_left:
        raise departed_refusal()
    if command_agency_id is not None:
        command = session.get(Agency, command_agency_id)
        if (
            command is None
            or command.level != AgencyLevel.STREET
            or not is_descendant(session, command, aux.agency_id)
        ):
            raise RuleViolation(
                "invalid_secondment", "第二十二条", "只能下沉到用人机关下辖的街镇",
                "an auxiliary can be seconded only to a street/town below the employing agency",
            )
    aux.command_agency_id = command_agency_id
    audit.record(session, aux, "auxiliary.seconded" if command_agency_id else "auxiliary.recalled",
                 actor_id=actor.id)
    return aux


def set_photo(session: Session, aux: Auxiliary, *, actor: User, data: bytes, content_type: str) -> Auxiliary:
    if aux.has_left:
        raise departed_refusal()
    aux.photo = data
    aux.photo_type = content_type
    audit.record(session, aux, "auxiliary.photo_set", actor_id=actor.id)
    return aux
