"""Swagger UI at ``/docs`` and ReDoc at ``/redoc``, served from the package: no CDN, no Google fonts.

The scripts and styles are vendored from npm under ``api/static/docs/`` (swagger-ui-dist, redoc), each with
its licence; ``api/static/docs/README.md`` says which versions and how to refresh them.
"""

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static" / "docs"
PREFIX = "/static/docs"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"


def install(app: FastAPI) -> None:
    """Mount the vendored files and the two pages (the app is built with ``docs_url=None, redoc_url=None``)."""
    app.mount(PREFIX, StaticFiles(directory=STATIC), name="docs-static")
    title = f"{app.title} API"
    openapi_url = app.openapi_url or "/openapi.json"
    favicon = f"{PREFIX}/swagger-ui/favicon-32x32.png"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=title, oauth2_redirect_url=OAUTH2_REDIRECT,
            swagger_js_url=f"{PREFIX}/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui/swagger-ui.css", swagger_favicon_url=favicon,
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url, title=title, redoc_js_url=f"{PREFIX}/redoc/redoc.standalone.js",
            redoc_favicon_url=favicon, with_google_fonts=False,
        )
