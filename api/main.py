"""The ASGI application: ``api.main:app``. ``create_app`` builds one for given settings (tests use it)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import Engine

from api import docs, errors, health, observability, openapi
from api.capacity import SPARE_THREADS
from api.context import AppContext
from api.event_loop import watch_lag
from api.log_keeper import LogKeeper
from api.migrations import migrate as migrate_as_owner
from api.migrations import upgrade_to_head
from api.pages import phone_app
from api.pages.desk.site import install as install_desk
from api.routes import (
    accounts,
    agencies,
    alerts,
    audit,
    auth,
    auxiliaries,
    badges,
    citizen_pages,
    complaint_pages,
    complaints,
    fieldwork,
    me,
    new_tasks,
    privacy,
    public,
    push,
    rectification,
    reports,
    standing,
)
from api.settings import Settings, get_settings
from verification.decoder_pool import configure_decoder_pool, shutdown_decoder_pool, start_decoder_pool

# How long a stopping worker waits for its dead-badge scans to be written.
DRAIN_S = 5.0

DESCRIPTION = """
auxduty keeps the field work of Nanjing's law-enforcement auxiliary staff (行政执法辅助人员) within the
rules of 《南京市行政执法辅助人员管理办法》, and lets any citizen verify a badge.

Errors are `application/problem+json` with a stable `code` and, where a rule of the Measures is the
reason, the `article` (e.g. `第八条`). `detail` is Simplified Chinese unless `Accept-Language: en`.
Every code is listed below with its status and article (also as `info.x-error-codes`), and each operation
documents the statuses and codes it can answer, with an example of each. Any operation that reads the
database may answer 503 `service_busy` with `Retry-After` when every connection stays taken.

