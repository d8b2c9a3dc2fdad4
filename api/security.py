"""Access tokens: short-lived HS256 JWTs with typed, required claims. Badge tokens (EdDSA) live in
``verification.tokens``; the audience and ``typ`` differ, so neither can pass for the other."""

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import jwt

from api.domain.base import utcnow
from api.domain.errors import Unauthenticated

ALGORITHM = "HS256"
AUDIENCE = "auxduty:api"
ACCESS_TYP = "access"


def load_or_create_secret(data_dir: Path, configured: str | None) -> str:
    """The signing secret: from the environment, else a file in the data dir made on first start."""
    if configured:
        return configured
    path = data_dir / "access-token.secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(secret)
    tmp.chmod(0o600)
    tmp.replace(path)
    return secret


@dataclass(frozen=True)
class AccessClaims:
    sub: uuid.UUID
    role: str
    family: uuid.UUID | None
    """The login (refresh-token family) the token belongs to: it dies with the family."""


def encode_access(secret: str, *, user_id: uuid.UUID, role: str, lifetime: timedelta,
                  family: uuid.UUID | None = None) -> str:
    now = utcnow()
    payload = {
        "sub": str(user_id),
        "role": role,
        **({"fam": str(family)} if family else {}),
        "aud": AUDIENCE,
        "typ": ACCESS_TYP,
        "iat": now,
        "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


_INVALID = ("invalid_token", "登录凭证无效或已过期，请重新登录", "access token missing, invalid or expired")


def decode_access(secret: str, token: str) -> AccessClaims:
    """The claims of a valid, unexpired access token; 401 ``invalid_token`` for any other."""
    claims, expires = _verified(secret, token)
    if expires <= datetime.now(UTC).timestamp():  # as PyJWT checks ``exp`` (no leeway)
        raise Unauthenticated(*_INVALID)
    return claims


@lru_cache(maxsize=4096)
def _verified(secret: str, token: str) -> tuple[AccessClaims, float]:
    """A token's signature and claims checked once: a phone sends the same token with every request until it
    expires, and the check costs more than the rest of a remembered request's work. Only valid tokens are
    kept (a refusal raises, which is not cached); expiry is checked at every use by ``decode_access``."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            options={"require": ["exp", "iat", "sub", "aud", "typ"]},
        )
        if payload.get("typ") != ACCESS_TYP:
            raise jwt.InvalidTokenError("not an access token")
        family = payload.get("fam")
        return AccessClaims(sub=uuid.UUID(payload["sub"]), role=str(payload["role"]),
                            family=uuid.UUID(family) if isinstance(family, str) else None), float(payload["exp"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError):
        raise Unauthenticated(*_INVALID) from None
