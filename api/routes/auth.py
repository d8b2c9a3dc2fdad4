"""Login, refresh-token rotation, and who the caller is."""

import uuid
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response, status
from sqlalchemy import select

from api.deps import ContextDep, CurrentUser, SessionDep, request_client
from api.domain.errors import Unauthenticated
from api.domain.models import Auxiliary, Officer, User
from api.domain.organisation.accounts import authenticate, end_login, issue_refresh_token, rotate_refresh_token
from api.domain.organisation.passwords import WrongPassword, change_password
from api.lockout import password_check
from api.security import encode_access
from schemas.auth import LogoutRequest, MeRead, PasswordChange, RefreshRequest, TokenPair
from schemas.common import StorableText

router = APIRouter(prefix="/api", tags=["auth"])


def _pair(ctx: ContextDep, user: User, refresh_token: str, family: uuid.UUID) -> TokenPair:
    access = encode_access(ctx.access_secret, user_id=user.id, role=user.role, lifetime=ctx.access_lifetime,
                           family=family)
    return TokenPair(
        access_token=access,
        expires_in=int(ctx.access_lifetime.total_seconds()),
        refresh_token=refresh_token,
    )


def _password_check(ctx: ContextDep, username: str, client: str, failure: type[Exception]
                    ) -> AbstractContextManager[None]:
    """Around a password check: the login lockout (api/lockout.py), shared with the desk's login."""
    return password_check(ctx.login_guard, ctx.hash_slots, queue_seconds=ctx.settings.login_queue_seconds,
                          username=username, client=client, failure=failure)


@router.post("/auth/token", response_model=TokenPair)
def issue_token(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64), StorableText],
    password: Annotated[str, Form(max_length=200)],
) -> TokenPair:
    """Exchange a username and password for a short-lived access token and a single-use refresh token.
    After 5 wrong passwords for one username within 15 minutes, or 20 from one client, that username or
    client answers 429 `login_locked` (with `Retry-After`) on every host until the window passes."""
    with _password_check(ctx, username, request_client(request), Unauthenticated):
        user = authenticate(session, username, password, cost=ctx.hash_cost)
    family = uuid.uuid4()
    refresh = issue_refresh_token(session, user=user, lifetime=ctx.refresh_lifetime, family_id=family)
    return _pair(ctx, user, refresh, family)


@router.post("/auth/refresh", response_model=TokenPair)
def refresh_token_route(ctx: ContextDep, session: SessionDep, body: RefreshRequest) -> TokenPair:
    """Spend a refresh token for a new pair. A token used twice revokes its whole family (a stolen phone)."""
    user, new_refresh, family = rotate_refresh_token(session, body.refresh_token, lifetime=ctx.refresh_lifetime)
    return _pair(ctx, user, new_refresh, family)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def log_out(session: SessionDep, body: LogoutRequest) -> Response:
    """End a login: the family of the refresh token (every refresh token and access token it begat) is
    revoked. Needs no access token, so a phone whose access token has expired can still log out. Always
    204, for a token already revoked or never given out too: the answer tells nothing about a token."""
    end_login(session, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def change_own_password(
    request: Request, ctx: ContextDep, session: SessionDep, user: CurrentUser, body: PasswordChange
) -> Response:
    """Change the caller's password. A wrong `old_password` answers 403 `wrong_password` and counts as a
    failed login of the account: after 5 of them it answers 429 `login_locked`, as logging in does. A new
    password that is too short (under 10 characters), well known, a few characters repeated, containing the
    username or the same as the old one answers 422 `weak_password` with every reason in `reasons`.
    On success every login of the account ends (its refresh tokens, and with them its access tokens, this
    one included): log in again with the new password."""
    with _password_check(ctx, user.username, request_client(request), WrongPassword):
        change_password(session, user=user, old_password=body.old_password, new_password=body.new_password,
                        cost=ctx.hash_cost)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeRead)
def read_me(session: SessionDep, user: CurrentUser) -> MeRead:
    """The caller's account, with their auxiliary or officer record id."""
    aux_id = session.scalar(select(Auxiliary.id).where(Auxiliary.user_id == user.id))
    officer_id = session.scalar(select(Officer.id).where(Officer.user_id == user.id))
    return MeRead(
        id=user.id,
        username=user.username,
        role=user.role,
        agency_id=user.agency_id,
        name=user.name,
        auxiliary_id=aux_id,
        officer_id=officer_id,
    )
