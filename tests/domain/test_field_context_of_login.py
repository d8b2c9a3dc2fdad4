"""Who asks and their field context read in one statement (``field_context_of_login``, for a new task record
taken in front of the framework): the same context ``load_field_context`` gives, and nothing for a login that
was revoked, a disabled account or an account that is not an auxiliary's."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.domain.fieldwork.context import field_context_of_login, load_field_context
from api.domain.models import AuxiliaryStatus, RefreshToken, Role
from api.domain.organisation.accounts import _digest, issue_refresh_token, revoke_logins
from tests.domain.test_refresh_tokens import LIFE
from tests.factories import make_agency, make_auxiliary, make_user


def _family(db: Session, token: str) -> uuid.UUID:
    row = db.scalar(select(RefreshToken).where(RefreshToken.token_hash == _digest(token)))
    assert row is not None
    return row.family_id


def test_an_auxiliarys_context_is_the_one_load_field_context_gives(db: Session) -> None:
    for status in (AuxiliaryStatus.ACTIVE, AuxiliaryStatus.SUSPENDED):
        user, aux = make_auxiliary(db, make_agency(db), status=status)
        family = _family(db, issue_refresh_token(db, user=user, lifetime=LIFE))
        fc = field_context_of_login(db, user.id, family)
        expected = load_field_context(db, user)
        assert fc is not None and fc.user is user and fc.aux is aux
        assert (fc.valid_since, fc.term_ended, fc.may_record) == (
            expected.valid_since, expected.term_ended, expected.may_record)


def test_a_revoked_login_a_disabled_account_and_another_role_have_none(db: Session) -> None:
    agency = make_agency(db)
    revoked, _ = make_auxiliary(db, agency)
    revoked_family = _family(db, issue_refresh_token(db, user=revoked, lifetime=LIFE))
    revoke_logins(db, revoked.id)
    disabled, _ = make_auxiliary(db, agency)
    disabled_family = _family(db, issue_refresh_token(db, user=disabled, lifetime=LIFE))
    disabled.active = False
    admin = make_user(db, role=Role.AGENCY_ADMIN, agency=agency)
    admin_family = _family(db, issue_refresh_token(db, user=admin, lifetime=LIFE))
    db.flush()
    for user, family in ((revoked, revoked_family), (disabled, disabled_family), (admin, admin_family)):
        assert field_context_of_login(db, user.id, family) is None
