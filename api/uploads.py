"""Uploads refused by size while they arrive, before any multipart parsing or spooling to disk."""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.types import Message

from api.settings import Settings

# What a multipart envelope may add around the file itself (boundaries, part headers).
MULTIPART_SLACK = 64 * 1024


class UploadTooLarge(HTTPException):
    """413 with a stable code. An HTTPException, because FastAPI passes those through body parsing."""

    def __init__(self, code: str, max_bytes: int, what_zh: str, what_en: str) -> None:
        super().__init__(413, f"{what_en} exceeds {max_bytes} bytes")
        self.code = code
        self.max_bytes = max_bytes
        self.detail_zh = f"{what_zh}不能超过 {max_bytes} 字节"
        self.detail_en = f"the {what_en} exceeds {max_bytes} bytes"


def limited_upload_route(
    limit_of: Callable[[Settings], int], code: str, what_zh: str, what_en: str,
    too_large: Callable[[Request, UploadTooLarge], Response] | None = None,
) -> type[APIRoute]:
    """A route class whose body may not exceed ``limit_of(settings)`` (plus the multipart envelope): refused
    by Content-Length at once, or, for a chunked body, the moment the bytes received pass the limit. The
    refusal is a 413 problem, or what ``too_large`` answers (a page says it in its own words)."""

    class LimitedUploadRoute(APIRoute):
        upload_code = code  # read by the OpenAPI document (api/openapi.py): its 413

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def limited(request: Request) -> Response:
                max_bytes = limit_of(request.app.state.ctx.settings)
                limit = max_bytes + MULTIPART_SLACK
                declared = request.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > limit:
                    refused = UploadTooLarge(code, max_bytes, what_zh, what_en)
                    if too_large is None:
                        raise refused
                    return too_large(request, refused)
                received = 0
                receive = request.receive

                async def counted() -> Message:
                    nonlocal received
                    message = await receive()
                    if message["type"] == "http.request":
                        received += len(message.get("body", b""))
                        if received > limit:
                            raise UploadTooLarge(code, max_bytes, what_zh, what_en)
                    return message

                try:
                    return await handler(Request(request.scope, counted))
                except UploadTooLarge as refused:
                    if too_large is None:
                        raise
                    return too_large(request, refused)

            return limited

    return LimitedUploadRoute
