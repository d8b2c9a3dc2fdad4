"""Deactivating and reactivating accounts (API.md, "Accounts").

The justice bureau, or an agency admin for the accounts of their own agency (第五条), switches an account
off: it can no longer log in or refresh, every login it had ends at once, and an officer so switched off is no
longer available to direct or co-sign anyone's work (第八条): their pending co-signatures are listed so the
agency can name another officer (``fieldwork/reassignment.py``). An auxiliary's account follows their
employment instead: it closes with their departure (第二十七条, ``staff/status.py``).
"""

import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.domain.access import not_your_agency
from api.domain.audit import log as audit
from api.domain.errors import Conflict, NotFound, RuleViolation
from api.domain.models import Auxiliary, Role, User
from api.domain.organisation.accounts import revoke_logins


def managed_account(session: Session, *, actor: User, user_id: uuid.UUID) -> User:
    """The account, if ``actor`` manages it: the justice bureau any, an agency admin those of their agency."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("user", "账号")
    if not (actor.role == Role.JUSTICE_ADMIN
            or (actor.role == Role.AGENCY_ADMIN and actor.agency_id is not None
                and user.agency_id == actor.agency_id)):
        raise not_your_agency("只能管理本机关人员的账号", "agency admins manage the accounts of their own agency")
    return user


def _check_switchable(session: Session, *, actor: User, user: User) -> None:
    if user.id == actor.id:
        raise Conflict("cannot_deactivate_self", "不能停用或启用自己的账号",
                       "an admin cannot switch their own account off or on")
    if user.role == Role.AUXILIARY:
        aux_id = session.scalar(select(Auxiliary.id).where(Auxiliary.user_id == user.id))
        raise RuleViolation(
            "account_follows_departure", "第二十七条",
            "辅助人员的账号随聘用关系开闭：离职请办理离职手续（收回证件等），账号随之停用",
            "an auxiliary's account closes with their departure: record it with "
            f"POST /api/auxiliaries/{aux_id}/departure (credential revoked, items recovered)",
            status=409, departure_path=f"/api/auxiliaries/{aux_id}/departure",
        )


def _switch(session: Session, user: User, *, active: bool) -> None:
    # Guarded on the state read: of two admins acting at once, the second is told, not silently repeated.
    moved = session.execute(
        update(User).where(User.id == user.id, User.active == (not active)).values(active=active)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise (Conflict("account_already_active", "账号已是启用状态", "the account is already active") if active
               else Conflict("account_already_inactive", "账号已停用", "the account is already deactivated"))
    session.refresh(user)


def deactivate_account(session: Session, *, actor: User, user_id: uuid.UUID) -> User:
    """Switch the account off and end every login it has, at once."""
    user = managed_account(session, actor=actor, user_id=user_id)
    _check_switchable(session, actor=actor, user=user)
    _switch(session, user, active=False)
    revoke_logins(session, user.id)
    audit.record(session, user, "user.deactivated", actor_id=actor.id)
    return user


def reactivate_account(session: Session, *, actor: User, user_id: uuid.UUID) -> User:
    """Switch the account on again; its old logins stay ended (log in anew)."""
    user = managed_account(session, actor=actor, user_id=user_id)
    _check_switchable(session, actor=actor, user=user)
    _switch(session, user, active=True)
    audit.record(session, user, "user.reactivated", actor_id=actor.id)
    return user
