"""Public badge verification (第二十四条): no account, rate-limited, answers in Chinese.

A citizen reaches these from the badge's QR code (`/v/{token}`, or `/B/{code}` for the compact form of
docs/compact-qr.md), a photo of the badge, or the number printed on it. All three give the same answer, read
from the credential as it stands at that moment.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as ReceivedFile
from starlette.types import ASGIApp, Receive, Scope, Send

from api import ratelimit
from api.badge_cache import Ticket, auxiliary_key, credential_key
from api.context import AppContext
from api.db import READ_ONLY
from api.deps import ContextDep, SessionDep, check_rate_limit, rate_limited, scope_client
from api.domain.errors import DomainError, NotFound
from api.domain.staff.badge_status import (
    BadgeCheck,
    DeadScan,
    check_badge_no,
    check_token,
    check_tokens,
    valid_photo,
)
from api.pages.verify import render_verify_page
from api.ratelimit import RateLimited
from api.routes.page_kit import Chrome, html_page, over_limit
from api.uploads import limited_upload_route
from schemas.public import DutyRead, VerificationRead
from verification.compact import code_of
from verification.photo import MAX_BYTES, PhotoRejected, decode_badge_photo

T = TypeVar("T")
router = APIRouter(tags=["public"])
_log = logging.getLogger("auxduty.badge_cache")
OPEN_CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
# A token is ~300 characters; anything far longer is not ours and is refused before any work.
MAX_TOKEN = 2048
Token = Annotated[str, Path(min_length=1, max_length=MAX_TOKEN)]
BadgeNo = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")]
COORDINATE = ("the phone's position, optional (send it rounded to 0.01° if you like); kept only for a dead "
              "badge, and then only to 0.01°")
Latitude = Annotated[float | None, Query(description=COORDINATE)]
Longitude = Annotated[float | None, Query(description=COORDINATE)]


def to_read(check: BadgeCheck) -> VerificationRead:
    valid = check.status == "valid"
    return VerificationRead(
        status=check.status.value,
        badge_no=check.badge_no,
        name=check.name,
        agency=check.agency,
        command_agency=check.command_agency,
        photo_url=f"/api/public/photos/{check.badge_no}" if valid and check.has_photo else None,
        independent_duties=[DutyRead(code=d.code, name=d.name_zh) for d in check.independent],
        assisted_duties=[DutyRead(code=d.code, name=d.name_zh) for d in check.assisted],
        notice=check.notice,
        checked_at=datetime.now(UTC),
    )


DEAD = ("suspended", "revoked", "superseded", "expired")


async def in_db_slot(ctx: AppContext, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn`` (which opens its own session) on a thread once a database slot is free (api/capacity.py)."""
    async with ctx.db_slots.hold():
        return await run_in_threadpool(fn, *args)


def _json(read: VerificationRead, **extra: Any) -> JSONResponse:
    return JSONResponse({**read.model_dump(mode="json"), **extra}, headers=OPEN_CORS)


@router.get("/.well-known/jwks.json", tags=["public"], dependencies=[rate_limited(ratelimit.VERIFY)])
def read_jwks(ctx: ContextDep) -> JSONResponse:
    """The public keys that sign badge tokens (EdDSA, by `kid`), so anyone can verify a badge offline."""
    return JSONResponse(ctx.keyring.jwks(), headers={"Access-Control-Allow-Origin": "*",
                                                      "Cache-Control": "public, max-age=300"})


_SENTINEL = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Answer:
    """A check and its JSON, split where the time of the check goes (the one part that changes)."""

    check: BadgeCheck
    json_head: bytes
    json_tail: bytes

    @classmethod
    def of(cls, check: BadgeCheck) -> "Answer":
        body = to_read(check).model_copy(update={"checked_at": _SENTINEL}).model_dump_json().encode()
        head, tail = body.split(b'"' + _SENTINEL.isoformat().replace("+00:00", "Z").encode() + b'"')
        return cls(check, head, tail)

    def json(self) -> bytes:
        now = datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
        return b"".join((self.json_head, b'"', now.encode(), b'"', self.json_tail))


def _check_fresh(ctx: AppContext, token: str) -> Answer:
    ticket = ctx.badge_cache.ticket()  # before the read: see api/badge_cache.py
    with ctx.reads() as conn:
        check = check_token(conn, ctx.keyring, token)
    answer = Answer.of(check)
    _remember(ctx, token, ticket, answer)
    return answer


def _remember(ctx: AppContext, token: str, ticket: Ticket, answer: Answer) -> bool:
    """Keep ``answer`` for ``token`` under what it was read from (api/badge_cache.py); an invalid token's
    answer is never kept. Whether it was."""
    check = answer.check
    if check.status == "invalid":
        return False
    return ctx.badge_cache.put(token, ticket, [credential_key(check.credential_id), auxiliary_key(check.auxiliary_id)],
                               answer, ttl=check.good_for)


