"""The desk's browser session: a cookie naming a desk login (``api.domain.organisation.desk_logins``), and the
CSRF token every form of the desk carries.

The cookie is HttpOnly, SameSite=Strict (no other site's link or form carries it), and Secure whenever the
browser reached the service over https: directly, or through a proxy of ``AUXDUTY_TRUSTED_PROXIES`` that says so
in ``X-Forwarded-Proto`` (nobody else's word for it is taken, as for ``X-Forwarded-For``).

A form's CSRF token is an HMAC of the login's token under a key of the service: the same for every form of one
login, unguessable without the cookie, checked on every POST before anything else runs. The login form, which
has no login yet, binds its token to a random cookie of its own instead (a signed double submit).
"""

import base64
import hashlib
import hmac
import secrets
from datetime import timedelta
from functools import lru_cache
from ipaddress import IPv6Address, ip_address

from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from api.context import AppContext
from api.domain.models import User
from api.domain.organisation.desk_logins import desk_login_user

COOKIE = "auxduty_desk"
LOGIN_COOKIE = "auxduty_desk_login"
CSRF_FIELD = "csrf_token"


@lru_cache(maxsize=4)
def desk_key(secret: str) -> bytes:
    """The desk's own key, derived from the service's secret (the same on every host)."""
    return hmac.new(secret.encode(), b"auxduty/desk/v1", hashlib.sha256).digest()


def _ctx(request: Request) -> AppContext:
    ctx: AppContext = request.app.state.ctx
    return ctx


def _key(request: Request) -> bytes:
    return desk_key(_ctx(request).access_secret)


def is_https(request: Request) -> bool:
    """Whether the browser reached the service over https (its own TLS, or a trusted proxy's word)."""
    if request.url.scheme == "https":
        return True
    trusted = _ctx(request).settings.trusted_proxies
    peer = request.client.host if request.client else None
    if not trusted or not peer:
        return False
    try:
        address = ip_address(peer)
    except ValueError:
        return False
    if isinstance(address, IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if not any(address in net for net in trusted):
        return False
    # The proxy nearest the service sets (or appends) the scheme it was reached by: the last value is its.
    values = [v.strip().lower() for line in request.headers.getlist("x-forwarded-proto") for v in line.split(",")]
    return bool(values) and values[-1] == "https"


def csrf_token(key: bytes, binding: str) -> str:
    mac = hmac.new(key, b"desk-csrf\n" + binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def csrf_matches(key: bytes, binding: str, sent: object) -> bool:
    return bool(binding) and isinstance(sent, str) and hmac.compare_digest(sent, csrf_token(key, binding))


def session_token(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


def session_user(request: Request, session: Session) -> User | None:
    """The admin whose live desk login the request's cookie names, or None."""
    token = session_token(request)
    return desk_login_user(session, token, key=_key(request)) if token else None


def form_token(request: Request) -> str:
    """The CSRF token of this request's login, for the forms of the page."""
    return csrf_token(_key(request), session_token(request))


def form_token_ok(request: Request, sent: object) -> bool:
    return csrf_matches(_key(request), session_token(request), sent)


def login_binding(request: Request) -> str:
    """The random value the login form's token is bound to: the browser's, or a new one (set by the page)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def login_form_token(request: Request, binding: str) -> str:
    return csrf_token(_key(request), "login\n" + binding)


def login_form_token_ok(request: Request, sent: object) -> bool:
    binding = request.cookies.get(LOGIN_COOKIE, "")
    return bool(binding) and csrf_matches(_key(request), "login\n" + binding, sent)


def _cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=is_https(request), httponly=True,
                        samesite="strict")


def set_login_binding(response: Response, request: Request, binding: str) -> None:
    _cookie(response, request, LOGIN_COOKIE, binding, max_age=3600)


def start_session(response: Response, request: Request, token: str, lifetime: timedelta) -> None:
    _cookie(response, request, COOKIE, token, max_age=int(lifetime.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE, path="/", secure=is_https(request), httponly=True, samesite="strict")


def end_session(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", secure=is_https(request), httponly=True, samesite="strict")
