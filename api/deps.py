"""Dependencies every route shares: the request's transaction, the caller, role guards."""

from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from functools import lru_cache, wraps
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import Scope

from api.context import AppContext
from api.db import READ_ONLY
from api.domain.errors import DomainError, Forbidden, Unauthenticated
from api.domain.models import Role, User
from api.domain.organisation.accounts import account_of_login
from api.pages.desk.session import session_user
from api.ratelimit import Rule
from api.security import decode_access

P = ParamSpec("P")
R = TypeVar("R")
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


def _read_only_session(ctx: AppContext) -> Session:
    session = ctx.sessions()
    try:
        session.connection(execution_options={READ_ONLY: True})
    except BaseException:
        session.close()
        raise
    return session


def _end(session: Session, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


async def get_session(
    request: Request, ctx: ContextDep, _slot: Annotated[None, Depends(hold_db_slot, scope="function")]
) -> AsyncIterator[Session]:
    """One transaction per request, committed before the response leaves (a failed commit is an error).

    async, with the database work on worker threads: a read begins its read-only transaction on one, and every
    request commits (or rolls back) and closes on one; a write's session is made here, with nothing to
    wait for, its transaction beginning at its first statement on the endpoint's thread. A writing request so
    takes one trip to the thread pool fewer, and on SQLite every trip is time in the writer's turn."""
    if request.method in ("GET", "HEAD"):
        session = await run_in_threadpool(_read_only_session, ctx)
    else:
        session = ctx.sessions()
    try:
        yield session
    except DomainError as exc:
        await _ended(session, exc.keep_writes)
        raise
    except BaseException:
        await _ended(session, False)
        raise
    else:
        await _ended(session, True)


async def _ended(session: Session, commit: bool) -> None:
    if session.in_transaction():
        await run_in_threadpool(_end, session, commit)
    else:  # committed on the endpoint's thread (``writes``), or never begun: nothing waits on the database
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_current_user(
    request: Request, ctx: ContextDep, session: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    if not token:
        # A read may also come from the desk's browser session (an admin opening a badge card, a roster
        # file): never a write, which takes a bearer token and so cannot be forged by another site's form.
        desk_user = session_user(request, session) if request.method in ("GET", "HEAD") else None
        if desk_user is None:
            raise Unauthenticated("unauthenticated", "需要登录", "a bearer access token is required")
        session.info["actor_id"] = desk_user.id
        return desk_user
    claims = decode_access(ctx.access_secret, token)
    # On SQLite a writing request reads who asks in a read-only transaction of its own, ended here: its write
    # transaction, and with it the one writer's turn (api/db.py), begins at the endpoint's first statement, not
    # while this request waits for its next trip to a thread. PostgreSQL has no such turn to hold.
    apart = (request.method not in ("GET", "HEAD") and ctx.engine.dialect.name == "sqlite"
             and not session.in_transaction())
    if apart:
        session.connection(execution_options={READ_ONLY: True})
    user, revoked = account_of_login(session, claims.sub, claims.family)
    if user is None or not user.active:
        raise Unauthenticated("invalid_token", "账号不存在或已停用", "account unknown or disabled")
    if revoked:
        raise Unauthenticated("invalid_token", "该登录已被注销，请重新登录", "this login was revoked; sign in again")
    session.info["actor_id"] = user.id
    if apart:
        _commit_keeping_objects(session)
    return user


def _commit_keeping_objects(session: Session) -> None:
    expire, session.expire_on_commit = session.expire_on_commit, False  # what was read stays loaded
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_role(*roles: Role) -> object:
    # async: reading a loaded attribute needs no trip to the thread pool, and on SQLite a writing request
    # holds the writer lane (api/db.py) from its first query to its commit, across every trip it makes.
    async def guard(user: CurrentUser) -> User:
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


@lru_cache(maxsize=16_384)
def _address(text: str) -> IPv4Address | IPv6Address | None:
    """An address as proxies write it (``203.0.113.9``, ``203.0.113.9:4711``, ``[2001:db8::1]:443``), or None.
    Remembered: every request asks it of its peer and its forwarded hops, and parsing costs more than a
    remembered badge answer's own work."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ip_address(text)
    except ValueError:
        return None
    return (address.ipv4_mapped or address) if isinstance(address, IPv6Address) else address


@lru_cache(maxsize=16_384)
def _address_text(text: str) -> str | None:
    """``_address`` written out as the service writes addresses (rate-limit keys, logs), or None."""
    address = _address(text)
    return None if address is None else str(address)


def client_address(peer: str | None, forwarded_for: Iterable[str],
                   trusted: Sequence[IPv4Network | IPv6Network]) -> str:
    """The client of a request: the peer, unless the peer is a trusted proxy; then the right-most address of
    ``X-Forwarded-For`` that is not a trusted proxy. Each proxy appends whom it heard from, so everything left
    of the last untrusted address is whatever the client chose to write. Malformed entries are skipped."""
    if not trusted or not peer or not _trusted_hop(peer, trusted):
        return peer or "unknown"
    hop = _address_text(peer) or peer
    entries = [e for value in forwarded_for for e in value.split(",")]
    for entry in reversed(entries):
        address = _address_text(entry)
        if address is None:
            continue
        hop = address
        if not _trusted_hop(entry, trusted):
            return address
    return hop  # every hop is a trusted proxy: the left-most one is as near the client as it gets


def scope_client(scope: Scope, trusted: Sequence[IPv4Network | IPv6Network]) -> str:
    """``client_address`` of a raw ASGI request (for middleware that has no ``Request``)."""
    forwarded = [value.decode("latin-1") for key, value in scope["headers"] if key == b"x-forwarded-for"]
    return client_address(scope["client"][0] if scope.get("client") else None, forwarded, trusted)


@lru_cache(maxsize=4096)
def _trusted_hop(text: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    """Whether the address written as ``text`` is one of the ``trusted`` proxies (False when it is no address).
    Remembered: every request asks it of its peer, and a service sees few peers (its proxies)."""
    address = _address(text)
    return address is not None and any(address in net for net in trusted)


def _client(request: Request, ctx: AppContext) -> str:
    return client_address(request.client.host if request.client else None,
                          request.headers.getlist("x-forwarded-for"), ctx.settings.trusted_proxies)


def request_client(request: Request) -> str:
    """The client of ``request`` as ``AUXDUTY_TRUSTED_PROXIES`` resolves it."""
    return _client(request, request.app.state.ctx)


async def check_rate_limit(request: Request, ctx: AppContext, rule: Rule) -> None:
    """Count the request against ``rule`` for this client (429 past the limit): the in-process store answers
    at once, Redis through its asyncio client, so the event loop never waits on the network."""
    await ctx.limiter.check_async(rule, _client(request, ctx))


def writes(endpoint: Callable[P, R]) -> Callable[P, Coroutine[Any, Any, R]]:
    """A sync endpoint that writes, run on a worker thread with the request's transaction (its ``session``
    argument) committed on the same thread once it returns: on SQLite the one writer's turn is held only while
    this thread runs, never across a wait for the event loop and another thread. A refusal (an exception)
    leaves the transaction to ``get_session``, as before: rolled back, or committed when the refusal keeps what
    it wrote. FastAPI sees an async endpoint, so it checks and serialises the answer on the event loop instead
    of in a trip to the thread pool of its own; it reads parameters and dependencies from ``endpoint`` itself
    (it follows ``__wrapped__``)."""

    @wraps(endpoint)
    async def on_a_thread(*args: P.args, **kwargs: P.kwargs) -> R:
        return await run_in_threadpool(_and_commit, endpoint, args, kwargs)

    return on_a_thread


def _and_commit(endpoint: Callable[..., R], args: tuple[Any, ...], kwargs: dict[str, Any]) -> R:
    result = endpoint(*args, **kwargs)
    session = kwargs.get("session")
    if not isinstance(session, Session):
        raise TypeError(f"{endpoint.__qualname__} takes the request's session as `session`")
    session.commit()
    return result


def rate_limited(rule: Rule) -> Any:
    """A dependency that counts the request against ``rule`` for this client (429 past the limit)."""

    async def check(request: Request) -> None:
        await check_rate_limit(request, request.app.state.ctx, rule)

    return Depends(check)
