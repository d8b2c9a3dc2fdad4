"""The desk mounted on the app: its pages (none of them in the OpenAPI document: they are HTML for a browser,
not the API) and its stylesheet, served by the app itself."""

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, Response

from api.pages.desk import actions, complaints, dashboard, hire, home, login, oversight, records, staff

STATIC = Path(__file__).with_name("static")
assets = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def _css() -> bytes:
    return (STATIC / "desk.css").read_bytes()


@assets.get("/desk/static/desk.css")
def stylesheet() -> Response:
    return Response(_css(), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


def install(app: FastAPI) -> None:
    app.include_router(assets)
    for module in (login, home, staff, hire, actions, complaints, oversight, records, dashboard):
        app.include_router(module.router)
