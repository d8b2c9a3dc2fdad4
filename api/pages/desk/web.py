"""What every page of the desk shares: the caller (a live desk login, else the login page), the CSRF check of
every form, templates, refusals shown as the Measures word them, and the headers of a page nobody should cache,
frame or load anything from another origin into."""

from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import SessionDep
from api.domain.base import BEIJING
from api.domain.errors import DomainError
from api.domain.models import Agency, Role, User
from api.pages.desk import session as cookies
from api.pages.desk import words

TEMPLATES = Path(__file__).with_name("templates")
CSP = ("default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
ROLE_ZH = {Role.AGENCY_ADMIN: "机关管理员", Role.JUSTICE_ADMIN: "司法行政部门"}
T = TypeVar("T")


def beijing(value: datetime | None) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return f"{aware.astimezone(BEIJING):%Y-%m-%d %H:%M}"


def beijing_day(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(BEIJING).date().isoformat()
    return value.isoformat()


ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters["bj"] = beijing
ENV.filters["bjday"] = beijing_day
ENV.globals.update(words.GLOBALS)
ENV.globals.update(RECORD_FLAGS=words.RECORD_FLAGS, PREFERENCES=words.PREFERENCES,
                   INDEPENDENT_DUTIES=words.INDEPENDENT_DUTIES, EDUCATION_OPTIONS=words.EDUCATION_OPTIONS,
                   HIRE_METHOD_OPTIONS=words.HIRE_METHOD_OPTIONS, TRAINING_OPTIONS=words.TRAINING_OPTIONS,
                   ACTION_OPTIONS=words.ACTION_OPTIONS)
# href, label, section, justice bureau only, agencies only
ENV.globals["NAV"] = (
    ("/desk/", "工作台", "home", False, False),
    ("/desk/staff", "辅助人员", "staff", False, False),
    ("/desk/hire", "聘用", "hire", False, True),
    ("/desk/complaints", "投诉办理", "complaints", False, False),
    ("/desk/cases", "第十九条事件", "cases", False, False),
    ("/desk/rectification", "整改通知", "rectification", False, False),
    ("/desk/alerts", "失效证件告警", "alerts", False, False),
    ("/desk/dashboard", "使用情况统计", "dashboard", False, False),
    ("/desk/roster", "名册下载", "roster", False, False),
    ("/desk/log", "日志状态", "log", False, False),
)


class LoginRequired(Exception):
    """No live desk login: to the login page, then back."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


class CsrfRefused(Exception):
    """A form without this login's token: refused before anything runs."""


@dataclass(frozen=True)
class Caller:
    user: User
    agency: Agency | None
    csrf: str

    @property
    def justice(self) -> bool:
        return self.user.role == Role.JUSTICE_ADMIN

    @property
    def role_zh(self) -> str:
        return ROLE_ZH.get(self.user.role, self.user.role)


def desk_caller(request: Request, session: SessionDep) -> Caller:
    user = cookies.session_user(request, session)
    if user is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(back if request.method == "GET" else "/desk/")
    session.info["actor_id"] = user.id
    agency = session.get(Agency, user.agency_id) if user.agency_id else None
    caller = Caller(user=user, agency=agency, csrf=cookies.form_token(request))
    request.state.desk_caller = caller  # for the page of a refusal that ends the request
    return caller


CallerDep = Annotated[Caller, Depends(desk_caller)]


@dataclass(frozen=True)
class Posted:
    """A form posted by a live login with its CSRF token."""

    caller: Caller
    form: FormData

    def text(self, name: str) -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def texts(self, name: str) -> list[str]:
        return [v for v in self.form.getlist(name) if isinstance(v, str)]


async def posted_form(request: Request, caller: CallerDep) -> Posted:
    form = await request.form()
    if not cookies.form_token_ok(request, form.get(cookies.CSRF_FIELD)):
        raise CsrfRefused()
    return Posted(caller, form)


PostedDep = Annotated[Posted, Depends(posted_form)]


def render(template: str, *, caller: Caller | None, status: int = 200, **values: Any) -> HTMLResponse:
    values.setdefault("section", "")
    # "caller" means something else to Jinja2's macros: the templates call the caller "me".
    html = ENV.get_template(template).render(me=caller, **values)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def refusal(exc: DomainError) -> str:
    """A refusal as the desk shows it: the article first, where a rule of the Measures is the reason."""
    return f"{exc.article}：{exc.detail_zh}" if exc.article else exc.detail_zh


def attempt(session: Session, action: Callable[[], T]) -> tuple[T | None, DomainError | None]:
    """Run a domain function in a savepoint: done, or refused with nothing of it kept."""
    try:
        with session.begin_nested():
            return action(), None
    except DomainError as exc:
        return None, exc


_MESSAGES = {
    "missing": "此项必填",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "too_short": "至少选择一项",
    "too_long": "选择过多",
    "date_from_datetime_parsing": "请按“年-月-日”填写日期，如 2026-03-01",
    "date_parsing": "请按“年-月-日”填写日期，如 2026-03-01",
    "date_type": "请按“年-月-日”填写日期，如 2026-03-01",
    "literal_error": "请选择列表中的一项",
    "enum": "请选择列表中的一项",
    "string_pattern_mismatch": "只能使用字母、数字和 _ . @ -",
    "float_parsing": "请填写数字",
    "greater_than": "须大于 0",
    "less_than_equal": "数值过大",
    "uuid_parsing": "请选择列表中的一项",
}


def field_errors(exc: ValidationError, *, dotted: Collection[str] = ()) -> dict[str, str]:
    """Pydantic's complaints about a form, in Chinese, by form field (the first per field); a nested field is
    named ``outer.inner`` when it is one of ``dotted``."""
    found: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if not isinstance(p, int)]
        pair = ".".join(loc[:2])
        field = pair if pair in dotted else (loc[0] if loc else "_")
        message = "此项必填" if err.get("input") in ("", None) else _MESSAGES.get(str(err.get("type", "")), "")
        if not message:
            message = "格式不正确" + (f"：{err.get('msg', '')}" if field == "zones" else "")
        found.setdefault(field, message)
    return found


class DeskRoute(APIRoute):
    """A desk page: a refusal that ends it (not found, not yours) is a page in Chinese with the API's status,
    no login is the login page, a form without its token is refused with nothing done."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return see_other("/desk/login?next=" + quote(exc.back, safe="/"))
            except CsrfRefused:
                return render("error.html", caller=getattr(request.state, "desk_caller", None), status=403,
                              title="表单已失效",
                              message="表单已失效或来源不明，未做任何更改。请返回上一页，刷新后重新提交。")
            except DomainError as exc:
                title = {404: "未找到", 403: "无权操作"}.get(exc.status, "无法办理")
                return render("error.html", caller=getattr(request.state, "desk_caller", None), status=exc.status,
                              title=title, message=refusal(exc))

        return page
