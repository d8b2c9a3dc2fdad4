"""The phone app for auxiliary staff and officers, served at ``/app/`` by the service itself.

Plain ES modules, one stylesheet, a web app manifest and a service worker, with no build step and nothing
from another origin (intranets reach no CDN). The files are read once; their SHA-256 names the version the
service worker caches, so a deploy replaces every file at once on the phones and a phone never mixes two
versions. The icons are drawn with Pillow when first asked for, so no binary sits in the repository.
"""

import hashlib
import io
import json
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Response
from fastapi.responses import RedirectResponse
from PIL import Image, ImageDraw

from api.domain.duties import DUTIES, FORBIDDEN_WORK

ROOT = Path(__file__).resolve().parents[1] / "static" / "app"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8"}
# Everything the app loads comes from this origin; pictures may also be the phone's own (blob:, data:).
CSP = ("default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
       "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'self'")
HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": CSP,
           "Referrer-Policy": "same-origin"}
ICON_SIZES = (192, 512)
BLUE = (11, 61, 145)

router = APIRouter(include_in_schema=False)


def _catalogue() -> bytes:
    """The names of the duties of 第七条 and 第八条 and of the work 第十九条 forbids, for screens offline."""
    return json.dumps({
        "duties": {d.code: {"name": d.name_zh, "article": f"{d.article}{d.item}", "assisted": d.assisted,
                            "requires": d.requires} for d in DUTIES},
        "forbidden": {f.flag: {"name": f.name_zh, "article": f"第十九条{f.item}"} for f in FORBIDDEN_WORK},
    }, ensure_ascii=False, sort_keys=True).encode()


def _manifest() -> bytes:
    return json.dumps({
        "name": "执法辅助人员执勤", "short_name": "辅助执勤", "lang": "zh-CN", "dir": "ltr",
        "description": "签到签退、记录工作、拍照取证、会签；离线可用，联网后自动发送。",
        "id": "/app/", "start_url": "/app/", "scope": "/app/", "display": "standalone",
        "orientation": "portrait", "background_color": "#f1f3f6", "theme_color": "#0b3d91",
        "icons": [
            *({"src": f"/app/icons/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png", "purpose": "any"}
              for n in ICON_SIZES),
            {"src": "/app/icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }, ensure_ascii=False).encode()


@lru_cache(maxsize=4)
def icon(size: int, maskable: bool = False) -> bytes:
    """A shield with a tick, white on the app's blue; a maskable icon keeps it inside the central 80 %."""
    img = Image.new("RGB", (size, size), BLUE) if maskable else Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    if not maskable:
        draw.rounded_rectangle((0, 0, size - 1, size - 1), radius=size // 5, fill=BLUE)
    s = size * (0.55 if maskable else 0.7)
    x0, y0 = (size - s) / 2, (size - s * 1.1) / 2
    shield = [(x0, y0 + s * 0.12), (x0 + s / 2, y0), (x0 + s, y0 + s * 0.12), (x0 + s, y0 + s * 0.55),
              (x0 + s / 2, y0 + s * 1.1), (x0, y0 + s * 0.55)]
    draw.polygon(shield, fill=(255, 255, 255))
    tick = [(x0 + s * 0.25, y0 + s * 0.52), (x0 + s * 0.44, y0 + s * 0.72), (x0 + s * 0.78, y0 + s * 0.3)]
    draw.line(tick, fill=BLUE, width=max(3, int(s * 0.1)), joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


class Shell:
    """The app's files, read once, and the version that names them together."""

    def __init__(self, root: Path = ROOT) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root).as_posix()
            if path.is_file() and path.suffix in TYPES and rel != "sw.js":
                self.files[f"/app/{rel}"] = (path.read_bytes(), TYPES[path.suffix])
        self.files["/app/manifest.webmanifest"] = (_manifest(), "application/manifest+json")
        self.files["/app/catalogue.json"] = (_catalogue(), "application/json")
        for n in ICON_SIZES:
            self.files[f"/app/icons/icon-{n}.png"] = (icon(n), "image/png")
        self.files["/app/icons/maskable-512.png"] = (icon(512, maskable=True), "image/png")
        digest = hashlib.sha256()
        for name, (body, _) in sorted(self.files.items()):
            digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
        self.version = digest.hexdigest()[:16]
        # The shell is cached under /app/ itself, the address a phone opens.
        assets = ["/app/", *sorted(n for n in self.files if n != "/app/index.html")]
        template = (root / "sw.js").read_text(encoding="utf-8")
        self.worker = template.replace("__VERSION__", self.version).replace("__ASSETS__", json.dumps(assets)).encode()

    def sizes(self) -> dict[str, int]:
        """Bytes of each kind of file the phone downloads once (the README quotes them)."""
        out: dict[str, int] = {"sw.js": len(self.worker)}
        for name, (body, _) in self.files.items():
            out[name] = len(body)
        return out


@lru_cache(maxsize=1)
def shell() -> Shell:
    return Shell()


def _file(name: str) -> Response:
    try:
        body, media = shell().files[name]
    except KeyError:
        raise HTTPException(status_code=404) from None
    return Response(body, media_type=media, headers=HEADERS)


@router.get("/app")
def app_root() -> RedirectResponse:
    return RedirectResponse("/app/", status_code=308)


@router.get("/app/")
def app_shell() -> Response:
    return _file("/app/index.html")


@router.get("/app/sw.js")
def service_worker() -> Response:
    # Scoped to /app/; never cached by HTTP, so a phone learns of a new version at its next start.
    return Response(shell().worker, media_type="text/javascript; charset=utf-8",
                    headers={**HEADERS, "Service-Worker-Allowed": "/app/"})


@router.get("/app/{kind}/{name}")
def app_nested(kind: str, name: str) -> Response:
    return _file(f"/app/{kind}/{name}")


@router.get("/app/{name}")
def app_file(name: str) -> Response:
    return _file(f"/app/{name}")