# Remembered answers asked for again are read again this often, those that run out within READ_AHEAD_S.
READ_AGAIN_EVERY_S = 1.0
READ_AHEAD_S = 3.0
READ_AGAIN_MAX = 500  # answers a statement


def _read_again(ctx: AppContext, tokens: list[str]) -> int:
    """Read ``tokens``' answers again in one statement and remember them afresh; how many were kept."""
    ticket = ctx.badge_cache.ticket()  # before the read, as for a scan
    with ctx.reads() as conn:
        checks = check_tokens(conn, ctx.keyring, tokens)
    kept = sum(_remember(ctx, token, ticket, Answer.of(check)) for token, check in checks.items())
    ctx.badge_cache.counts["read_again"] += kept
    return kept


async def read_due_answers(ctx: AppContext) -> int:
    """Read again every remembered answer that is due (``BadgeCache.due``), up to ``READ_AGAIN_MAX`` at a time;
    how many were kept."""
    kept = 0
    while due := ctx.badge_cache.due(READ_AHEAD_S, READ_AGAIN_MAX):
        kept += await in_db_slot(ctx, _read_again, ctx, [token for token, _ in due])
        if len(due) < READ_AGAIN_MAX:
            break
    return kept


async def keep_answers_fresh(ctx: AppContext) -> None:
    """Every ``READ_AGAIN_EVERY_S``, the answers due are read again (api/badge_cache.py), until cancelled. A
    failed read (the database away) leaves them to run out, and scans read them one by one as before."""
    while True:
        await asyncio.sleep(READ_AGAIN_EVERY_S)
        try:
            await read_due_answers(ctx)
        except Exception as exc:
            _log.warning("remembered badge answers not read again (%s); they run out", type(exc).__name__)


async def answer_for_token(
    ctx: AppContext, token: str, channel: str, lat: float | None = None, lon: float | None = None,
    *, alert_now: bool = True
) -> Answer:
    """The answer for a token: from memory while nothing changed, else from the database. Scans of dead
    badges are kept as alerts every time, with the coarse place of ``lat``/``lon`` when the phone sent it; with
    ``alert_now=False`` the caller keeps it after answering (``alert_after``). ``token`` is a JWS (two dots) or a
    compact code, whose case does not matter."""
    token = token if "." in token else code_of(token)
    answer: Answer | None = ctx.badge_cache.get(token)
    if answer is None:
        answer = await in_db_slot(ctx, _check_fresh, ctx, token)
    if alert_now and answer.check.status in DEAD:
        await ctx.scan_alerts.keep(DeadScan(answer.check, channel, lat, lon))
    return answer


def alert_after(ctx: AppContext, check: BadgeCheck, channel: str, lat: float | None = None,
                lon: float | None = None) -> BackgroundTask | None:
    """The keeping of a dead badge's scan as an alert, to run once the answer has been sent: the citizen's
    answer never waits for a write (a crash in between loses that alert: api/scan_alerts.py). None for a live
    badge."""
    if check.status not in DEAD:
        return None
    return BackgroundTask(ctx.scan_alerts.keep, DeadScan(check, channel, lat, lon))


