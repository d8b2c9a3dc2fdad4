"""The citizen pages (第二十四条): the landing page, verifying a badge by its number or a photo of it, and the
published case notices. Pages, not API: they are left out of the OpenAPI document, and answer the same as the
API endpoints whose domain functions they call (`/api/public/badges/{badge_no}`, `/api/public/verify-image`,
`/api/public/notices`), under the same rate limits, with refusals said in Chinese as pages.
"""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from api import ratelimit
from api.deps import ContextDep, SessionDep
from api.domain.complaints.handling import list_notices
from api.domain.errors import DomainError
from api.domain.staff.badge_status import BadgeCheck
from api.pages.citizen import (
    notice_views,
    render_landing,
    render_notices,
    render_number_form,
    render_photo_form,
)
from api.pages.verify import render_verify_page
from api.routes.page_kit import Chrome, html_page, over_limit, over_limit_now, upload_too_large_page
from api.routes.public import answer_for_number, check_photo, to_read
from api.uploads import limited_upload_route
from verification.photo import MAX_BYTES

router = APIRouter(tags=["public"], include_in_schema=False)
NOTICES_PER_PAGE = 20
# What to do when the photo could not be read, by the decoder's refusal code.
_RETAKE = "请重新拍摄：让二维码清晰、完整地出现在画面中。"
_PHOTO_ADVICE = {
    "unsupported_image_type": "只能识别 JPEG、PNG、WebP 或 HEIC 格式的照片，请用手机相机直接拍摄后上传。",
    "image_too_many_pixels": "照片像素过多。" + _RETAKE,
    "image_unreadable": "照片文件已损坏或不完整。" + _RETAKE,
    "decoder_unavailable": "识别服务暂时繁忙，请稍后再试；也可以改为输入证件编号核验。",
}


def _complain_url(check: BadgeCheck) -> str:
    return f"/complaint?{urlencode({'badge_no': check.badge_no})}" if check.badge_no else "/complaint"


@router.get("/", response_class=HTMLResponse)
async def read_landing_page(request: Request, ctx: ContextDep, chrome: Chrome) -> HTMLResponse:
    """The start page: scan the badge's QR code, or type its number, upload a photo, complain, follow a
    complaint, read the case notices."""
    if busy := await over_limit(request, ctx, ratelimit.VERIFY):
        return busy
    return html_page(request, render_landing(chrome))


@router.get("/check", response_class=HTMLResponse)
async def read_number_page(
    request: Request, ctx: ContextDep, chrome: Chrome, badge_no: Annotated[str, Query()] = ""
) -> HTMLResponse:
    """The badge-number form (a GET: the number is no secret); with `badge_no`, the verification answer,
    the same as `/api/public/badges/{badge_no}`, or a plain "not found" (404)."""
    typed = badge_no.strip()[:64]
    if not typed:
        return html_page(request, render_number_form(chrome))
    if busy := await over_limit(request, ctx, ratelimit.LOOKUP):
        return busy
    check = await answer_for_number(ctx, typed)
    if check is None:
        return html_page(request, render_number_form(chrome, typed=typed, missing=True), 404)
    html = render_verify_page(to_read(check), complain_url=_complain_url(check), chrome=chrome,
                              how=f"按证件编号 {check.badge_no} 查询")
    return html_page(request, html)


@router.get("/check/photo", response_class=HTMLResponse)
def read_photo_page(request: Request, chrome: Chrome) -> HTMLResponse:
    """The form to upload a photo of a badge."""
    return html_page(request, render_photo_form(chrome))


# The photo's size is refused while it arrives, as for the API, and said as a page.
_photos = APIRouter(route_class=limited_upload_route(lambda _: MAX_BYTES, "image_too_large", "照片", "photo",
                                                     too_large=upload_too_large_page),
                    tags=["public"], include_in_schema=False)


@_photos.post("/check/photo", response_class=HTMLResponse)
async def submit_photo_page(request: Request, ctx: ContextDep, chrome: Chrome) -> HTMLResponse:
    """Decode the uploaded photo as `POST /api/public/verify-image` does (the same function, the same limits);
    answer with the verification page, or say how to take the photo again (`no_qr_found`), or warn of a fake
    badge naming the host its QR code points at (`foreign_qr`)."""
    if busy := await over_limit(request, ctx, ratelimit.IMAGE):
        return busy
    async with request.form(max_files=1, max_fields=4) as form:
        image = form.get("image")
        if not isinstance(image, UploadFile) or not image.filename:
            html = render_photo_form(chrome, refusal="missing", problem="请先拍摄或选择一张证件照片，再点"
                                     "“上传并核验”。")
            return html_page(request, html, 422)
        try:
            _, check = await check_photo(ctx, image)
        except DomainError as refused:
            return _refused_photo(request, chrome, refused)
    html = render_verify_page(to_read(check), complain_url=_complain_url(check), chrome=chrome,
                              how="已识别照片中的二维码")
    return html_page(request, html)


def _refused_photo(request: Request, chrome: Chrome, refused: DomainError) -> HTMLResponse:
    status = refused.status
    if refused.code == "foreign_qr":
        host = str(refused.extra.get("decoded_host") or "")
        return html_page(request, render_photo_form(chrome, refusal="foreign_qr", host=host), status)
    if refused.code == "no_qr_found":
        return html_page(request, render_photo_form(chrome, refusal="no_qr_found"), status)
    problem = _PHOTO_ADVICE.get(refused.code, refused.detail_zh)
    return html_page(request, render_photo_form(chrome, refusal=refused.code, problem=problem), status)


router.include_router(_photos)


@router.get("/notices", response_class=HTMLResponse)
def read_notices_page(
    request: Request, ctx: ContextDep, session: SessionDep, chrome: Chrome,
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The published, anonymised case notices (违法违纪案例通报), newest first, as `/api/public/notices`."""
    if busy := over_limit_now(request, ctx, ratelimit.LOOKUP):
        return busy
    try:
        rows, next_cursor = list_notices(session, limit=NOTICES_PER_PAGE, cursor=cursor[:200] if cursor else None)
    except DomainError:  # a cursor that is not one we gave out: start from the newest
        cursor = None
        rows, next_cursor = list_notices(session, limit=NOTICES_PER_PAGE, cursor=None)
    next_href = f"/notices?{urlencode({'cursor': next_cursor})}" if next_cursor else None
    return html_page(request, render_notices(chrome, notice_views(rows), next_href=next_href,
                                             first_page=not cursor))
