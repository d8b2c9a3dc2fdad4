"""The one place that turns refusals into RFC 9457 problem+json: ``code`` always, ``article`` where a
rule of the Measures is the reason, ``detail`` in Simplified Chinese unless the client asks for English."""

import logging
from typing import Any

import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.domain.base import RULES_VERSION
from api.domain.errors import DomainError
from api.uploads import UploadTooLarge

PROBLEM = "application/problem+json"
log = logging.getLogger("auxduty")

HTTP_CODES = {
    400: ("bad_request", "请求格式错误", "malformed request"),
    401: ("unauthenticated", "需要登录", "authentication required"),
    403: ("forbidden", "无权执行此操作", "not allowed"),
    404: ("not_found", "资源不存在", "not found"),
    405: ("method_not_allowed", "不支持该请求方法", "method not allowed"),
    413: ("payload_too_large", "上传内容过大", "payload too large"),
    415: ("unsupported_media_type", "不支持的内容类型", "unsupported media type"),
    429: ("rate_limited", "请求过于频繁，请稍后再试", "too many requests; retry later"),
}


def wants_english(request: Request) -> bool:
    return request.headers.get("accept-language", "").lower().lstrip().startswith("en")


def problem(
    request: Request,
    status: int,
    code: str,
    detail_zh: str,
    detail_en: str,
    *,
    article: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    english = wants_english(request)
    body: dict[str, Any] = {
        "type": f"https://auxduty.example/problems/{code}",
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail_en if english else detail_zh,
        "code": code,
    }
    if article:
        # A refusal under a rule names the rule set it was judged by (第十条(三): records say by what rule).
        body["article"] = article
        body["rules_version"] = RULES_VERSION
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    extra = {k: str(v) if not isinstance(v, int | float | bool | list | dict) else v for k, v in exc.extra.items()}
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
    return problem(
        request, exc.status, exc.code, exc.detail_zh, exc.detail_en, article=exc.article, headers=headers, **extra
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")),
            "message": str(err.get("msg", "")),
            "type": str(err.get("type", "")),
        }
        for err in exc.errors()
    ]
    fields = ", ".join(e["field"] or "(body)" for e in errors)
    return problem(
        request, 422, "validation_error", f"请求字段有误：{fields}", f"invalid fields: {fields}", errors=errors
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, UploadTooLarge):
        return problem(request, 413, exc.code, exc.detail_zh, exc.detail_en, max_bytes=exc.max_bytes)
    code, zh, en = HTTP_CODES.get(exc.status_code, ("http_error", "请求无法处理", "request cannot be processed"))
    if isinstance(exc.detail, str) and exc.detail and exc.status_code not in HTTP_CODES:
        en = exc.detail
    return problem(request, exc.status_code, code, zh, en, headers=dict(exc.headers or {}))


async def _database_busy(request: Request, exc: Exception) -> JSONResponse:
    # Pool exhausted past its timeout, a lock wait given up, or the database not answering: the client
    # may retry; nothing of the request was kept (its transaction rolled back).
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem(request, 503, "database_unavailable", "数据库暂时不可用，请稍后重试",
                   "the database is unavailable; retry shortly", headers={"Retry-After": "2"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _database_busy)
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _database_busy)
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
