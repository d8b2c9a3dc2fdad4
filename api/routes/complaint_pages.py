"""The no-script complaint form behind the badge page's button (第二十四条), and its receipt."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Path
from fastapi.responses import HTMLResponse

from api import ratelimit
from api.deps import ContextDep, SessionDep, rate_limited
from api.domain.base import BEIJING
from api.domain.complaints.intake import file_complaint
from api.domain.errors import DomainError
from api.pages.verify import COMPLAINT_CATEGORIES, render_complaint_form, render_complaint_receipt

router = APIRouter(tags=["public"])
Token = Annotated[str, Path(min_length=1, max_length=2048)]
PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _form(token: str, error: str | None = None, status: int = 200) -> HTMLResponse:
    html = render_complaint_form(action_url=f"/v/{token}/complaint", badge_no=None, token=token,
                                 categories=COMPLAINT_CATEGORIES, error=error)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


@router.get("/v/{token}/complaint", response_class=HTMLResponse, dependencies=[rate_limited(ratelimit.VERIFY)])
def read_complaint_form(token: Token) -> HTMLResponse:
    """The complaint form for the badge just scanned; no account, no script."""
    return _form(token)


@router.post("/v/{token}/complaint", response_class=HTMLResponse,
             dependencies=[rate_limited(ratelimit.COMPLAINT)])
def submit_complaint_form(
    ctx: ContextDep,
    session: SessionDep,
    token: Token,
    category: Annotated[str, Form(max_length=40)] = "",
    description: Annotated[str, Form(max_length=4000)] = "",
    occurred_at: Annotated[str, Form(max_length=40)] = "",
    location: Annotated[str, Form(max_length=200)] = "",
    contact_phone: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    """File the complaint; show the tracking number and access code, or the form again with what to fix."""
    if category not in dict(COMPLAINT_CATEGORIES):
        return _form(token, "请选择问题类型。", 422)
    if not description.strip():
        return _form(token, "请填写事情经过。", 422)
    # The phone's datetime-local field has no offset: it is Beijing time. Left empty, it means "just now".
    try:
        at = datetime.fromisoformat(occurred_at).replace(tzinfo=BEIJING) if occurred_at else datetime.now(BEIJING)
    except ValueError:
        return _form(token, "发生时间格式不正确。", 422)
    try:
        complaint, code = file_complaint(
            session, keyring=ctx.keyring, badge_no=None, token=token, category=category,
            description=description.strip(), occurred_at=at, location=location.strip() or None,
            lat=None, lon=None, contact_phone=contact_phone.strip() or None,
        )
    except DomainError as exc:
        return _form(token, exc.detail_zh, 422)
    html = render_complaint_receipt(tracking_no=complaint.tracking_no, access_code=code)
    return HTMLResponse(html, status_code=201, headers=PAGE_HEADERS)
