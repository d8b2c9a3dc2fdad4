"""The ``auxduty`` console script: serve, migrate, create-admin, demo, keys, log, audit verify, privacy."""

import argparse
import base64
import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from api.settings import Settings, get_settings

if TYPE_CHECKING:
    import asyncio

    from fastapi import FastAPI


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = get_settings()
    if "decoder_prewarm" not in settings.model_fields_set:  # a server warms its decoders unless told not to
        settings.decoder_prewarm = True
    if args.demo:
        settings.demo = True
    from api.main import create_app

    # The app reads X-Forwarded-For itself, from AUXDUTY_TRUSTED_PROXIES only: uvicorn must not believe it first.
    # The app writes its own request line (the route's template, never the raw path, which may be a badge's
    # token): uvicorn's access line is not even made (a log record per request, then thrown away).
    app = _frozen_after_startup(create_app(settings))
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, proxy_headers=False,
                access_log=False, http=_http_protocol(settings))
    return 0


def _http_protocol(settings: Settings) -> "type[asyncio.Protocol] | str":
    """uvicorn's httptools protocol writing once per turn of the loop (api/http_protocol.py), unless turned off
    or httptools is missing (then uvicorn picks its own)."""
    if not settings.http_one_write:
        return "auto"
    try:
        from api.http_protocol import OneWriteHttpToolsProtocol
    except ImportError:
        return "auto"
    return OneWriteHttpToolsProtocol


