"""Logins of the desk (the browser pages of agency and justice admins): one refresh-token family each, so that
whatever ends an account's logins (a password change, a deactivation, a departure: ``accounts.revoke_logins``)
ends its desk sessions too, and a logout revokes exactly one.

The browser holds a random token; the row keeps its HMAC under a key of the service (not the plain SHA-256 of
the API's refresh tokens), so a desk cookie can never be spent at ``/api/auth/refresh`` for tokens that outlive
the desk session, and the database alone cannot turn a row back into a cookie.
"""

import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.domain.base import utcnow
from api.domain.models import RefreshToken, Role, User

DESK_ROLES = frozenset({Role.AGENCY_ADMIN, Role.JUSTICE_ADMIN})
"""Who may use the desk: the agencies that manage staff and the justice bureau that oversees them."""


def _digest(key: bytes, token: str) -> str:
    return hmac.new(key, b"desk-login\n" + token.encode(), hashlib.sha256).hexdigest()


def open_desk_login(session: Session, *, user: User, lifetime: timedelta, key: bytes) -> str:
    """A new desk login of ``user`` (an admin), good for ``lifetime``; the token for the browser's cookie."""
    if user.role not in DESK_ROLES:
        raise ValueError("only agency and justice admins use the desk")
    token = secrets.token_urlsafe(32)
    session.add(RefreshToken(token_hash=_digest(key, token), family_id=uuid.uuid4(), user_id=user.id,
                             expires_at=utcnow() + lifetime))
    session.flush()
    return token


def desk_login_user(session: Session, token: str, *, key: bytes) -> User | None:
    """The admin whose live desk login ``token`` is: None when it is unknown, expired or revoked, or the
    account is disabled or no longer an admin."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(key, token)))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or user.role not in DESK_ROLES:
        return None
    return user


def end_desk_login(session: Session, token: str, *, key: bytes) -> None:
    """Log out of the desk: this login's row revoked (a token already dead or never given changes nothing)."""
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.token_hash == _digest(key, token), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
