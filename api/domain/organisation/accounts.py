"""Accounts, passwords (Argon2id, memory-hard) and rotating refresh tokens whose reuse revokes the family."""

import hashlib
import os
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.domain.access import managed_agencies, not_your_agency
from api.domain.audit import log as audit
from api.domain.base import utcnow
from api.domain.errors import Conflict, Unauthenticated
from api.domain.models import Agency, Officer, RefreshToken, Role, User


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)


# Each hash takes ``memory_kib`` (64 MiB by default): a crowd of logins hashes one per core at a time
# instead of taking a gigabyte per sixteen of them.
_hashing = threading.BoundedSemaphore(os.cpu_count() or 2)


def _verify(cost: "HashCost", stored: str, password: str) -> None:
    with _hashing:
        _hasher(cost.time_cost, cost.memory_kib).verify(stored, password)


@dataclass(frozen=True)
class HashCost:
    time_cost: int = 3
    memory_kib: int = 65536


def hash_password(password: str, cost: HashCost) -> str:
    with _hashing:
        return _hasher(cost.time_cost, cost.memory_kib).hash(password)


@lru_cache(maxsize=4)
def _dummy_hash(cost: HashCost) -> str:
    return hash_password(secrets.token_hex(8), cost)


def verify_password(user: User, password: str, *, cost: HashCost) -> bool:
    """Whether ``password`` is the account's (inactive or not: the caller decides what that means)."""
    try:
        _verify(cost, user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    return True


def authenticate(session: Session, username: str, password: str, *, cost: HashCost) -> User:
    user = session.scalar(select(User).where(User.username == username))
    # Verifying against a hash of the same cost for unknown users keeps timing from telling who exists.
    stored = user.password_hash if user else _dummy_hash(cost)
    try:
        _verify(cost, stored, password)
        ok = user is not None and user.active
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None:
        raise Unauthenticated("invalid_credentials", "用户名或密码错误", "wrong username or password")
    return user


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    agency_id: uuid.UUID | None,
    name: str,
    cost: HashCost,
    actor_id: uuid.UUID | None = None,
) -> User:
    """An account with an Argon2id password hash; ``actor_id`` made it (None: the console)."""
    user = User(
        username=username,
        password_hash=hash_password(password, cost),
        role=role,
        agency_id=agency_id,
        name=name,
    )
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict("username_taken", "用户名已被使用", f"username {username!r} is taken") from None
    audit.record(session, user, "user.created", actor_id=actor_id)
    return user


def create_officer(
    session: Session, *, user: User, agency: Agency, cert_no: str | None, actor_id: uuid.UUID | None = None
) -> Officer:
    officer = Officer(user_id=user.id, agency_id=agency.id, cert_no=cert_no)
    session.add(officer)
    session.flush()
    audit.record(session, officer, "officer.created", actor_id=actor_id)
    return officer


def open_account(
    session: Session,
    *,
    actor: User,
    username: str,
    password: str,
    role: Role,
    agency: Agency,
    name: str,
    officer_cert_no: str | None,
    cost: HashCost,
) -> tuple[User, Officer | None]:
    """The justice bureau opens agency admins' and officers' accounts; an agency admin its own officers (第五条)."""
    if not (actor.role == Role.JUSTICE_ADMIN or (role == Role.OFFICER and managed_agencies(actor).covers(agency.id))):
        raise not_your_agency(
            "只能为本机关创建执法人员账号；机关管理员由司法行政部门创建",
            "agency admins create officers of their own agency; the justice bureau creates agency admins",
        )
    user = create_user(session, username=username, password=password, role=role, agency_id=agency.id, name=name,
                       cost=cost, actor_id=actor.id)
    officer = (create_officer(session, user=user, agency=agency, cert_no=officer_cert_no, actor_id=actor.id)
               if role == Role.OFFICER else None)
    return user, officer


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_refresh_token(
    session: Session, *, user: User, lifetime: timedelta, family_id: uuid.UUID | None = None
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshToken(
            token_hash=_digest(token),
            family_id=family_id or uuid.uuid4(),
            user_id=user.id,
            expires_at=utcnow() + lifetime,
        )
    )
    session.flush()
    return token


class RefreshTokenReused(Unauthenticated):
    # The family's revocation must survive the refusal.
    keep_writes = True


def rotate_refresh_token(session: Session, token: str, *, lifetime: timedelta) -> tuple[User, str, uuid.UUID]:
    """Spend ``token`` and hand out its successor (and the family both belong to); a token spent twice revokes
    its whole family, and with it every access token of the family (``account_of_login``)."""
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(token)))
    invalid = Unauthenticated("invalid_refresh_token", "刷新令牌无效或已过期", "refresh token invalid or expired")
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise invalid
    now = utcnow()
    spent = session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == row.family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
            .execution_options(synchronize_session=False)
        )
        raise RefreshTokenReused(
            "refresh_token_reused",
            "刷新令牌被重复使用，该登录已全部注销，请重新登录",
            "refresh token used twice: every session of this login is revoked; sign in again",
        )
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise invalid
    return user, issue_refresh_token(session, user=user, lifetime=lifetime, family_id=row.family_id), row.family_id


def account_of_login(session: Session, user_id: uuid.UUID, family_id: uuid.UUID | None) -> tuple[User | None, bool]:
    """The account an access token names, and whether its login (``family_id``) was revoked: one round trip,
    as every authenticated request asks it first."""
    if family_id is None:
        return session.get(User, user_id), False
    row = session.execute(_ACCOUNT_OF_LOGIN, {"user_id": user_id, "family_id": family_id}).first()
    return (None, False) if row is None else (row[0], bool(row[1]))


# Made once: a statement made per request has its cache key worked out anew every time.
LOGIN_REVOKED = select(RefreshToken.id).where(
    RefreshToken.family_id == bindparam("family_id"), RefreshToken.revoked_at.is_not(None)).exists()
"""Whether the login (refresh-token family) ``:family_id`` was revoked, for a statement that reads who asks."""
_ACCOUNT_OF_LOGIN = select(User, LOGIN_REVOKED).where(User.id == bindparam("user_id"))


def revoke_logins(session: Session, user_id: uuid.UUID) -> int:
    """End every login (refresh-token family) of the account, and with them their access tokens; the number
    of refresh tokens revoked. For a password change, a deactivation, a departure."""
    revoked = session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(revoked.rowcount)  # type: ignore[attr-defined]


def end_login(session: Session, token: str) -> None:
    """Log out: revoke the family of ``token`` (spent, expired or not). A token this service never gave out,
    or one already revoked, changes nothing, and the caller learns nothing either way."""
    family = session.scalar(select(RefreshToken.family_id).where(RefreshToken.token_hash == _digest(token)))
    if family is None:
        return
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
