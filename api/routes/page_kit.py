"""What the citizen pages' routes share: the page frame from the settings and the request (text size), the
headers every page carries, and refusals (too many requests, an upload too large) said as a page, in Chinese,
rather than as the API's problem+json."""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from api.context import AppContext
from api.deps import check_rate_limit, request_client
from api.pages.citizen import render_message, render_photo_form
from api.pages.layout import SIZE_PARAM, PageChrome
from api.ratelimit import RateLimited, Rule
from api.uploads import UploadTooLarge

SIZE_COOKIE = "auxduty_text_size"
# No script anywhere, nothing from another origin, no framing (a form inside someone else's page).
CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "Content-Security-Policy": CSP,
                "X-Content-Type-Options": "nosniff"}


def _asked_size(request: Request) -> str | None:
    asked = request.query_params.get(SIZE_PARAM)
    return asked if asked in ("large", "normal") else None


def page_chrome(request: Request) -> PageChrome:
    """The frame of this request's page: the settings' trust signals, and the text size asked for now
    (``?size=``) or kept from before (the cookie)."""
    settings = request.app.state.ctx.settings
    asked = _asked_size(request)
    large = asked == "large" if asked else request.cookies.get(SIZE_COOKIE) == "large"
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    base = urlsplit(settings.public_base_url)
    return PageChrome(issuer=settings.issuer_name, site_code=settings.site_code, icp_number=settings.icp_number,
                      large=large, here=here, site=f"{base.scheme}://{base.netloc}")


Chrome = Annotated[PageChrome, Depends(page_chrome)]


def html_page(request: Request, html: str, status: int = 200, headers: dict[str, str] | None = None
              ) -> HTMLResponse:
    """A page with the headers every citizen page carries; keeps a text size just asked for in a cookie."""
    response = HTMLResponse(html, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})
    asked = _asked_size(request)
    if asked == "large":
        response.set_cookie(SIZE_COOKIE, "large", max_age=365 * 86400, path="/", samesite="lax",
                            secure=request.url.scheme == "https")
    elif asked == "normal":
        response.delete_cookie(SIZE_COOKIE, path="/", samesite="lax", secure=request.url.scheme == "https")
    return response


def busy_page(request: Request, retry_after: int) -> HTMLResponse:
    html = render_message(page_chrome(request), title="请稍后再试", section="提示", heading="请求过于频繁",
                          lead=f"为保障服务，每台设备的访问次数有限制。请 {retry_after} 秒后再试。",
                          detail="情况紧急请拨打 110；反映问题可拨打 12345。")
    return html_page(request, html, 429, {"Retry-After": str(retry_after)})


async def over_limit(request: Request, ctx: AppContext, rule: Rule) -> HTMLResponse | None:
    """Count this request against ``rule``, the API's own limit for the same work; past it, the page that
    says so (429 with Retry-After), else None."""
    try:
        await check_rate_limit(request, ctx, rule)
    except RateLimited as exc:
        return busy_page(request, exc.retry_after)
    return None


def over_limit_now(request: Request, ctx: AppContext, rule: Rule) -> HTMLResponse | None:
    """``over_limit`` for a page served on a worker thread (one that reads the database)."""
    try:
        ctx.limiter.check(rule, request_client(request))
    except RateLimited as exc:
        return busy_page(request, exc.retry_after)
    return None


def upload_too_large_page(request: Request, refused: UploadTooLarge) -> HTMLResponse:
    mb = refused.max_bytes // (1024 * 1024)
    html = render_photo_form(page_chrome(request), refusal="image_too_large",
                             problem=f"照片太大：不能超过 {mb} MB。请重新拍摄，或在手机相册中选择较小的照片。")
    return html_page(request, html, 413)
