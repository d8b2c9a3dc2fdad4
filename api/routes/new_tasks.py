"""``POST /api/tasks`` for a new record, answered in front of the framework.

A phone's new task record is the write the service answers most, and for one small JSON body Starlette's
exception layers, the matching of every route, FastAPI's dependency solving and a second trip to the thread
pool (who asks, then the write) cost more CPU than storing and logging the record. ``NewTasks`` (ASGI
middleware, inside the request's id, figures and log line of api/observability.py) takes the request when
it is the usual case, a new record from an auxiliary with a valid bearer token and a database slot free at
once, and does what ``create_task`` (api/routes/fieldwork.py) and its dependencies do, with the records that
came meanwhile in one trip to a thread (below): who asks and the field context, the record admitted by the same
rules and stored with its leaf, commit, the same ``TaskRead``.

Everything else goes to the app with the body it sent, as if this middleware were not there: a bad token
or body, another role, a record sent before, any refusal of the Measures, a commit that failed, a crowd
waiting for slots, forbidden work (第十九条). Nothing this path began is kept then: it reads, and writes once,
the record with its leaf (on PostgreSQL one statement for the batch, committing alone: no BEGIN and COMMIT
round trips; elsewhere in the record's savepoint), so the app's answer and its problem+json are exactly those
of ``create_task``.

Records are stored a batch at a time (``task_writers`` batches at once, by default 1): those that arrive while
a batch is stored wait in the event loop, holding nothing, and go together in the next batch, on one thread and
one session. On PostgreSQL a batch is two statements whatever its size: who asks for every record
(``field_contexts_of_logins``), then every record the rules admit with its leaf (``insert_logged_new``). A
write is mostly Python holding the interpreter lock, and most of it is the cost of a statement, not of a row:
with 8 phones sending at once, one batch at a time took 1.2 ms of the service's CPU a record against 2.5 to 3.0
ms for one record a statement, two at a time (a throwaway loop of wrk runs reading the service's CPU time).
Elsewhere (SQLite) each record of a batch is written in a savepoint of one transaction, with one commit.
"""

import functools
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.capacity import ServiceBusy
from api.context import AppContext
from api.domain.errors import DomainError
from api.domain.fieldwork.context import FieldContext, field_context_of_login, field_contexts_of_logins
from api.domain.fieldwork.phone_ids import insert_logged_new
from api.domain.fieldwork.records import TaskDraft
from api.domain.fieldwork.tasks import admitted_task_values, record_new_task
from api.domain.models import Role, Task, TaskStatus
from api.routes.fieldwork import router
from api.security import AccessClaims, decode_access
from schemas.tasks import AuxiliaryRef, TaskCreate, TaskRead, new_task_read

PATH = "/api/tasks"
# A record's JSON is well under this; a larger body goes to the app, which reads the rest of it.
MAX_BODY = 64 * 1024
_ANSWER = TypeAdapter(TaskRead)
_HEADERS = [(b"content-type", b"application/json")]
# A record's answer and its id when it waits for its officer; None: the app answers the request.
_Answer = tuple[bytes, uuid.UUID | None] | None


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

    async def _answer(self, ctx: AppContext, headers: Headers, body: bytes) -> _Answer:
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
            answer: _Answer = await ctx.task_batches.run((claims, draft), functools.partial(_store, ctx))
        except ServiceBusy:  # the route waits for a slot its own way and answers a crowd as documented
            return None
        return answer


async def _store(ctx: AppContext, batch: list[tuple[AccessClaims, TaskDraft]]) -> list[_Answer]:
    async with ctx.db_slots.hold():
        return await run_in_threadpool(_record_batch, ctx, batch)


def _alone(ctx: AppContext) -> bool:
    """Whether this path's statements may each commit alone: on PostgreSQL, with sessions of their own (a test's
    sessions share one transaction, rolled back at its end)."""
    bind = ctx.sessions_bind
    return isinstance(bind, Engine) and bind.dialect.name == "postgresql"


