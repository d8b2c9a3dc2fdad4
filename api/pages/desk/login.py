"""Logging in to the desk and out of it: the API's password check (Argon2id) behind the API's lockout
(api/lockout.py: the same counters, so wrong passwords typed here and at /api/auth/token add up), for agency
and justice admins only."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.capacity import ServiceBusy
from api.deps import ContextDep, SessionDep, request_client
from api.domain.errors import Unauthenticated
from api.domain.models import Role
from api.domain.organisation.accounts import authenticate
from api.domain.organisation.desk_logins import DESK_ROLES, end_desk_login, open_desk_login
from api.lockout import LoginLocked, password_check
from api.pages.desk import session as cookies
from api.pages.desk.web import DeskRoute, PostedDep, render, see_other

router = APIRouter(prefix="/desk", route_class=DeskRoute, include_in_schema=False)
OTHER_ROLES = {Role.AUXILIARY: "辅助人员", Role.OFFICER: "执法人员"}


def safe_next(target: str) -> str:
    """Back to a page of the desk after logging in, never to another site."""
    if target.startswith("/desk/") and not target.startswith("//") and "\\" not in target and "\n" not in target:
        return target
    return "/desk/"


def _page(request: Request, *, status: int = 200, error: str = "", username: str = "", next_url: str = "/desk/",
          headers: dict[str, str] | None = None) -> HTMLResponse:
    binding = cookies.login_binding(request)
    response = render("login.html", caller=None, status=status, title="登录", section="",
                      token=cookies.login_form_token(request, binding), error=error, username=username,
                      next=safe_next(next_url))
    response.headers.update(headers or {})
    cookies.set_login_binding(response, request, binding)
    return response


@router.get("/login")
def login_page(request: Request, session: SessionDep, next: str = "/desk/") -> Response:
    if cookies.session_user(request, session) is not None:
        return see_other(safe_next(next))
    return _page(request, next_url=next)


def _storable(*texts: str) -> bool:
    try:
        return all("\x00" not in t and t.encode("utf-8") is not None for t in texts)
    except UnicodeEncodeError:
        return False


@router.post("/login")
def log_in(
    request: Request,
    ctx: ContextDep,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/desk/",
) -> Response:
    if not cookies.login_form_token_ok(request, csrf_token):
        return _page(request, status=403, error="登录页面已失效，请重新输入后登录（须允许本站使用 Cookie）。",
                     username=username[:64], next_url=next)
    username = username.strip()
    if not username or not password:
        return _page(request, status=422, error="请输入用户名和密码。", username=username[:64], next_url=next)
    if len(username) > 64 or len(password) > 200 or not _storable(username, password):
        return _page(request, status=422, error="用户名或密码格式不正确。", next_url=next)
    try:
        with password_check(ctx.login_guard, ctx.hash_slots, queue_seconds=ctx.settings.login_queue_seconds,
                            username=username, client=request_client(request), failure=Unauthenticated):
            user = authenticate(session, username, password, cost=ctx.hash_cost)
    except LoginLocked as exc:
        return _page(request, status=429, error=exc.detail_zh, username=username, next_url=next,
                     headers={"Retry-After": str(exc.retry_after)})
    except Unauthenticated as exc:
        return _page(request, status=401, error=exc.detail_zh, username=username, next_url=next)
    except ServiceBusy as exc:
        return _page(request, status=503, error=exc.detail_zh, username=username, next_url=next,
                     headers={"Retry-After": str(exc.retry_after)})
    if user.role not in DESK_ROLES:
        who = OTHER_ROLES.get(user.role, user.role)
        return _page(request, status=403, username=username, next_url=next,
                     error=f"此账号是{who}账号，不能登录工作台（工作台仅供机关管理员和司法行政部门使用）。"
                           f"{who}请使用手机应用。")
    lifetime = timedelta(hours=ctx.settings.desk_session_hours)
    token = open_desk_login(session, user=user, lifetime=lifetime, key=cookies.desk_key(ctx.access_secret))
    response = see_other(safe_next(next))
    cookies.start_session(response, request, token, lifetime)
    return response


@router.post("/logout")
def log_out(request: Request, ctx: ContextDep, session: SessionDep, posted: PostedDep) -> Response:
    end_desk_login(session, cookies.session_token(request), key=cookies.desk_key(ctx.access_secret))
    response = see_other("/desk/login")
    cookies.end_session(response, request)
    return response
