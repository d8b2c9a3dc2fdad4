"""What the service tells the people who run it: one JSON log line per request, Prometheus figures at
``/metrics``, and a request id on every answer.

Nothing a client sent is logged or labelled as it came: a path is logged and counted as its route template
(``/v/{token}``, never the badge token), and neither bodies, query strings nor headers are logged, so no
password, phone number, 居民身份证号码, access code or ``Authorization`` header can reach a log line or a label.
uvicorn's own access line, which carries the raw path, is dropped in favour of ours.

The figures are this worker's own (one registry per app): request counts and latency by route template and
status class, the database slots (api/capacity.py), the connection pool, and the photo decoder pool.
"""

import itertools
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy.pool import QueuePool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import client_address, scope_client
from api.event_loop import BUCKETS as LAG_BUCKETS
from api.settings import Settings

REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
"""An incoming ``X-Request-ID`` kept as it is: short (no signed badge token fits in 64 characters) and plain."""
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Keys whose value is never written, whoever logs them (a last line behind logging no bodies at all).
SECRET_KEYS = frozenset({"password", "old_password", "new_password", "access_code", "x-access-code", "authorization",
                         "contact_phone", "phone", "token", "access_token", "refresh_token", "id_number"})
LOGGERS = ("auxduty", "verification")


# --- logs ------------------------------------------------------------------------------------------------

def _redact(_logger: Any, _name: str, event: structlog.typing.EventDict) -> structlog.typing.EventDict:
    for key in [k for k in event if k.lower() in SECRET_KEYS]:
        event[key] = "[redacted]"
    return event


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """stderr as it is when the line is written (a test's capture, or the process's own)."""

    auxduty = True

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _StderrLines:
    """The end of structlog's own chain: a line to stderr as it is when the line is written."""

    def msg(self, message: str) -> None:
        sys.stderr.write(message + "\n")

    info = error = msg


class _JsonRequestLines:
    """Request lines in the JSON format, written straight: the same fields structlog's chain would give them
    (the request's bound context, ``level``, an ISO ``timestamp`` in UTC, secret keys redacted), at a fifth of
    its cost, which on a remembered badge check was a third of the whole request."""

    def _line(self, level: str, event: str, fields: dict[str, Any]) -> None:
        line = {"logger": "auxduty.request", **fields, "event": event, **structlog.contextvars.get_contextvars(),
                "level": level, "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
        _redact(None, "", line)
        sys.stderr.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")

    def info(self, event: str, **fields: Any) -> None:
        self._line("info", event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._line("error", event, fields)


# Request lines are written past the logging module (below), but its level for them holds: a deployment that
# raises ``auxduty.request`` to WARNING, or a bench that calls ``logging.disable``, gets none.
_REQUEST_LOGGER = logging.getLogger("auxduty.request")
# Request lines take structlog's own chain for a person's console, not the logging module's (a record, a copy
# of it, a handler's lock), and no chain at all in JSON (``_JsonRequestLines``).
_request_lines: Any = _JsonRequestLines()


class _NoRawAccessLines(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return False  # uvicorn's access line names the raw path (badge tokens); ours names the template


def configure_logging(log_format: str) -> None:
    """Lines of the ``auxduty`` and ``verification`` loggers to stderr through structlog: JSON, or console
    lines for a person (``auto``: console on a terminal). Safe to call again; the last call's format holds."""
    console = log_format == "console" or (log_format == "auto" and sys.stderr.isatty())
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()) if console
        else structlog.processors.JSONRenderer(ensure_ascii=False))
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _redact,
            *([] if console else [structlog.processors.format_exc_info]),
            renderer,
        ],
    )
    global _request_lines
    _request_lines = structlog.wrap_logger(
        _StderrLines(), wrapper_class=structlog.make_filtering_bound_logger(logging.INFO), processors=[
            structlog.contextvars.merge_contextvars, structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True), _redact, renderer,
        ]).bind(logger="auxduty.request") if console else _JsonRequestLines()
    for name in LOGGERS:
        logger = logging.getLogger(name)
        handler = next((h for h in logger.handlers if getattr(h, "auxduty", False)), None)
        if handler is None:
            handler = _Stderr()
            logger.addHandler(handler)
        handler.setFormatter(formatter)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoRawAccessLines) for f in access.filters):
        access.addFilter(_NoRawAccessLines())


# --- figures ---------------------------------------------------------------------------------------------

