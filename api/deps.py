"""Dependencies every route shares: the request's transaction, the caller, role guards."""

from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.context import AppContext
from api.db import READ_ONLY
from api.domain.errors import DomainError, Forbidden, Unauthenticated
from api.domain.models import Role, User
from api.ratelimit import Rule
from api.security import decode_access

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/auth/token", auto_error=False)


async def get_context(request: Request) -> AppContext:
    # async: a plain def would cost every request a trip to the thread pool for one attribute read.
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


async def hold_db_slot(ctx: ContextDep) -> AsyncIterator[None]:
    """Wait, holding nothing, for one of the database slots (api/capacity.py); 503 when none frees in time."""
    async with ctx.db_slots.hold():
        yield


def get_session(
    request: Request, ctx: ContextDep, _slot: Annotated[None, Depends(hold_db_slot, scope="function")]
) -> Iterator[Session]:
    """One transaction per request, committed before the response leaves (a failed commit is an error)."""
    with ctx.sessions() as session:
        if request.method in ("GET", "HEAD"):
            session.connection(execution_options={READ_ONLY: True})
        try:
            yield session
        except DomainError as exc:
            if exc.keep_writes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_current_user(
    ctx: ContextDep, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    if not token:
        raise Unauthenticated("unauthenticated", "需要登录", "a bearer access token is required")
    claims = decode_access(ctx.access_secret, token)
    user = session.get(User, claims.sub)
    if user is None or not user.active:
        raise Unauthenticated("invalid_token", "账号不存在或已停用", "account unknown or disabled")
    session.info["actor_id"] = user.id
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> object:
    def guard(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(
                "role_not_allowed",
                "当前角色无权执行此操作",
                f"this needs one of the roles: {', '.join(roles)}",
            )
        return user

    return Depends(guard)


JusticeAdmin = Annotated[User, require_role(Role.JUSTICE_ADMIN)]
AgencyAdmin = Annotated[User, require_role(Role.AGENCY_ADMIN)]
Admin = Annotated[User, require_role(Role.AGENCY_ADMIN, Role.JUSTICE_ADMIN)]
OfficerUser = Annotated[User, require_role(Role.OFFICER)]
AuxiliaryUser = Annotated[User, require_role(Role.AUXILIARY)]


def _client(request: Request, ctx: AppContext) -> str:
    client = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if ctx.settings.trust_forwarded_for and forwarded:
        client = forwarded.split(",")[0].strip()
    return client


async def check_rate_limit(request: Request, ctx: AppContext, rule: Rule) -> None:
    """Count the request against ``rule`` for this client (429 past the limit). The in-process store
    answers at once; Redis is asked from the thread pool so the event loop never waits on the network."""
    if ctx.limiter.blocking:
        await run_in_threadpool(ctx.limiter.check, rule, _client(request, ctx))
    else:
        ctx.limiter.check(rule, _client(request, ctx))


def rate_limited(rule: Rule) -> Any:
    """A dependency that counts the request against ``rule`` for this client (429 past the limit)."""

    async def check(request: Request) -> None:
        await check_rate_limit(request, request.app.state.ctx, rule)

    return Depends(check)