def _record_batch(ctx: AppContext, batch: list[tuple[AccessClaims, TaskDraft]]) -> list[_Answer]:
    """create_task and its dependencies for each record of the batch, on one thread and one session: each
    record's answer and its id when it waits for its officer, or None (nothing of it kept) for anything but a
    new record stored and committed."""
    session = ctx.sessions()
    try:
        if _alone(ctx):
            # Each statement its own transaction, no BEGIN and COMMIT round trips: the path reads (as in READ
            # COMMITTED, each statement sees what was committed before it) and then writes once, every record
            # with its leaf in one statement (``insert_logged_new``), so nothing half-written can be kept.
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            return _record_together(session, ctx, batch)
        answers = []
        for claims, draft in batch:  # one transaction, one commit; a record given up undoes only its savepoint
            savepoint = session.begin_nested() if len(batch) > 1 else None  # a batch of one: the transaction
            answer = _record(session, ctx, claims, draft)
            if savepoint is not None and savepoint.is_active:
                savepoint.rollback() if answer is None else savepoint.commit()
            answers.append(answer)
            session.expunge_all()  # the next record reads who asks afresh, as a request of its own would
        if any(answers):
            session.commit()  # else nothing is kept (finally)
        return answers
    except Exception:  # the app does them again and answers as documented, errors included
        return [None] * len(batch)
    finally:
        if session.in_transaction():
            session.rollback()
        session.close()


def _record_together(session: Session, ctx: AppContext, batch: list[tuple[AccessClaims, TaskDraft]]
                     ) -> list[_Answer]:
    """The batch in two statements: who asks for every record, then every record the rules admit with its
    leaf. Nothing is written before the second, which stores all or nothing; a record stored already is left
    to the app, which answers it as a retry."""
    logins = {(claims.sub, claims.family) for claims, _ in batch if claims.family is not None}
    contexts = field_contexts_of_logins(session, logins, limits=ctx.field_limits)
    admitted: list[tuple[int, FieldContext, dict[str, Any]]] = []
    for i, (claims, draft) in enumerate(batch):
        if claims.family is None or (fc := contexts.get((claims.sub, claims.family))) is None:
            continue  # a token from before logins were kept, or no longer who may record: the route answers
        try:
            admitted.append((i, fc, admitted_task_values(session, fc, draft)))
        except DomainError:  # refused: the route refuses it as documented (or finds it stored)
            continue
    answers: list[_Answer] = [None] * len(batch)
    if admitted:
        stored = insert_logged_new(session, [(values, fc.user.id) for _, fc, values in admitted], model=Task,
                                   action="task.recorded")
        for (i, fc, _), row in zip(admitted, stored, strict=True):
            answers[i] = None if row is None else _answer_of(fc, row)
    return answers


def _answer_of(fc: FieldContext, recorded: dict[str, Any]) -> tuple[bytes, uuid.UUID | None]:
    read = new_task_read(recorded, AuxiliaryRef(id=fc.aux.id, name=fc.aux.name, badge_no=fc.aux.badge_no))
    return _ANSWER.dump_json(read), recorded["id"] if recorded["status"] == TaskStatus.PENDING_COSIGN else None


def _record(session: Session, ctx: AppContext, claims: AccessClaims, draft: TaskDraft) -> _Answer:
    """One record of ``_record_batch`` in a transaction: None when anything but a new record was stored."""
    if claims.family is None:  # a token from before logins were kept: the route reads who asks its own way
        return None
    try:
        fc = field_context_of_login(session, claims.sub, claims.family, limits=ctx.field_limits)
        if fc is None:
            return None
        session.info["actor_id"] = fc.user.id
        recorded, created = record_new_task(session, fc, draft)
        if not created or not isinstance(recorded, dict):
            return None
        return _answer_of(fc, recorded)
    except Exception:  # the app does it again and answers as documented, errors included
        return None
