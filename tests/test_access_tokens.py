"""Access tokens (api/security.py): a token's signature is checked once and its claims kept, but its expiry is
checked at every use, and a token that fails is refused every time it is sent."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from api import security
from api.domain.errors import Unauthenticated
from api.security import decode_access, encode_access

SECRET = "s" * 48


def test_a_token_is_verified_once_and_its_claims_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    user, family = uuid.uuid4(), uuid.uuid4()
    token = encode_access(SECRET, user_id=user, role="auxiliary", lifetime=timedelta(minutes=5), family=family)
    calls: list[str] = []
    real = jwt.decode

    def counted(*args: object, **kwargs: object) -> object:
        calls.append("decode")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counted)
    first = decode_access(SECRET, token)
    assert decode_access(SECRET, token) == first
    assert (first.sub, first.role, first.family) == (user, "auxiliary", family)
    assert calls == ["decode"]


def test_a_kept_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token = encode_access(SECRET, user_id=uuid.uuid4(), role="officer", lifetime=timedelta(seconds=30))
    decode_access(SECRET, token)  # kept

    class Later(datetime):
        @classmethod
        def now(cls, tz: object = None) -> "Later":
            return cls.fromtimestamp(datetime.now(UTC).timestamp() + 31, UTC)

    monkeypatch.setattr(security, "datetime", Later)
    with pytest.raises(Unauthenticated):
        decode_access(SECRET, token)


@pytest.mark.parametrize("bad", ["not-a-token", "wrong-secret", "refresh"])
def test_a_bad_token_is_refused_every_time(bad: str) -> None:
    now = datetime.now(UTC)
    claims = {"sub": str(uuid.uuid4()), "role": "auxiliary", "aud": security.AUDIENCE, "typ": "access",
              "iat": now, "exp": now + timedelta(minutes=5)}
    token = {"not-a-token": "not-a-token",
             "wrong-secret": jwt.encode(claims, "t" * 48, algorithm="HS256"),
             "refresh": jwt.encode({**claims, "typ": "refresh"}, SECRET, algorithm="HS256")}[bad]
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            decode_access(SECRET, token)
