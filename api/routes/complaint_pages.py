"""The no-script complaint pages (第二十四条): the form (behind the badge page's button, or from the landing
page), its receipt, and following a complaint with its tracking number and access code.

Filing is post-redirect-get: the POST files the complaint and answers 303 to the receipt page, so reloading
the receipt never files it again. How the access code crosses the redirect without entering a URL is
explained in api/pages/receipt_cookie.py.
"""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from api import ratelimit
from api.context import AppContext
from api.deps import ContextDep, SessionDep
from api.domain.audit.receipts import filing_inclusion, filing_receipt
from api.domain.base import BEIJING
from api.domain.complaints.intake import ComplaintNotFound, file_complaint, track_complaint
from api.domain.errors import DomainError
from api.pages import receipt_cookie
from api.pages.citizen import ComplaintView, render_complaint_status, render_message, render_track_form
from api.pages.layout import PageChrome
from api.pages.verify import COMPLAINT_CATEGORIES, render_complaint_form, render_complaint_receipt
from api.routes.page_kit import PAGE_HEADERS, Chrome, html_page, over_limit_now

router = APIRouter(tags=["public"])
pages = APIRouter(tags=["public"], include_in_schema=False)
Token = Annotated[str, Path(min_length=1, max_length=2048)]
FORGET_URL = receipt_cookie.PATH + "/forget"
_FIELDS = ("category", "description", "occurred_at", "location", "contact_phone")


def _form(request: Request, chrome: PageChrome, action_url: str, *, token: str | None = None,
          badge_no: str | None = None, error: str | None = None, values: dict[str, str] | None = None,
          status: int = 200) -> HTMLResponse:
    html = render_complaint_form(action_url=action_url, badge_no=badge_no, token=token,
                                 categories=COMPLAINT_CATEGORIES, error=error, values=values,
                                 ask_badge_no=token is None, chrome=chrome)
    return html_page(request, html, status)


