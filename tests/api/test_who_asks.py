"""Who asks: every authenticated request first reads the account its access token names and whether that login
was revoked, in one statement (on SQLite a writing request holds the one writer's turn from its first read)."""

from datetime import timedelta

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from api.domain.models import RefreshToken
from api.domain.organisation.accounts import account_of_login, issue_refresh_token
from tests.api.test_write_statements import statements
from tests.factories import make_agency, make_auxiliary


def test_the_account_and_its_logins_revocation_are_one_read(db: Session, connection: Connection) -> None:
    user, _ = make_auxiliary(db, make_agency(db))
    issue_refresh_token(db, user=user, lifetime=timedelta(days=1))
    family = db.scalars(select(RefreshToken.family_id).where(RefreshToken.user_id == user.id)).one()
    db.flush()
    db.expunge_all()
    with statements(connection) as seen:
        found, revoked = account_of_login(db, user.id, family)
    assert found is not None and found.id == user.id and revoked is False
    assert len(seen) == 1, seen
    for token in db.scalars(select(RefreshToken).where(RefreshToken.family_id == family)):
        token.revoked_at = token.created_at
    db.flush()
    assert account_of_login(db, user.id, family)[1] is True
    assert account_of_login(db, family, family) == (None, False)  # no such account

