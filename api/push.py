"""Web Push to officers' phones (RFC 8030 delivery, RFC 8291 encryption, RFC 8292 VAPID), off the request path.

When assisted records come to wait for an officer's co-signature, the route hands their ids to
``Pusher.announce_later``, which adds a background task. A background task runs only after a successful commit:
the request's session is a ``scope="function"`` dependency (api/deps.py), so it commits as soon as the endpoint
returns, before the response is sent; FastAPI then sends the response and only after the body runs
``response.background`` (``fastapi.routing.request_response``: the function scope's exit stack closes, then
``await response(...)``). A failed commit raises out of that exit stack and becomes an error response, which
carries no background task: nothing is announced for a record that was not kept.

``announce`` then reads who is to be told, on a database slot of its own (api/capacity.py) and in a short read,
and hands each message to a few threads of this module: no request waits on a push service, and no database
connection is held while one is waited on. Each send is bounded by ``AUXDUTY_PUSH_TIMEOUT_SECONDS`` (to connect,
and between bytes of the answer) and follows no redirect; its outcome is written in a short transaction of its
own: 404 or 410 deletes the subscription, anything else that is not 2xx counts in ``failures``. Nothing here
raises into a request: a failure is logged and dropped, a message that cannot be sent is lost (the officer's
queue, ``GET /api/tasks?status=pending_cosign``, stays the truth).
"""

import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from enum import StrEnum
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio.to_thread
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush  # type: ignore[import-untyped]
from starlette.background import BackgroundTasks

from api.db import READ_ONLY
from api.domain.base import utcnow
from api.domain.fieldwork.cosign_notices import Notice, cosign_pending_notices
from api.domain.organisation.push_subscriptions import publicly_routable, record_outcomes

if TYPE_CHECKING:
    from api.context import AppContext

log = logging.getLogger("auxduty.push")

TTL_SECONDS = 24 * 60 * 60
"""How long a push service keeps a message for a phone that is off (RFC 8030 §5.2)."""
TOPIC = "cosign-pending"
"""RFC 8030 §5.4: a newer message replaces one still waiting for the phone, which then learns only the latest
count."""
WORKERS = 4
MAX_BACKLOG = 2000
"""Messages waiting for a sender beyond this are dropped (and logged): a dead push service must not make the
process hoard them."""
VAPID_LIFETIME_S = 12 * 60 * 60


class Outcome(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"
    FAILED = "failed"


class UnsafeAddress(Exception):
    """The endpoint's name resolves to an address the service does not send to."""


def origin(endpoint: str) -> str:
    """The endpoint's origin, the VAPID ``aud`` (RFC 8292 §2): scheme, host and a port other than the default."""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    default = {"https": 443, "http": 80}.get(parts.scheme)
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port not in (None, default) else "")


class Pusher:
    def __init__(self, ctx: "AppContext") -> None:
        self.ctx = ctx
        settings = ctx.settings
        self.timeout = settings.push_timeout_seconds
        self.allowed = frozenset(settings.push_allowed_hosts)
        self.subject = settings.resolved_push_subject
        self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="auxduty-push")
        self._idle = threading.Condition()
        self._in_flight = 0

    def announce_later(self, background: BackgroundTasks, task_ids: Iterable[uuid.UUID]) -> None:
        """Tell the officers these records name, once the request has committed and answered (see above)."""
        ids = list(dict.fromkeys(task_ids))
        if ids:
            background.add_task(self.announce, ids)

    async def announce(self, task_ids: list[uuid.UUID]) -> None:
        try:
            async with self.ctx.db_slots.hold():
                prepared = await anyio.to_thread.run_sync(self._prepare, task_ids)
            if prepared is not None:
                self._submit(*prepared)
        except Exception:
            log.exception("web push: no co-signature notice sent for %d record(s)", len(task_ids))

    def _prepare(self, task_ids: list[uuid.UUID]) -> tuple[ec.EllipticCurvePrivateKey, list[Notice]] | None:
        with self.ctx.sessions() as session:
            session.connection(execution_options={READ_ONLY: True})
            notices = cosign_pending_notices(session, task_ids, now=utcnow())
            key = self.ctx.vapid.private_key(session) if notices else None
            session.commit()
        return (key, notices) if key is not None else None

    def _submit(self, key: ec.EllipticCurvePrivateKey, notices: list[Notice]) -> None:
        for notice in notices:
            with self._idle:
                if self._in_flight >= MAX_BACKLOG:
                    log.warning("web push: %d messages waiting; one dropped", self._in_flight)
                    continue
                self._in_flight += 1
            try:
                future = self._pool.submit(self._deliver, key, notice)
            except RuntimeError:  # shut down
                self._finished(None)
                continue
            future.add_done_callback(self._finished)

    def _finished(self, _: "Future[None] | None") -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Wait until every message handed over has been sent (or has failed) and its outcome written."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _deliver(self, key: ec.EllipticCurvePrivateKey, notice: Notice) -> None:
        try:
            outcome = self._send(key, notice)
            ids = [notice.subscription_id]
            with self.ctx.sessions() as session:
                record_outcomes(session, at=utcnow(), delivered=ids if outcome == Outcome.DELIVERED else [],
                                gone=ids if outcome == Outcome.GONE else [],
                                failed=ids if outcome == Outcome.FAILED else [])
                session.commit()
        except Exception:
            log.exception("web push: the outcome of a send was not recorded")

    def _send(self, key: ec.EllipticCurvePrivateKey, notice: Notice) -> Outcome:
        host = (urlsplit(notice.endpoint).hostname or "").lower()
        try:
            if host not in self.allowed:
                self._check_resolved(host, urlsplit(notice.endpoint).port or 443)
            with requests.Session() as http:
                http.max_redirects = 0  # a redirect is an error: never be led to another host
                webpush(
                    subscription_info={"endpoint": notice.endpoint,
                                       "keys": {"p256dh": notice.p256dh, "auth": notice.auth}},
                    data=json.dumps(notice.payload, ensure_ascii=False, separators=(",", ":")),
                    vapid_private_key=Vapid02(private_key=key),
                    vapid_claims=self._claims(notice.endpoint),
                    content_encoding="aes128gcm",
                    ttl=TTL_SECONDS,
                    headers={"Urgency": "high", "Topic": TOPIC},
                    timeout=self.timeout,
                    requests_session=http,
                )
        except WebPushException as exc:
            status = exc.status_code
            log.warning("web push: %s answered %s", host, status)
            return Outcome.GONE if status in (404, 410) else Outcome.FAILED
        except Exception as exc:
            log.warning("web push: sending to %s failed (%s)", host, type(exc).__name__)
            return Outcome.FAILED
        return Outcome.DELIVERED

    def _claims(self, endpoint: str) -> dict[str, Any]:
        return {"aud": origin(endpoint), "exp": int(time.time()) + VAPID_LIFETIME_S, "sub": self.subject}

    @staticmethod
    def _check_resolved(host: str, port: int) -> None:
        """The endpoint was refused at registration if it named a private host or address; a public name may
        still resolve to one (api/domain/organisation/push_subscriptions.py)."""
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
        if not addresses or not all(publicly_routable(ip_address(str(a).split("%")[0])) for a in addresses):
            raise UnsafeAddress(host)