class _ScanRoute(APIRoute):
    """The route of the hottest public endpoint. A phone's scan (no query string, a token of sane length) is
    answered without FastAPI's parameter machinery, which costs more than a remembered answer; any other request
    (``lat``/``lon`` given, an over-long token) takes the declared path, so its validation and errors are those
    documented."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        declared = super().get_route_handler()

        async def handler(request: Request) -> Response:
            token = request.path_params.get("token", "")
            if not request.scope.get("query_string") and 0 < len(token) <= MAX_TOKEN:
                return await verify_token(request, token)
            return await declared(request)

        return handler


async def verify_token(request: Request, token: Token, lat: Latitude = None, lon: Longitude = None) -> Response:
    """Verify a badge token: the text after `/v/` in the QR code, or the compact code after `/B/` (any case;
    docs/compact-qr.md). Always 200; `status` says what it is (`invalid` for a bad signature or unknown key).

    `lat`/`lon` are optional: the phone's position, which may already be rounded. Only when the badge is
    dead (suspended, revoked, superseded) is anything kept, and then only its 0.01° cell (about 1 km), as an
    alert for the agency; the answer is the same with or without it."""
    # The hottest public endpoint: one trip to the thread pool, no per-request dependency chain.
    ctx: AppContext = request.app.state.ctx
    await check_rate_limit(request, ctx, ratelimit.VERIFY)
    answer = await answer_for_token(ctx, token, "api", alert_now=False)
    return Response(answer.json(), media_type="application/json", headers=OPEN_CORS,
                    background=alert_after(ctx, answer.check, "api", lat, lon))


router.add_api_route("/api/public/verify/{token}", verify_token, methods=["GET"], response_model=VerificationRead,
                     route_class_override=_ScanRoute)


_SCAN_PATH = "/api/public/verify/"
_SCAN_HEADERS = [(name.lower().encode(), value.encode()) for name, value in OPEN_CORS.items()]


class RememberedScans:
    """ASGI middleware, inside the request's id, figures and log line (api/observability.py) and in front of
    everything else: a phone's scan (``GET /api/public/verify/{token}``, no query string) whose answer is
    remembered is answered here, without Starlette's exception layers, routing and dependency machinery, which
    cost a remembered scan more than the rest of it. Everything else, and a scan whose answer must be read
    from the database or whose client is over the limit, goes on to the app, which answers it as documented
    (and counts an over-limit client once more: it stays over). The answer, its headers, the count against
    the limit and the alert kept for a dead badge are those of ``verify_token``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route = next(r for r in router.routes if getattr(r, "path", None) == _SCAN_PATH + "{token}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]
                and scope["path"].startswith(_SCAN_PATH)):
            token = scope["path"][len(_SCAN_PATH):]
            if 0 < len(token) <= MAX_TOKEN and "/" not in token and await self._answered(scope, send, token):
                return
        await self.app(scope, receive, send)

    async def _answered(self, scope: Scope, send: Send, token: str) -> bool:
        app = scope["app"]
        ctx: AppContext = app.state.ctx
        answer: Answer | None = ctx.badge_cache.get(token if "." in token else code_of(token))
        if answer is None:
            return False
        try:
            await ctx.limiter.check_async(ratelimit.VERIFY, scope_client(scope, ctx.settings.trusted_proxies))
        except RateLimited:
            return False
        scope["route"] = self._route  # the route template in the request's figures and log line
        body = answer.json()
        await send({"type": "http.response.start", "status": 200, "headers": [
            *_SCAN_HEADERS, (b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        if answer.check.status in DEAD:  # after the answer, as verify_token's background task does
            await ctx.scan_alerts.keep(DeadScan(answer.check, "api"))
        return True



def _check_number(ctx: AppContext, badge_no: str) -> BadgeCheck | None:
    with ctx.sessions() as session:
        session.connection(execution_options={READ_ONLY: True})
        check = check_badge_no(session, badge_no)
        session.commit()
    return check


async def answer_for_number(
    ctx: AppContext, badge_no: str, lat: float | None = None, lon: float | None = None
) -> BadgeCheck | None:
    """The check of the badge a citizen means by ``badge_no`` (look-alike letters forgiven), None when no
    badge has it; a dead badge's check is kept as an alert, as for a scan."""
    # The lookup and the count of a dead badge's scan are two short sessions, never two at once.
    check = await in_db_slot(ctx, _check_number, ctx, badge_no)
    if check is not None and check.status in DEAD:
        await ctx.scan_alerts.keep(DeadScan(check, "number", lat, lon))
    return check


@router.get("/api/public/badges/{badge_no}", response_model=VerificationRead,
            dependencies=[rate_limited(ratelimit.LOOKUP)])
async def verify_badge_no(
    ctx: ContextDep, badge_no: BadgeNo, lat: Latitude = None, lon: Longitude = None
) -> JSONResponse:
    """Verify by the number printed on the badge; 404 `not_found` when no badge has that number. Case and
    the look-alike letters O (for 0) and I or L (for 1), which no badge number holds, are forgiven. `lat`/`lon`
    as for `/api/public/verify/{token}`: only a dead badge's scan keeps their 0.01° cell."""
    check = await answer_for_number(ctx, badge_no, lat, lon)
    if check is None:
        raise NotFound("badge", "证件编号")
    return _json(to_read(check))


@router.get("/api/public/photos/{badge_no}", responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
            dependencies=[rate_limited(ratelimit.VERIFY)])
def read_public_photo(session: SessionDep, badge_no: BadgeNo) -> Response:
    """The ID photo behind a valid badge, for the citizen to compare faces. Nothing for any other status."""
    photo = valid_photo(session, badge_no)
    if photo is None:
        raise NotFound("photo", "照片")
    data, media_type = photo
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})


@router.get("/v/{token}", response_class=HTMLResponse, tags=["public"])
async def read_verify_page(request: Request, ctx: ContextDep, chrome: Chrome, token: Token) -> HTMLResponse:
    """The page a phone camera opens from the badge QR: Simplified Chinese, no script, a status no one misreads.
    Rate-limited as `/api/public/verify/{token}` (429 `rate_limited`, said as a page)."""
    if busy := await over_limit(request, ctx, ratelimit.VERIFY):
        return busy
    answer = await answer_for_token(ctx, token, "page", alert_now=False)
    shown = html_page(request, render_verify_page(to_read(answer.check), complain_url=f"/v/{token}/complaint",
                                                  chrome=chrome))
    shown.background = alert_after(ctx, answer.check, "page")
    return shown


@router.get("/b/{code}", response_class=HTMLResponse, tags=["public"])
@router.get("/B/{code}", response_class=HTMLResponse, include_in_schema=False)
async def read_compact_verify_page(request: Request, ctx: ContextDep, chrome: Chrome, code: Token) -> HTMLResponse:
    """The page a phone camera opens from a badge printed with the compact QR (`/B/{code}`, docs/compact-qr.md;
    the path in any case): the same page and rate limit as `/v/{token}`."""
    if busy := await over_limit(request, ctx, ratelimit.VERIFY):
        return busy
    code = code_of(code)
    answer = await answer_for_token(ctx, code, "page", alert_now=False)
    shown = html_page(request, render_verify_page(to_read(answer.check), complain_url=f"/v/{code}/complaint",
                                                  chrome=chrome))
    shown.background = alert_after(ctx, answer.check, "page")
    return shown


class _Refused(DomainError):
    def __init__(self, status: int, code: str, detail_zh: str, detail_en: str, **extra: object) -> None:
        super().__init__(code, detail_zh, detail_en, article=None, **extra)
        self.status = status


def badge_token_from(text: str, public_base_url: str) -> str:
    """The token of one of our badge URLs (`/v/{JWS}`, or `/B/{code}` in any case); anything else is a foreign
    QR (a warning sign of a fake badge)."""
    ours = urlsplit(public_base_url)
    host = ""
    try:
        got = urlsplit(text.strip())
        host = got.hostname or ""
    except ValueError:  # e.g. an unbalanced "[" in the host: not a URL of ours, whatever it is
        got = None
    if got and (got.scheme, got.netloc.lower()) == (ours.scheme, ours.netloc.lower()):
        for prefix in ("/v/", "/b/"):
            if got.path[: len(prefix)].lower() == prefix:
                token = got.path[len(prefix):]
                if token and "/" not in token:
                    return token
    raise _Refused(
        422, "foreign_qr",
        "此二维码不是本市行政执法辅助人员证件的核验码，证件可能是伪造的，请勿配合并拨打12345核实",
        "this QR code is not one of our badges: the badge may be fake",
        decoded_host=host, decoded_text=text[:500],
    )


# The photo's size is refused while it arrives, before multipart parsing spools it anywhere.
_photos = APIRouter(route_class=limited_upload_route(lambda _: MAX_BYTES, "image_too_large", "照片", "photo"))


@_photos.post("/api/public/verify-image", response_model=VerificationRead,
             dependencies=[rate_limited(ratelimit.IMAGE)],
             responses={413: {"description": "photo too large"}, 415: {"description": "not JPEG/PNG/WebP/HEIC"},
                        422: {"description": "no_qr_found, foreign_qr, unreadable or oversized image"},
                        503: {"description": "decoder busy or failed; retry"}})
async def verify_image(
    request: Request, ctx: ContextDep, image: Annotated[UploadFile, File()],
    lat: Annotated[float | None, Form(description=COORDINATE)] = None,
    lon: Annotated[float | None, Form(description=COORDINATE)] = None,
) -> JSONResponse:
    """Verify a photo of a badge: its QR code is read with Pillow and pyzbar in a bounded worker.
    Nothing of the photo (nor its EXIF location) is kept. Adds `decoded_text` to the usual answer. The
    optional form fields `lat`/`lon` are the phone's position: only a dead badge's scan keeps their 0.01°
    cell (about 1 km), as an alert for the agency."""
    text, check = await check_photo(ctx, image, lat, lon)
    return _json(to_read(check), decoded_text=text)


async def check_photo(
    ctx: AppContext, image: ReceivedFile, lat: float | None = None, lon: float | None = None
) -> tuple[str, BadgeCheck]:
    """The text of the QR code in a photo of a badge, and the check of that badge. Refused (a DomainError with
    its code) when the photo is refused, holds no QR code (`no_qr_found`), or a QR code that is not one of
    our badges (`foreign_qr`, with `decoded_host`)."""
    data = await image.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _Refused(413, "image_too_large", "照片过大", f"the photo exceeds {MAX_BYTES} bytes")
    try:
        text = await run_in_threadpool(decode_badge_photo, data)
    except PhotoRejected as exc:
        raise _Refused(exc.http_status, exc.code, exc.detail_zh, exc.detail_en) from None
    finally:
        del data
    if text is None:
        raise _Refused(422, "no_qr_found", "照片中未找到二维码，请对准证件上的二维码重新拍摄",
                       "no QR code found in the photo; photograph the badge's QR code again")
    token = badge_token_from(text, ctx.settings.public_base_url)
    return text, (await answer_for_token(ctx, token, "image", lat, lon)).check


router.include_router(_photos)
