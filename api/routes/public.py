"""Public badge verification (第二十四条): no account, rate-limited, answers in Chinese.

A citizen reaches these from the badge's QR code (`/v/{token}`), a photo of the badge, or the number
printed on it. All three give the same answer, read from the credential as it stands at that moment.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import HTMLResponse, JSONResponse

from api.deps import ContextDep, SessionDep
from api.domain.errors import NotFound
from api.domain.verification import BadgeCheck, check_badge_no, check_token, valid_photo
from api.pages.verify import render_verify_page
from schemas.public import DutyRead, VerificationRead

router = APIRouter(tags=["public"])
OPEN_CORS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"}
# A token is ~300 characters; anything far longer is not ours and is refused before any work.
Token = Annotated[str, Path(min_length=1, max_length=2048)]
BadgeNo = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")]


def to_read(check: BadgeCheck) -> VerificationRead:
    aux = check.auxiliary
    shown = aux is not None and check.status != "invalid"
    return VerificationRead(
        status=check.status.value,  # type: ignore[arg-type]
        badge_no=aux.badge_no if shown and aux else None,
        name=aux.name if shown and aux else None,
        agency=check.agency.name if shown and check.agency else None,
        command_agency=check.command_agency.name if shown and check.command_agency else None,
        photo_url=f"/api/public/photos/{aux.badge_no}" if aux and check.status == "valid" else None,
        independent_duties=[DutyRead(code=d.code, name=d.name_zh) for d in check.independent],
        assisted_duties=[DutyRead(code=d.code, name=d.name_zh) for d in check.assisted],
        notice=check.notice,
        checked_at=datetime.now(UTC),
    )


def _json(read: VerificationRead, **extra: Any) -> JSONResponse:
    return JSONResponse({**read.model_dump(mode="json"), **extra}, headers=OPEN_CORS)


@router.get("/.well-known/jwks.json", tags=["public"])
def read_jwks(ctx: ContextDep) -> JSONResponse:
    """The public keys that sign badge tokens (EdDSA, by `kid`), so anyone can verify a badge offline."""
    return JSONResponse(ctx.keyring.jwks(), headers={"Access-Control-Allow-Origin": "*",
                                                      "Cache-Control": "public, max-age=300"})


@router.get("/api/public/verify/{token}", response_model=VerificationRead)
def verify_token(ctx: ContextDep, session: SessionDep, token: Token) -> JSONResponse:
    """Verify a badge token (the text after `/v/` in the QR code). Always 200; `status` says what it is."""
    return _json(to_read(check_token(session, ctx.keyring, token, channel="api")))


@router.get("/api/public/badges/{badge_no}", response_model=VerificationRead)
def verify_badge_no(session: SessionDep, badge_no: BadgeNo) -> JSONResponse:
    """Verify by the number printed on the badge; 404 `not_found` when no badge has that number."""
    check = check_badge_no(session, badge_no, channel="number")
    if check is None:
        raise NotFound("badge", "证件编号")
    return _json(to_read(check))


@router.get("/api/public/photos/{badge_no}", responses={200: {"content": {"image/jpeg": {}}}})
def read_public_photo(session: SessionDep, badge_no: BadgeNo) -> Response:
    """The ID photo behind a valid badge, for the citizen to compare faces. Nothing for any other status."""
    photo = valid_photo(session, badge_no)
    if photo is None:
        raise NotFound("photo", "照片")
    data, media_type = photo
    return Response(data, media_type=media_type, headers={"Cache-Control": "no-store"})


@router.get("/v/{token}", response_class=HTMLResponse, tags=["public"])
def read_verify_page(ctx: ContextDep, session: SessionDep, token: Token) -> HTMLResponse:
    """The page a phone camera opens from the badge QR: Simplified Chinese, no script, a status no one misreads."""
    read = to_read(check_token(session, ctx.keyring, token, channel="page"))
    html = render_verify_page(read, complain_url=f"/v/{token}/complaint")
    return HTMLResponse(html, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                                       "Content-Security-Policy": "default-src 'none'; img-src 'self'; "
                                       "style-src 'unsafe-inline'; form-action 'self'"})