def _frozen_after_startup(app: "FastAPI") -> "FastAPI":
    """Once the app has started, what it loaded (modules, settings, caches, warmed decoders: a few hundred
    thousand objects that live as long as the process) is moved out of the garbage collector's sight
    (``gc.freeze``). Otherwise every full collection walks all of it again, a pause of a few hundred
    milliseconds that lands on whichever request happens to allocate then; a sync batch allocates a lot."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: "FastAPI") -> AsyncIterator[Any]:
        async with started(app) as state:
            gc.collect()
            gc.freeze()
            yield state

    app.router.lifespan_context = lifespan
    return app


def _cmd_migrate(_: argparse.Namespace) -> int:
    from api.migrations import migrate

    url = migrate(get_settings())
    print(f"database at head: {url}")
    return 0


def _cmd_db(args: argparse.Namespace) -> int:
    from api.db import make_engine
    from api.migrations import grant_service_role

    settings = get_settings()
    engine = make_engine(settings.migration_database_url or settings.resolved_database_url)
    for statement in grant_service_role(engine, args.role):
        print(statement)
    return 0


def _cmd_create_admin(args: argparse.Namespace) -> int:
    from api.context import AppContext
    from api.db import session_scope
    from api.domain.errors import DomainError
    from api.domain.models import Role
    from api.domain.organisation.accounts import create_user
    from api.migrations import upgrade_to_head

    ctx = AppContext.build(get_settings())
    upgrade_to_head(ctx.engine)
    try:
        with session_scope(ctx.sessions) as session:
            create_user(
                session,
                username=args.username,
                password=args.password,
                role=Role.JUSTICE_ADMIN,
                agency_id=None,
                name=args.name,
                cost=ctx.hash_cost,
            )
    except DomainError as exc:
        print(f"error: {exc.detail_en}", file=sys.stderr)
        return 1
    print(f"justice_admin {args.username!r} created")
    return 0


def _cmd_demo(_: argparse.Namespace) -> int:
    from api.context import AppContext
    from api.demo import load_demo
    from api.migrations import upgrade_to_head

    ctx = AppContext.build(get_settings())
    upgrade_to_head(ctx.engine)
    load_demo(ctx, quiet=False)
    return 0


def _log_key(entity: str, key_id: str, public_key: bytes, action: str) -> None:
    """A key rotation is a write like any other: it appends a leaf to the transparency log."""
    from api.context import AppContext
    from api.db import session_scope
    from api.domain.audit.log import record_key
    from api.migrations import upgrade_to_head

    ctx = AppContext.build(get_settings())
    upgrade_to_head(ctx.engine)
    with session_scope(ctx.sessions) as session:
        record_key(session, entity=entity, key_id=key_id, public_key=public_key, action=action)
    ctx.engine.dispose()


def _cmd_keys(args: argparse.Namespace) -> int:
    from api.context import AppContext
    from api.migrations import upgrade_to_head
    from verification.tokens import KeyRingError

    ctx = AppContext.build(get_settings())
    upgrade_to_head(ctx.engine)  # the keys may live in the database that every host shares
    ring = ctx.keyring
    try:
        if args.action == "rotate":
            kid = ring.rotate()
            public = ring.public_key(kid)
            assert public is not None
            _log_key("badge_keys", kid, public.public_bytes_raw(), "badge_key.rotated")
            print(f"new signing key: {kid} (older keys stay published for badges they signed)")
            return 0
    except KeyRingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for kid in ring.kids:
        print(kid, "(active)" if kid == ring.active_kid else "")
    return 0


def _cmd_log(args: argparse.Namespace) -> int:
    if args.action == "witness":
        from verification.witness import run

        return run(args.rest)
    from api.context import AppContext
    from api.log_keeper import checkpoint_now
    from api.migrations import upgrade_to_head

    ctx = AppContext.build(get_settings())
    if args.action == "rotate-key":
        from api.domain.audit.checkpoints import LogKeyError

        try:
            verifier = ctx.log.keys.rotate()
            _, key_hash, encoded = verifier.split("+", 2)
            _log_key("log_keys", key_hash, base64.b64decode(encoded)[1:], "log_key.rotated")
            print(f"new checkpoint key: {verifier} (older keys sign too until retired)")
        except LogKeyError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
    if args.action == "keys":
        print("\n".join(ctx.log.keys.verifier_keys()))
        return 0
    upgrade_to_head(ctx.engine)
    checkpoint = checkpoint_now(ctx)
    print(checkpoint.note, end="")
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    import json

    from api.context import AppContext
    from api.db import session_scope
    from api.domain.audit.check import verify_log

    ctx = AppContext.build(get_settings())
    with session_scope(ctx.sessions) as session:
        report = verify_log(session, ctx.log, evidence_dir=ctx.storage, full=args.full,
                            workers=args.workers)
    print(json.dumps({"ok": report.ok, "size": report.size, "root": report.root, "checks": report.checks,
                      "first_bad": report.first_bad, "mode": report.mode, "verified_from": report.verified_from},
                     ensure_ascii=False))
    return 0 if report.ok else 1


def _cmd_privacy(args: argparse.Namespace) -> int:
    from api.context import AppContext
    from api.log_keeper import erase_phones_now

    settings = get_settings()
    if args.days is not None:
        settings = settings.model_copy(update={"complainant_phone_days": args.days})
    ctx = AppContext.build(settings)
    erased = erase_phones_now(ctx)
    print(f"complainants' phone numbers erased: {erased} "
          f"(complaints decided more than {settings.complainant_phone_days} days ago)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="auxduty", description="auxduty: field duty and badge verification")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service (migrates first)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--demo", action="store_true", help="load demo data at start (as AUXDUTY_DEMO=1)")
    serve.set_defaults(func=_cmd_serve)
    sub.add_parser("migrate", help="bring the database to the newest schema").set_defaults(func=_cmd_migrate)
    admin = sub.add_parser("create-admin", help="create a justice_admin (司法行政部门) account")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--name", default="司法局管理员")
    admin.set_defaults(func=_cmd_create_admin)
    sub.add_parser("demo", help="load demo agencies, staff and tasks; print logins").set_defaults(func=_cmd_demo)
    keys = sub.add_parser("keys", help="badge signing keys")
    keys.add_argument("action", choices=["rotate", "list"])
    keys.set_defaults(func=_cmd_keys)
    log = sub.add_parser("log", help="the transparency log: checkpoint now, its keys, or witness a service",
                         description="checkpoint: integrate and sign now; rotate-key / keys: checkpoint keys; "
                                     "witness --url BASE --state FILE [--key KEY]: check a service from outside")
    log.add_argument("action", choices=["checkpoint", "rotate-key", "keys", "witness"])
    log.add_argument("rest", nargs=argparse.REMAINDER, help="for witness: --url BASE --state FILE [--key KEY]")
    log.set_defaults(func=_cmd_log)
    db = sub.add_parser("db", help="give the service's database role its rights (PostgreSQL, as the owner)")
    db.add_argument("action", choices=["grant"])
    db.add_argument("--role", required=True, help="the role AUXDUTY_DATABASE_URL connects as")
    db.set_defaults(func=_cmd_db)
    audit = sub.add_parser("audit", help="check that no record was altered, removed or slipped in")
    audit.add_argument("action", choices=["verify"])
    audit.add_argument("--full", action="store_true",
                       help="re-read every leaf from the first, not only those added since the last passing check")
    audit.add_argument("--workers", type=int, default=1,
                       help="processes that hash the logged rows of an incremental check (PostgreSQL)")
    audit.set_defaults(func=_cmd_audit)
    privacy = sub.add_parser("privacy", help="erase complainants' phone numbers whose time is up (第十条(一))")
    privacy.add_argument("action", choices=["erase-phones"])
    privacy.add_argument("--days", type=int, help="days after the decision (default AUXDUTY_COMPLAINANT_PHONE_DAYS)")
    privacy.set_defaults(func=_cmd_privacy)
    return parser


def main(argv: list[str] | None = None) -> int:
    from api.context import ConfigurationError
    from api.domain.errors import DomainError
    from api.keystore import SealError

    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except (ConfigurationError, SealError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:  # e.g. the evidence store does not answer: said as a sentence, not a traceback
        print(f"error: {exc.detail_en} ({exc.code})", file=sys.stderr)
        return 2
    return result


if __name__ == "__main__":
    raise SystemExit(main())
