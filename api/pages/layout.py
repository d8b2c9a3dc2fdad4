"""What every citizen page carries around its content: the trust signals and the one stylesheet.

A citizen deciding whether to trust a badge must also be able to trust the page: so each page names who runs
it (the issuing authority, ``AUXDUTY_ISSUER_NAME``), carries the footer a government site shows
(``AUXDUTY_SITE_CODE`` 政府网站标识码, ``AUXDUTY_ICP_NUMBER`` ICP备案号, each only when set), and a stripe that
keeps moving (CSS only; a slow fade under ``prefers-reduced-motion``), so a screenshot passed off as a live
page gives itself away. A large-text mode works without script: a link adds ``?size=large`` and a cookie
keeps it.

Pages are Jinja2 templates with autoescaping on; the stylesheet is inlined (one request on a poor network,
nothing from another origin) and takes its colours from ``palette.py``.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from api.domain.base import BEIJING
from api.pages.palette import COLOURS

TEMPLATES = Path(__file__).with_name("templates")
SIZE_PARAM = "size"
DEFAULT_ISSUER = "南京市司法局"


@dataclass(frozen=True)
class PageChrome:
    """The frame of a page: who runs the site, its footer codes, the text size, and the page's own address
    (path and query), from which the text-size link is made."""

    issuer: str = DEFAULT_ISSUER
    site_code: str | None = None
    icp_number: str | None = None
    large: bool = False
    here: str = "/"
    # The origin badge QR codes point at, shown so a citizen can tell our pages from a look-alike site.
    site: str = ""

    @property
    def size_href(self) -> str:
        """This page again in the other text size (a GET: a form's answer shows its form again)."""
        path, _, query = self.here.partition("?")
        params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != SIZE_PARAM]
        params.append((SIZE_PARAM, "normal" if self.large else "large"))
        return f"{path}?{urlencode(params)}"


def _beijing(at: datetime) -> datetime:
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).astimezone(BEIJING)


def beijing_time(at: datetime) -> str:
    """`at` as Beijing time, the way a citizen reads it; a naive value is taken as UTC, as stored."""
    local = _beijing(at)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M:%S}（北京时间）"


def beijing_day(at: datetime) -> str:
    """The Beijing date of `at`: 2026年11月26日."""
    local = _beijing(at)
    return f"{local.year}年{local.month}月{local.day}日"


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters["beijing"] = beijing_time
_env.filters["day"] = beijing_day


@lru_cache(maxsize=1)
def stylesheet() -> str:
    """The pages' CSS with the palette's colours filled in."""
    return _env.get_template("citizen.css").render(c=COLOURS)


def render(template: str, *, chrome: PageChrome | None, title: str, section: str, **values: Any) -> str:
    """A whole page from ``template`` (which extends base.html), with the frame and the stylesheet."""
    return _env.get_template(template).render(
        chrome=chrome or PageChrome(), title=title, section=section, css=Markup(stylesheet()), **values
    )


def render_body(body: Markup, *, chrome: PageChrome | None, title: str, section: str) -> str:
    """A whole page around ``body``, markup already escaped by its maker (verify.py builds its own)."""
    return render("base.html", chrome=chrome, title=title, section=section, body=body)