def decoder_pool_state() -> dict[str, float] | None:
    """This process's photo decoder pool (verification/decoder_pool.py): its size, live and busy workers,
    callers waiting for one, photos done and workers lost; None before its first photo.

    The pool has no public reading of its slots yet, so this reads its attributes as they are and gives None,
    never an error, when any is missing. Once the pool offers one, read that here instead.
    """
    try:
        from verification import decoder_pool as module

        pool: Any = module._pool
        free = int(pool._slots._value)
        size = int(pool.size)
        return {
            "size": size,
            "live": len(pool.worker_pids()),
            "busy": size - free,
            "waiting": len(pool._slots._cond._waiters),
            "photos": int(pool.stats.images),
            "lost": int(pool.stats.lost),
        }
    except (ImportError, AttributeError, TypeError, ValueError):
        return None


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class _ServiceGauges:
    """Read at each scrape: the database slots and pool of the app, its dead-badge scans waiting to be kept, and
    the decoder pool of the process."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        ctx = getattr(self.app.state, "ctx", None)
        if ctx is not None:
            slots = ctx.db_slots
            yield _gauge("auxduty_db_slots", "database slots (api/capacity.py)", slots.size)
            yield _gauge("auxduty_db_slots_in_use", "requests holding a database slot", slots.in_use)
            yield _gauge("auxduty_db_slots_waiting", "requests waiting for a database slot", slots.waiting)
            pool = ctx.engine.pool
            if isinstance(pool, QueuePool):
                yield _gauge("auxduty_db_pool_size", "connections the pool keeps", pool.size())
                yield _gauge("auxduty_db_pool_checked_out", "connections in use", pool.checkedout())
                yield _gauge("auxduty_db_pool_overflow", "connections open beyond the pool size",
                             max(0, pool.overflow()))
            counts = CounterMetricFamily("auxduty_badge_answers", "remembered badge answers: looks that found one "
                                         "(hit), none (absent) or a stale one (expired); answers read from the "
                                         "database and kept (stored) or not, touched meanwhile (refused); answers "
                                         "forgotten by a change (forgotten), all at once (forgotten_all)",
                                         labels=["outcome"])
            for outcome, n in ctx.badge_cache.counts.items():
                counts.add_metric([outcome], n)
            yield counts
            alerts = ctx.scan_alerts
            yield _gauge("auxduty_scan_alerts_waiting", "dead-badge scans waiting to be kept (api/scan_alerts.py)",
                         alerts.waiting)
            yield CounterMetricFamily("auxduty_scan_alerts_kept", "dead-badge scans kept as alerts", value=alerts.kept)
            yield CounterMetricFamily("auxduty_scan_alerts_lost", "dead-badge scans not kept (database errors, "
                                                                  "too many waiting)", value=alerts.lost)
        decoder = decoder_pool_state()
        if decoder is not None:
            yield _gauge("auxduty_decoder_workers_max", "photo decoder workers at most", decoder["size"])
            yield _gauge("auxduty_decoder_workers", "photo decoder workers alive", decoder["live"])
            yield _gauge("auxduty_decoder_busy", "photo decoder workers decoding now", decoder["busy"])
            yield _gauge("auxduty_decoder_waiting", "photos waiting for a decoder worker", decoder["waiting"])
            yield CounterMetricFamily("auxduty_decoder_photos", "photos decoded by this pool", value=decoder["photos"])
            yield CounterMetricFamily("auxduty_decoder_lost", "decoder workers lost (crash, timeout)",
                                      value=decoder["lost"])


class Metrics:
    """The registry of one app (tests build many apps in one process; each has its own)."""

    def __init__(self, app: FastAPI) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        labels = ("method", "route", "status")
        self.requests = Counter("auxduty_http_requests", "requests answered, by route template and status class",
                                labels, registry=self.registry)
        self.latency = Histogram("auxduty_http_request_duration_seconds", "time to answer, by route template",
                                 labels, registry=self.registry)
        self.in_progress = Gauge("auxduty_http_requests_in_progress", "requests being answered now",
                                 registry=self.registry)
        self.loop_lag = Histogram("auxduty_event_loop_lag_seconds", "how late the event loop ran a timer due "
                                  "every 0.1 s (api/event_loop.py): a delay every request met", buckets=LAG_BUCKETS,
                                  registry=self.registry)
        self.registry.register(_ServiceGauges(app))
        ProcessCollector(registry=self.registry)


# --- the request -----------------------------------------------------------------------------------------

class _Templates:
    """The route template of a request. FastAPI marks its routes' requests with the route; plain routes
    (``/openapi.json``) and mounts (the docs' static files) are found by their endpoint."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._by_endpoint: dict[int, str] | None = None

    def of(self, scope: Scope) -> str:
        path = getattr(scope.get("route"), "path", None)
        if isinstance(path, str):
            return path
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        if self._by_endpoint is None:
            found: dict[int, str] = {}
            for route in self.app.routes:
                path = getattr(route, "path", None)
                if not isinstance(path, str):
                    continue
                if getattr(route, "endpoint", None) is not None:
                    found[id(route.endpoint)] = path  # type: ignore[attr-defined]
                elif getattr(route, "app", None) is not None:
                    found[id(route.app)] = path.rstrip("/") + "/{path}"  # type: ignore[attr-defined]
            self._by_endpoint = found
        return self._by_endpoint.get(id(endpoint), UNMATCHED)


class _RequestIds:
    """New request ids: 32 hex digits, a random half for the process and a count, as unique as a UUID4's
    within a deployment and without a trip to the kernel for every request. Renewed in a forked child."""

    def __init__(self) -> None:
        self.renew()
        os.register_at_fork(after_in_child=self.renew)

    def renew(self) -> None:
        self.prefix = os.urandom(8).hex()
        self.count = itertools.count(int.from_bytes(os.urandom(4)))

    def __call__(self) -> str:
        return f"{self.prefix}{next(self.count) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


_new_request_id = _RequestIds()


def _header(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


class ObserveRequests:
    """ASGI middleware (plain, so the hot badge check pays microseconds): the request id, one sample and one
    log line per request. The id is the caller's sane ``X-Request-ID`` or a new one, echoed in the answer
    and bound to every log line written while the request is answered."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, templates: _Templates, settings: Settings) -> None:
        self.app = app
        self.metrics = metrics
        self.templates = templates
        self.trusted = settings.trusted_proxies
        # The counter and histogram series of (method, route template, status // 100), made on first use.
        self._samples: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        request_id = given[0] if given and REQUEST_ID.fullmatch(given[0]) else _new_request_id()
        status = 500
        start = time.perf_counter()
        answered: float | None = None  # when the answer's last byte went to the server

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", ()), (b"x-request-id", request_id.encode())]}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = time.perf_counter()

        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        self.metrics.in_progress.inc()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.in_progress.dec()
            # The time to answer, as the client met it: work after the answer (a dead badge's scan kept as an
            # alert, a background task) is not in it.
            self._finished(scope, status, (answered or time.perf_counter()) - start)
            structlog.contextvars.reset_contextvars(**tokens)

    def _finished(self, scope: Scope, status: int, seconds: float) -> None:
        route = self.templates.of(scope)
        method = scope["method"] if scope["method"] in METHODS else "other"
        key = (method, route, status // 100)
        samples = self._samples.get(key)
        if samples is None:  # a few dozen routes, methods and classes: each pair of series looked up once
            status_class = f"{status // 100}xx"
            samples = self._samples[key] = (self.metrics.requests.labels(method, route, status_class),
                                            self.metrics.latency.labels(method, route, status_class))
        samples[0].inc()
        samples[1].observe(seconds)
        level, line = (logging.ERROR, _request_lines.error) if status >= 500 else (logging.INFO, _request_lines.info)
        if not _REQUEST_LOGGER.isEnabledFor(level):  # as logging's level or ``logging.disable`` says
            return
        line("request", method=method, route=route, status=status, duration_ms=round(seconds * 1000, 2),
             client=scope_client(scope, self.trusted))


# --- /metrics --------------------------------------------------------------------------------------------

router = APIRouter()


def may_scrape(request: Request, settings: Settings) -> bool:
    """Whether this client is one of ``AUXDUTY_METRICS_ALLOW``. A request that came through a proxy the
    service was not told to trust (it carries forwarding headers the service did not believe) never is: to
    that proxy's clients the service would otherwise seem to be scraped from the proxy's own address."""
    if not settings.metrics_allow:
        return False
    peer = request.client.host if request.client else None
    forwarded = request.headers.getlist("x-forwarded-for")
    client = client_address(peer, forwarded, settings.trusted_proxies)
    if (forwarded or "forwarded" in request.headers) and client == (peer or "unknown"):
        return False
    try:
        address = ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allow)


@router.get("/metrics", include_in_schema=False)
async def export_metrics(request: Request) -> Response:
    """This worker's figures in the Prometheus text format, for the addresses of ``AUXDUTY_METRICS_ALLOW``;
    anyone else is told there is nothing here."""
    if not may_scrape(request, request.app.state.ctx.settings):
        raise StarletteHTTPException(404)
    encode, content_type = choose_encoder(request.headers.get("accept", ""))
    metrics: Metrics = request.app.state.metrics
    return Response(encode(metrics.registry), media_type=content_type)


def install(app: FastAPI) -> None:
    """Logging, the request middleware and ``/metrics`` (call after ``app.state.ctx`` is set)."""
    settings: Settings = app.state.ctx.settings
    configure_logging(settings.log_format)
    metrics = Metrics(app)
    app.state.metrics = metrics
    app.add_middleware(ObserveRequests, metrics=metrics, templates=_Templates(app), settings=settings)
    app.include_router(router)



def current_request_id() -> str | None:
    """The id of the request being served (the ``X-Request-ID`` of its logs), or None outside one."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None