def _file(request: Request, ctx: AppContext, session: Session, chrome: PageChrome, *, action_url: str,
          token: str | None, badge_no: str | None, values: dict[str, str]) -> Response:
    """File the complaint and redirect to its receipt; or the form again, with what was typed and what to fix."""

    def again(error: str) -> HTMLResponse:
        return _form(request, chrome, action_url, token=token, badge_no=badge_no, error=error, values=values,
                     status=422)

    if busy := over_limit_now(request, ctx, ratelimit.COMPLAINT):
        return busy
    if values["category"] not in dict(COMPLAINT_CATEGORIES):
        return again("请选择问题类型。")
    if not values["description"].strip():
        return again("请填写事情经过。")
    # The phone's datetime-local field has no offset: it is Beijing time. Left empty, it means "just now".
    occurred_at = values["occurred_at"]
    try:
        at = datetime.fromisoformat(occurred_at).replace(tzinfo=BEIJING) if occurred_at else datetime.now(BEIJING)
    except ValueError:
        return again("发生时间格式不正确。")
    try:
        complaint, code = file_complaint(
            session, keyring=ctx.keyring, badge_no=badge_no or None, token=token, category=values["category"],
            description=values["description"].strip(), occurred_at=at, location=values["location"].strip() or None,
            lat=None, lon=None, contact_phone=values["contact_phone"].strip() or None,
        )
    except DomainError as exc:
        return again(exc.detail_zh)
    # Committed before this response leaves (SessionDep), so the receipt page finds the complaint.
    response = RedirectResponse(receipt_cookie.PATH, status_code=303, headers=PAGE_HEADERS)
    response.set_cookie(
        receipt_cookie.COOKIE, receipt_cookie.seal(ctx.access_secret, tracking_no=complaint.tracking_no,
                                                   access_code=code),
        max_age=receipt_cookie.LIFETIME, path=receipt_cookie.PATH, httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


Field = Annotated[str, Form()]


def _values(category: str, description: str, occurred_at: str, location: str, contact_phone: str
            ) -> dict[str, str]:
    # Cut rather than refused by the schema: a page shows its form again, it never answers JSON.
    limits = {"category": 40, "description": 4000, "occurred_at": 40, "location": 200, "contact_phone": 20}
    raw = dict(zip(_FIELDS, (category, description, occurred_at, location, contact_phone), strict=True))
    return {k: v[: limits[k]] for k, v in raw.items()}


@router.get("/v/{token}/complaint", response_class=HTMLResponse)
def read_complaint_form(request: Request, ctx: ContextDep, chrome: Chrome, token: Token) -> HTMLResponse:
    """The complaint form for the badge just scanned; no account, no script. Rate-limited as the badge page
    (429 `rate_limited`, said as a page)."""
    if busy := over_limit_now(request, ctx, ratelimit.VERIFY):
        return busy
    return _form(request, chrome, f"/v/{token}/complaint", token=token)


@router.post("/v/{token}/complaint", response_class=HTMLResponse,
             responses={303: {"description": "filed: to the receipt page, which shows the tracking number and "
                                             "access code (a reload files nothing)"}})
def submit_complaint_form(
    request: Request, ctx: ContextDep, session: SessionDep, chrome: Chrome, token: Token,
    category: Field = "", description: Field = "", occurred_at: Field = "", location: Field = "",
    contact_phone: Field = "",
) -> Response:
    """File the complaint about the badge scanned and redirect (303) to its receipt; or show the form again
    with what to fix. Rate-limited as `POST /api/public/complaints` (429 `rate_limited`, said as a page)."""
    return _file(request, ctx, session, chrome, action_url=f"/v/{token}/complaint", token=token, badge_no=None,
                 values=_values(category, description, occurred_at, location, contact_phone))


@pages.get("/complaint", response_class=HTMLResponse)
def read_open_complaint_form(
    request: Request, chrome: Chrome, badge_no: Annotated[str, Query()] = ""
) -> HTMLResponse:
    """The complaint form from the landing page or a badge found by number: the badge number is asked for
    (prefilled when known), and may be left empty (nobody showed one)."""
    return _form(request, chrome, "/complaint", badge_no=badge_no.strip()[:40] or None)


@pages.post("/complaint", response_class=HTMLResponse)
def submit_open_complaint_form(
    request: Request, ctx: ContextDep, session: SessionDep, chrome: Chrome, badge_no: Field = "",
    category: Field = "", description: Field = "", occurred_at: Field = "", location: Field = "",
    contact_phone: Field = "",
) -> Response:
    """File a complaint naming a badge by its number, or none; redirect (303) to its receipt."""
    values = _values(category, description, occurred_at, location, contact_phone)
    number = badge_no.strip()[:40]
    return _file(request, ctx, session, chrome, action_url="/complaint", token=None, badge_no=number or None,
                 values={**values, "badge_no": number})


def _receipt_gone(request: Request, chrome: PageChrome) -> HTMLResponse:
    html = render_message(
        chrome, title="回执已不在本设备上", section="投诉举报", heading="回执已不在本设备上",
        lead=f"为保护查询码，回执只在提交投诉后 {receipt_cookie.LIFETIME // 60} 分钟内、在提交投诉的设备上显示。",
        detail="您的投诉已经提交，不必重复提交。如已保存受理编号和查询码，可以随时查询处理进度。",
        link=("/track", "查询投诉进度"))
    return html_page(request, html, 404)


@pages.get(receipt_cookie.PATH, response_class=HTMLResponse)
def read_complaint_receipt(request: Request, ctx: ContextDep, session: SessionDep, chrome: Chrome) -> HTMLResponse:
    """The receipt of the complaint just filed from this device: tracking number, access code and log receipt,
    from the sealed cookie the filing set. Reloading shows it again and files nothing."""
    if busy := over_limit_now(request, ctx, ratelimit.VERIFY):
        return busy
    held = receipt_cookie.unseal(ctx.access_secret, request.cookies.get(receipt_cookie.COOKIE))
    if held is None:
        return _receipt_gone(request, chrome)
    tracking_no, code = held
    try:
        complaint = track_complaint(session, tracking_no=tracking_no, access_code=code)
    except ComplaintNotFound:
        return _receipt_gone(request, chrome)
    receipt = filing_receipt(session, complaint.id)
    html = render_complaint_receipt(
        tracking_no=complaint.tracking_no, access_code=code, leaf_hash=receipt.leaf_hash.hex() if receipt else None,
        log_index=receipt.log_index if receipt else None, forget_url=FORGET_URL, chrome=chrome)
    return html_page(request, html)


@pages.post(FORGET_URL)
def forget_complaint_receipt(request: Request) -> Response:
    """Take the receipt off this device (a shared phone), then on to the tracking page."""
    response = RedirectResponse("/track", status_code=303, headers=PAGE_HEADERS)
    response.delete_cookie(receipt_cookie.COOKIE, path=receipt_cookie.PATH, httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")
    return response


@pages.get("/track", response_class=HTMLResponse)
def read_track_form(request: Request, chrome: Chrome) -> HTMLResponse:
    """The form to follow a complaint: tracking number and access code, sent by POST (never in a URL)."""
    return html_page(request, render_track_form(chrome))


@pages.post("/track", response_class=HTMLResponse)
def submit_track_form(
    request: Request, ctx: ContextDep, session: SessionDep, chrome: Chrome, tracking_no: Field = "",
    access_code: Field = "",
) -> HTMLResponse:
    """A complaint as `GET /api/public/complaints/{no}` shows it, and its due date. An unknown number and a
    wrong code answer the same page (404); rate-limited as that endpoint."""
    if busy := over_limit_now(request, ctx, ratelimit.LOOKUP):
        return busy
    number = tracking_no.strip()[:40]
    try:
        complaint = track_complaint(session, tracking_no=number, access_code=access_code[:200])
    except ComplaintNotFound:
        return html_page(request, render_track_form(chrome, tracking_no=number, wrong=True), 404)
    receipt = filing_receipt(session, complaint.id)
    view = ComplaintView.of(complaint, receipt, filing_inclusion(session, receipt))
    return html_page(request, render_complaint_status(chrome, view))


router.include_router(pages)
