"""Refresh tokens, without HTTP: each is spent once for its successor in the same family; a token spent twice
(a stolen copy replayed) revokes the whole family, and that revocation is kept although the request fails."""

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.models import RefreshToken, Role, User
from api.domain.organisation.accounts import RefreshTokenReused, _digest, issue_refresh_token, rotate_refresh_token
from tests.factories import make_agency, make_user
from tests.problems import refused

LIFE = timedelta(days=14)


def _user(db: Session) -> User:
    return make_user(db, role=Role.AGENCY_ADMIN, agency=make_agency(db))


def _row(db: Session, token: str) -> RefreshToken:
    row = db.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(token))
                    .execution_options(populate_existing=True))
    assert row is not None
    return row


def test_rotation_spends_the_token_and_hands_out_a_successor_of_the_same_family(db: Session) -> None:
    user = _user(db)
    first = issue_refresh_token(db, user=user, lifetime=LIFE)
    who, second, _ = rotate_refresh_token(db, first, lifetime=LIFE)
    assert who.id == user.id and second != first
    spent, fresh = _row(db, first), _row(db, second)
    assert spent.used_at is not None and spent.revoked_at is None
    assert fresh.family_id == spent.family_id and fresh.used_at is None


def test_refresh_token_reuse_revokes_the_family_and_is_refused(db: Session) -> None:
    user = _user(db)
    first = issue_refresh_token(db, user=user, lifetime=LIFE)
    _, second, _ = rotate_refresh_token(db, first, lifetime=LIFE)
    with refused("refresh_token_reused", None, status=401) as caught:
        rotate_refresh_token(db, first, lifetime=LIFE)
    assert isinstance(caught.value, RefreshTokenReused) and caught.value.keep_writes
    family = db.scalars(select(RefreshToken).where(RefreshToken.family_id == _row(db, first).family_id)
                        .execution_options(populate_existing=True)).all()
    assert len(family) == 2 and all(t.revoked_at is not None for t in family)
    # The legitimate successor is revoked too: whoever holds it must sign in again.
    with refused("invalid_refresh_token", None, status=401):
        rotate_refresh_token(db, second, lifetime=LIFE)


def test_a_reuse_leaves_the_users_other_logins_alone(db: Session) -> None:
    user = _user(db)
    phone = issue_refresh_token(db, user=user, lifetime=LIFE)
    laptop = issue_refresh_token(db, user=user, lifetime=LIFE)
    rotate_refresh_token(db, phone, lifetime=LIFE)
    with refused("refresh_token_reused", None):
        rotate_refresh_token(db, phone, lifetime=LIFE)
    assert _row(db, laptop).revoked_at is None
    assert rotate_refresh_token(db, laptop, lifetime=LIFE)[0].id == user.id


def test_an_unknown_or_expired_refresh_token_is_invalid(db: Session) -> None:
    user = _user(db)
    expired = issue_refresh_token(db, user=user, lifetime=timedelta(seconds=-1))
    for token in ("not-a-token", expired):
        with refused("invalid_refresh_token", None, status=401):
            rotate_refresh_token(db, token, lifetime=LIFE)
    assert _row(db, expired).revoked_at is None


def test_a_disabled_account_cannot_refresh(db: Session) -> None:
    user = _user(db)
    token = issue_refresh_token(db, user=user, lifetime=LIFE)
    user.active = False
    db.flush()
    with refused("invalid_refresh_token", None, status=401):
        rotate_refresh_token(db, token, lifetime=LIFE)
