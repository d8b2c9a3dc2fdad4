"""``POST /api/tasks`` for a new record, answered in front of the framework.

A phone's new task record is the write the service answers most, and for one small JSON body Starlette's
exception layers, the matching of every route, FastAPI's dependency solving and a second trip to the thread
pool (who asks, then the write) cost more CPU than storing and logging the record. ``NewTasks`` (ASGI
middleware, inside the request's id, figures and log line of api/observability.py) takes the request when
it is the usual case, a new record from an auxiliary with a valid bearer token and a database slot free at
once, and does in one trip to a thread what ``create_task`` (api/routes/fieldwork.py) and its dependencies
do: who asks and the field context (one statement), ``record_new_task``, commit, the same ``TaskRead``.

Everything else goes to the app with the body it sent, as if this middleware were not there: a bad token
or body, another role, a record sent before, any refusal of the Measures, a commit that failed, a crowd
waiting for slots, forbidden work (第十九条). Nothing this path began is kept then: it reads, and writes once,
the record with its leaf (on PostgreSQL one statement committing alone: no BEGIN and COMMIT round trips),
so the app's answer and its problem+json are exactly those of ``create_task``.

Records are stored ``task_writers`` at a time (by default 2 on PostgreSQL, 1 on SQLite); the rest wait their
turn in the event loop, holding nothing. A write is mostly Python on a thread, holding the interpreter lock
while it is not waiting for the database, so more at once only take turns at that lock. Alternating runs of
``python -m bench.writes`` (8 phones): on PostgreSQL, 2 at a time answered 701 and 740 req/s (p99 22 and 21
ms) where 8 answered 652 and 655 (p99 27 and 30 ms); on SQLite, 1 at a time answered 742, 767, 768 and 754
req/s where 2 answered 677, 594, 641 and 540. On PostgreSQL the second writer's work overlaps the first's
commit; SQLite has one writer at a time anyway.
"""

import json
import uuid
from collections.abc import Awaitable, Callable

from fastapi.security.utils import get_authorization_scheme_param
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.capacity import ServiceBusy
from api.context import AppContext
from api.domain.errors import DomainError
from api.domain.fieldwork.context import field_context_of_login
from api.domain.fieldwork.records import TaskDraft
from api.domain.fieldwork.tasks import record_new_task
from api.domain.models import Role, TaskStatus
from api.routes.fieldwork import router
from api.security import AccessClaims, decode_access
from schemas.tasks import AuxiliaryRef, TaskCreate, TaskRead, new_task_read

PATH = "/api/tasks"
# A record's JSON is well under this; a larger body goes to the app, which reads the rest of it.
MAX_BODY = 64 * 1024
_ANSWER = TypeAdapter(TaskRead)
_HEADERS = [(b"content-type", b"application/json")]


def _bearer(headers: Headers) -> str | None:
    """The token of ``Authorization: Bearer <token>``, read as OAuth2PasswordBearer reads it."""
    scheme, token = get_authorization_scheme_param(headers.get("authorization"))
    return token if scheme.lower() == "bearer" and token else None


def _is_json(headers: Headers) -> bool:
    return headers.get("content-type", "").partition(";")[0].strip().lower() == "application/json"


async def _body(receive: Receive) -> tuple[list[Message], bytes | None]:
    """The request's messages as received, and its whole body, or None when it is larger than MAX_BODY or the
    client went away (the app then reads on from where this stopped)."""
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > MAX_BODY:
            return messages, None
        if not message.get("more_body", False):
            return messages, b"".join(m.get("body", b"") for m in messages)


def _replay(messages: list[Message], receive: Receive) -> Callable[[], Awaitable[Message]]:
    """``receive`` for the app: the messages already read, then the rest from the client."""
    pending = list(messages)

    async def again() -> Message:
        return pending.pop(0) if pending else await receive()

    return again


class NewTasks:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route = next(r for r in router.routes
                           if getattr(r, "path", None) == PATH and "POST" in getattr(r, "methods", ()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == PATH
                and not scope["query_string"]):
            await self.app(scope, receive, send)
            return
        messages, body = await _body(receive)
        ctx: AppContext = scope["app"].state.ctx
        answer = None
        headers = Headers(scope=scope)
        if body is not None and _is_json(headers) and ctx.db_slots.free():
            answer = await self._answer(ctx, headers, body)
        if answer is None:
            await self.app(scope, _replay(messages, receive), send)
            return
        content, waiting = answer
        scope["route"] = self._route
        await send({"type": "http.response.start", "status": 201,
                    "headers": [*_HEADERS, (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})
        if waiting is not None:  # after the answer, as create_task's background task does
            await ctx.push.announce([waiting])

    async def _answer(self, ctx: AppContext, headers: Headers, body: bytes) -> tuple[bytes, uuid.UUID | None] | None:
        token = _bearer(headers)
        if token is None:
            return None
        try:
            claims = decode_access(ctx.access_secret, token)
            # As FastAPI reads a body: json.loads, then the model from Python values.
            draft = TaskCreate.model_validate(json.loads(body)).to_draft()
        except (DomainError, ValidationError, ValueError, RecursionError):  # as FastAPI answers a body it cannot read
            return None
        # Forbidden work (第十九条) keeps a case as it is refused: the route's transaction does that.
        if claims.role != Role.AUXILIARY or draft.flags.raised():
            return None
        try:
            async with ctx.task_turns.hold(), ctx.db_slots.hold():
                return await run_in_threadpool(_record, ctx, claims, draft)
        except ServiceBusy:  # the route waits for a slot its own way and answers a crowd as documented
            return None


def _alone(ctx: AppContext) -> bool:
    """Whether this path's statements may each commit alone: on PostgreSQL, with sessions of their own (a test's
    sessions share one transaction, rolled back at its end)."""
    bind = ctx.sessions_bind
    return isinstance(bind, Engine) and bind.dialect.name == "postgresql"


def _record(ctx: AppContext, claims: AccessClaims, draft: TaskDraft) -> tuple[bytes, uuid.UUID | None] | None:
    """create_task and its dependencies on one thread: the answer and the record's id when it waits for its
    officer, or None (nothing kept) for anything but a new record stored and committed."""
    if claims.family is None:  # a token from before logins were kept: the route reads who asks its own way
        return None
    session = ctx.sessions()
    try:
        if _alone(ctx):
            # Each statement its own transaction, no BEGIN and COMMIT round trips: the path reads (as in READ
            # COMMITTED, each statement sees what was committed before it) and then writes once, the record
            # with its leaf in one statement (``insert_logged_once``), so nothing half-written can be kept.
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        fc = field_context_of_login(session, claims.sub, claims.family, limits=ctx.field_limits)
        if fc is None:
            return None
        session.info["actor_id"] = fc.user.id
        recorded, created = record_new_task(session, fc, draft)
        if not created or not isinstance(recorded, dict):
            return None
        read = new_task_read(recorded, AuxiliaryRef(id=fc.aux.id, name=fc.aux.name, badge_no=fc.aux.badge_no))
        content = _ANSWER.dump_json(read)
        session.commit()
    except Exception:  # the app does it again and answers as documented, errors included
        return None
    finally:
        if session.in_transaction():
            session.rollback()
        session.close()
    return content, recorded["id"] if recorded["status"] == TaskStatus.PENDING_COSIGN else None