Images (badge cards, ID photos) and the badge PDF are `format: binary` strings under their own media types; a
generator that types only JSON and octet-streams (openapi-python-client) is told to read `image/jpeg`,
`image/png` and `application/pdf` as `application/octet-stream` and `image/svg+xml` as `text/plain` (its
`content_type_overrides`).
"""


def create_app(settings: Settings | None = None, *, engine: Engine | None = None, migrate: bool = True) -> FastAPI:
    settings = settings or get_settings()
    ctx = AppContext.build(settings, engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Every request holding a database slot must find a thread (api/capacity.py).
        threads = anyio.to_thread.current_default_thread_limiter()
        threads.total_tokens = max(threads.total_tokens, settings.db_slots + SPARE_THREADS)
        if migrate and (settings.migration_database_url or settings.db_service_role):
            migrate_as_owner(settings)
        elif migrate:
            upgrade_to_head(ctx.engine)
        if migrate:
            # Open the signing keys now: a host given another AUXDUTY_SECRET_KEY than the rest stops here,
            # with the reason, instead of failing its first badge.
            try:
                ctx.keyring.kids  # noqa: B018
                ctx.log.keys.verifier_keys()
            except BaseException:
                if ctx.key_engine is not None:
                    ctx.key_engine.dispose()
                raise
        configure_decoder_pool(workers=settings.decoder_workers, max_images=settings.decoder_max_images,
                               max_rss_mib=settings.decoder_max_rss_mib)
        if settings.decoder_prewarm:
            start_decoder_pool()
        if settings.demo:
            from api.demo import load_demo

            load_demo(ctx, quiet=True)
        if ctx.badge_bus is not None:
            ctx.badge_bus.start()
        keeper = LogKeeper(ctx) if LogKeeper.wanted(ctx) and engine is None else None
        if keeper:
            keeper.start()
        # Remembered badge answers read again before they run out (api/badge_cache.py); not where a test
        # gave the engine (its sessions share one connection with the test's own thread).
        fresh = asyncio.create_task(public.keep_answers_fresh(ctx)) if engine is None else None
        lag = asyncio.create_task(watch_lag(app.state.metrics.loop_lag))
        yield
        with contextlib.suppress(TimeoutError):  # dead-badge scans still waiting are written (api/scan_alerts.py)
            await asyncio.wait_for(ctx.scan_alerts.drain(), DRAIN_S)
        lag.cancel()
        if fresh:
            fresh.cancel()
        if keeper:
            keeper.stop()
        await ctx.limiter.aclose()
        ctx.push.close()
        shutdown_decoder_pool()
        if ctx.badge_bus is not None:
            ctx.badge_bus.stop()
        if ctx.key_engine is not None:
            ctx.key_engine.dispose()
        if engine is None:
            ctx.engine.dispose()

    app = FastAPI(
        telemetry=None if settings.otel else {"tracing": False, "metrics": False, "logs": False},
        title="auxduty",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=openapi.operation_id,
        # Served from the package by api/docs.py, not from a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "auth", "description": "Login and tokens"},
            {"name": "agencies", "description": "Agencies (行政执法机关) and their accounts"},
            {"name": "auxiliaries", "description": "Hiring, training, credentials, departure (第十一条–第二十七条)"},
            {"name": "standing", "description": "Assessments, terms of employment and their renewal, commendations "
                                                "and sanctions (第二十一条、第二十二条、第二十六条、第二十八条)"},
            {"name": "oversight", "description": "The justice bureau's checks (第二十九条、第三十条)"},
            {"name": "public", "description": "Badge verification for anyone, no account (第二十四条)"},
            {"name": "fieldwork", "description": "Shifts, tasks, co-signing, evidence, offline sync, the phone's duty "
                                                 "sheet and officers (第七条、第八条)"},
            {"name": "push", "description": "Web Push to the phones of officers when a record waits for their "
                                            "co-signature (RFC 8030, 8291, 8292)"},
            {"name": "complaints", "description": "Complaints from anyone, their handling by the agency, and "
                                                  "published case notices (第二十四条、第二十八条)"},
            {"name": "reports", "description": "The December roster filing (第十二条) and usage figures (第三十条)"},
            {"name": "alerts", "description": "Scans of suspended, revoked or superseded badges, for the agencies "
                                              "that answer for the person (第二十四条、第二十七条)"},
            {"name": "log", "description": "The transparency log: signed checkpoints, its key, inclusion and "
                                           "consistency proofs, for anyone (第十条(三))"},
            {"name": "operations", "description": "Liveness and readiness probes for whoever runs the service"},
        ],
    )
    app.state.ctx = ctx
    errors.install(app)
    openapi.install(app)
    docs.install(app)
    # Badge checks first: they are most of the traffic, and routes are matched in order.
    app.include_router(public.router)
    app.include_router(auth.router)
    app.include_router(agencies.router)
    app.include_router(accounts.router)
    app.include_router(auxiliaries.router)
    app.include_router(standing.router)
    app.include_router(badges.router)
    app.include_router(fieldwork.router)
    app.include_router(me.router)
    app.include_router(push.router)
    app.include_router(complaint_pages.router)
    app.include_router(citizen_pages.router)
    app.include_router(audit.router)
    app.include_router(audit.public)
    app.include_router(complaints.router)
    app.include_router(reports.router)
    app.include_router(alerts.router)
    app.include_router(rectification.router)
    app.include_router(privacy.router)
    app.include_router(phone_app.router)
    install_desk(app)  # the desk's HTML pages at /desk/ (api/pages/desk), outside the OpenAPI document
    # Remembered scans answered before routing; inside the request's id, figures and log line added next.
    app.add_middleware(public.RememberedScans)
    app.add_middleware(new_tasks.NewTasks)  # a phone's new task record, the write most often made, the same way
    # Probes and figures last: they are few requests, the badge checks many.
    observability.install(app)
    health.install(app)
    return app


def __getattr__(name: str) -> FastAPI:
    # `api.main:app` is built on first access, so importing this module has no side effects.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
