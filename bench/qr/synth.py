"""Seeded synthetic badge photos, labelled like the sample set, to check the decoder on photos it was not tuned on.

    python -m bench.qr.synth --out DIR [--count N] [--seed S]
    python -m bench.qr.run --samples DIR

Each photo is a real printed badge (``verification.card.render_badge_card``: a random Chinese name, badge
number and Nanjing agency, and the production URL shape ``https://verify.example.gov.cn/v/<compact JWS>``)
lying on a desk or held in a hand, shot by a 12 MP phone (4032x3024 or 3000x4000). Like the sample set, a
few cards carry someone else's URL (``foreign``: the photo must read back that text, which the service then
refuses) and a few an emblem where the code would be (``negative``: nothing to read).

What varies, by difficulty (``DIFFICULTY``): how far away the card is (pixels per QR module), rotation (any
angle), perspective tilt, focus blur, camera shake, uneven light, a shadow across the card, dim exposure and
flat contrast, sensor noise, the phone's sharpening, specular glare, a finger over the code, JPEG quality, and
whether the pixels are stored sideways with an EXIF orientation tag. "hard" photos add one or two of the
labelled factors (``FACTORS``) at the strength that makes them hard. Easy photos may have a thumb on the card,
never over a finder pattern. Labels record every parameter, the code's corners in the upright photo and, for
occlusions, how much of the code is covered and whether a finder pattern is.

The output is deterministic for a given ``--seed`` and ``--count`` (and installed fonts/Pillow).
"""

import argparse
import base64
import io
import json
import math
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from verification.card import render_badge_card

PREFIX = "https://verify.example.gov.cn/v/"
COMPACT_PREFIX = "HTTPS://VERIFY.EXAMPLE.GOV.CN/B/"
SIZES = ((4032, 3024), (3000, 4000))
DIFFICULTIES = ("easy", "medium", "hard")
FACTORS = ("blur", "motion", "lowlight", "small", "glare", "occlusion", "tilt")
FOCAL = 3000.0
"""Focal length in pixels of a phone's main camera (26 mm equivalent on a 4032-pixel-wide sensor)."""

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉晨宇浩然思雨欣怡子涵梓轩一诺俊熙文博建国志红海燕"
_DISTRICTS = ("玄武", "秦淮", "建邺", "鼓楼", "浦口", "栖霞", "雨花台", "江宁", "六合", "溧水", "高淳")
_AGENCIES = (
    "南京市公安局{d}分局",
    "南京市公安局{d}分局交通巡逻警察大队",
    "南京市{d}区城市管理综合行政执法大队",
    "南京市{d}区市场监督管理局",
    "南京市交通运输综合行政执法监督局{d}大队",
    "南京市{d}区生态环境综合行政执法局",
    "南京市{d}区文化市场综合行政执法大队",
    "南京市{d}区应急管理综合行政执法大队",
)
_COMMANDS = ("南京市公安局", "南京市城市管理局", "南京市交通运输局", "南京市市场监督管理局")
_FOREIGN_HOSTS = (
    "https://verify-example-gov.cn.top/v/",
    "https://verify.examp1e.gov.cn.co/v/",
    "http://verify.example.gov.cn.check-id.xyz/v/",
    "https://verlfy.example.gov.cn/v/",
)


@dataclass(frozen=True)
class Profile:
    """Parameter ranges for one difficulty; a factor makes a hard photo hard in one specific way."""

    ppm: tuple[float, float]
    tilt: tuple[float, float]
    blur: tuple[float, float]
    motion_p: float
    motion: tuple[float, float]
    grad: tuple[float, float]
    shadow_p: float
    contrast: tuple[float, float]
    exposure: tuple[float, float]
    noise: tuple[float, float]
    quality: tuple[int, int]
    thumb_p: float
    factors: tuple[int, int]


DIFFICULTY = {
    "easy": Profile(
        ppm=(4.5, 12.0), tilt=(0, 15), blur=(0.1, 0.8), motion_p=0.0, motion=(0, 0), grad=(0.0, 0.2),
        shadow_p=0.0, contrast=(0.85, 1.0), exposure=(0.92, 1.08), noise=(0.3, 1.2), quality=(82, 92),
        thumb_p=0.3, factors=(0, 0),
    ),
    "medium": Profile(
        ppm=(3.2, 7.5), tilt=(5, 25), blur=(0.3, 1.4), motion_p=0.3, motion=(2, 7), grad=(0.1, 0.4),
        shadow_p=0.35, contrast=(0.6, 0.9), exposure=(0.8, 1.15), noise=(0.6, 2.2), quality=(74, 90),
        thumb_p=0.3, factors=(0, 0),
    ),
    "hard": Profile(
        ppm=(2.8, 7.5), tilt=(5, 25), blur=(0.4, 1.5), motion_p=0.2, motion=(2, 6), grad=(0.1, 0.4),
        shadow_p=0.4, contrast=(0.6, 0.85), exposure=(0.75, 1.15), noise=(0.9, 2.2), quality=(70, 80),
        thumb_p=0.2, factors=(1, 2),
    ),
}

_KIND_WEIGHTS = {"positive": 0.8, "foreign": 0.1, "negative": 0.1}
_SKIN = ((224, 172, 150), (205, 150, 120), (232, 190, 165), (180, 125, 95))
_FloatArray = npt.NDArray[np.float64]


# --- what the card says ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def badge_token(rng: random.Random) -> str:
    """A compact JWS shaped like the service's (EdDSA header with kid and typ, four claims, 64-byte sig)."""
    header = {"alg": "EdDSA", "kid": f"k{rng.randint(2025, 2028)}-{rng.randint(1, 12):02d}", "typ": "badge"}
    claims = {
        "aud": "auxduty:badge",
        "sub": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "ver": rng.randint(1, 4),
        "iat": rng.randint(1_767_225_600, 1_830_000_000),
    }
    parts = [json.dumps(part, separators=(",", ":"), sort_keys=True).encode() for part in (header, claims)]
    return ".".join([*map(_b64, parts), _b64(rng.randbytes(64))])


def compact_text(jws_url: str) -> str:
    """The compact-form URL of the same badge (docs/compact-qr.md): 87 payload bytes shaped like the service's
    (format 1, key hash, credential id, issue number, 64-byte signature), drawn from ``jws_url`` so a pair of
    cards can differ in the form alone."""
    rng = random.Random(jws_url)
    payload = bytes([1]) + rng.randbytes(20) + rng.randint(1, 4).to_bytes(2, "big") + rng.randbytes(64)
    return COMPACT_PREFIX + base64.b32encode(payload).decode().rstrip("=")


def foreign_text(rng: random.Random) -> str:
    """Someone else's code: a look-alike host with a badge-shaped token, or an ordinary promo link."""
    if rng.random() < 0.7:
        return rng.choice(_FOREIGN_HOSTS) + badge_token(rng)
    code = _b64(rng.randbytes(rng.randint(9, 30)))
    return rng.choice(("https://example.com/promo?c=", "https://m.example.cn/s/", "https://u.example.net/")) + code


def _person(rng: random.Random) -> dict[str, Any]:
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2, 2))))
    district = rng.choice(_DISTRICTS)
    agency = rng.choice(_AGENCIES).format(d=district)
    command = rng.choice(_COMMANDS) if rng.random() < 0.3 else None
    badge_no = f"NJ{rng.randint(100, 999)}-{rng.randint(0, 99999):05d}"
    return {"name": name, "badge_no": badge_no, "agency": agency, "command_agency": command}


def _id_photo(rng: random.Random) -> bytes | None:
    """A stand-in ID photo (plain backdrop, head and shoulders), or None for a card printed without one."""
    if rng.random() < 0.15:
        return None
    backdrop = rng.choice(((67, 142, 219), (240, 240, 240), (200, 30, 40)))
    photo = Image.new("RGB", (360, 480), backdrop)
    draw = ImageDraw.Draw(photo)
    skin = rng.choice(_SKIN)
    suit = rng.choice(((30, 40, 60), (20, 20, 20), (60, 80, 110)))
    draw.ellipse((40, 330, 320, 620), fill=suit)
    draw.rectangle((150, 270, 210, 350), fill=skin)
    draw.ellipse((105, 90, 255, 290), fill=skin)
    draw.chord((100, 70, 260, 230), 180, 360, fill=(25, 20, 20))
    out = io.BytesIO()
    photo.save(out, "JPEG", quality=90)
    return out.getvalue()


# --- the card, and what lies on it -------------------------------------------------------------------------


@dataclass
class Card:
    canvas: Image.Image
    """RGBA: the card with a transparent margin (for a hand under it and fingers over its edge)."""
    pad: int
    qr_box: tuple[int, int, int, int]
    """The code's modules (no quiet zone) in canvas pixels; zero-sized for a card without a code."""
    nmod: int
    version: int
    size_module: float = 0.0
    """Card pixels per module of the JWS print: the photo is scaled by it, so both forms of one badge are
    photographed at the same size (0: this card's own module)."""
    occluded: float = 0.0
    finder_occluded: bool = False


def _qr_box(card: Image.Image) -> tuple[int, int, int, int]:
    """The code's extent, found from the print itself: dark pixels between the text block and the caption."""
    gray = np.asarray(card.convert("L"))
    band = gray[468:955] < 128
    rows, cols = np.nonzero(band)
    return int(cols.min()), int(rows.min()) + 468, int(cols.max()) + 1, int(rows.max()) + 1 + 468


def _emblem(card: Image.Image, box: tuple[int, int, int, int], rng: random.Random) -> None:
    """Cover the code with a printed emblem: a badge with no code, which must decode to nothing."""
    draw = ImageDraw.Draw(card)
    left, top, right, bottom = box
    quiet = (right - left) // 10
    draw.rectangle((left - quiet, top - quiet, right + quiet, bottom + quiet), fill=(255, 255, 255))
    cx, cy, r = (left + right) / 2, (top + bottom) / 2, (right - left) * rng.uniform(0.3, 0.42)
    colour = rng.choice(((200, 30, 40), (22, 52, 96), (196, 150, 30)))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=max(4, int(r / 12)))
    star = [
        (cx + (r * 0.55 if i % 2 == 0 else r * 0.22) * math.sin(i * math.pi / 5),
         cy - (r * 0.55 if i % 2 == 0 else r * 0.22) * math.cos(i * math.pi / 5))
        for i in range(10)
    ]
    draw.polygon(star, fill=colour)


def _rounded_mask(size: tuple[int, int], radius: int) -> Image.Image:
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius, fill=255)
    return mask


def _finger(
    draw: ImageDraw.ImageDraw, tip: tuple[float, float], angle: float, length: float, width: float,
    skin: tuple[int, int, int],
) -> None:
    """A finger as a rounded capsule from ``tip`` back along ``angle``, with a nail near the tip."""
    dx, dy = math.cos(angle), math.sin(angle)
    nx, ny = -dy, dx
    half = width / 2
    base = (tip[0] + dx * length, tip[1] + dy * length)
    body = [
        (tip[0] + dx * half + nx * half, tip[1] + dy * half + ny * half),
        (base[0] + nx * half * 1.1, base[1] + ny * half * 1.1),
        (base[0] - nx * half * 1.1, base[1] - ny * half * 1.1),
        (tip[0] + dx * half - nx * half, tip[1] + dy * half - ny * half),
    ]
    draw.polygon(body, fill=(*skin, 255))
    draw.ellipse((tip[0] + dx * half - half, tip[1] + dy * half - half,
                  tip[0] + dx * half + half, tip[1] + dy * half + half), fill=(*skin, 255))
    nail = tuple(min(255, c + 25) for c in skin)
    cx, cy = tip[0] + dx * half * 1.2, tip[1] + dy * half * 1.2
    draw.ellipse((cx - half * 0.55, cy - half * 0.55, cx + half * 0.55, cy + half * 0.55), fill=(*nail, 255))


def _finder_boxes(qr_box: tuple[int, int, int, int], nmod: int) -> list[tuple[float, float, float, float]]:
    left, top, right, bottom = qr_box
    m = (right - left) / nmod
    s = 8 * m  # the 7x7 finder and its separator
    return [(left, top, left + s, top + s), (right - s, top, right, top + s), (left, bottom - s, left + s, bottom)]


def _occlusion(card: Card, layer: Image.Image) -> tuple[float, bool]:
    """The fraction of the code ``layer`` (RGBA, canvas-sized) covers, and whether it touches a finder."""
    alpha = np.asarray(layer.getchannel("A")) > 127
    left, top, right, bottom = card.qr_box
    covered = float(alpha[top:bottom, left:right].mean()) if right > left else 0.0
    finders = _finder_boxes(card.qr_box, card.nmod)
    finder = any(alpha[int(y0) : int(y1), int(x0) : int(x1)].any() for x0, y0, x1, y1 in finders)
    return covered, finder


def _add_fingers(card: Card, rng: random.Random, *, target: float, spare_finders: bool) -> None:
    """One or two fingers reaching in from outside the card; covering about ``target`` of the code."""
    left, top, right, bottom = card.qr_box
    side = right - left
    skin = rng.choice(_SKIN)
    for _ in range(40):
        layer = Image.new("RGBA", card.canvas.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(layer)
        width = side * rng.uniform(0.32, 0.48)
        if target <= 0:
            # A thumb holding the card by its edge, clear of the code.
            edge_y = rng.uniform(card.pad + 200, top - width)
            tip = (card.pad + rng.uniform(20, 120), edge_y) if rng.random() < 0.5 else (
                card.canvas.width - card.pad - rng.uniform(20, 120), edge_y)
            angle = math.pi if tip[0] < card.canvas.width / 2 else 0.0
        else:
            # Reach into the code from its left, right or bottom side (a hand holding the card from below).
            side_pick = rng.choice(("left", "right", "bottom"))
            depth = side * rng.uniform(0.02, 0.25)
            along = rng.uniform(0.2, 0.8)
            if side_pick == "left":
                tip, angle = (left + depth, top + along * side), math.pi + rng.uniform(-0.5, 0.5)
            elif side_pick == "right":
                tip, angle = (right - depth, top + along * side), rng.uniform(-0.5, 0.5)
            else:
                tip, angle = (left + along * side, bottom - depth), math.pi / 2 + rng.uniform(-0.5, 0.5)
        _finger(draw, tip, angle, side * 1.5, width, skin)
        covered, finder = _occlusion(card, layer)
        if spare_finders and finder:
            continue
        if target > 0 and not (0.4 * target <= covered <= 1.6 * target):
            continue
        if target <= 0 and covered > 0:
            continue
        shade = layer.filter(ImageFilter.GaussianBlur(width * 0.15))
        card.canvas.alpha_composite(shade)
        card.occluded, card.finder_occluded = round(covered, 3), finder
        return


def make_card(rng: random.Random, kind: str, *, qr_form: str = "jws") -> tuple[Card, str | None]:
    """The badge as printed, on a transparent canvas, and the text its code holds (None: no code). ``qr_form``:
    a badge's code in the JWS form or the compact form (foreign codes stay as they are)."""
    person = _person(rng)
    size_module = 0.0
    if kind == "foreign":
        text: str | None = foreign_text(rng)
    else:
        text = PREFIX + badge_token(rng)
        if qr_form == "compact":
            jws = render_badge_card(**person, qr_text=text, photo=None)
            jws_box = _qr_box(Image.open(io.BytesIO(jws)))
            size_module = (jws_box[2] - jws_box[0]) / _modules(text)[0]
            text = compact_text(text)
    png = render_badge_card(**person, qr_text=str(text), photo=_id_photo(rng))
    card = Image.open(io.BytesIO(png)).convert("RGB")
    box = _qr_box(card)
    nmod, version = _modules(str(text))
    if kind == "negative":
        _emblem(card, box, rng)
        text = None
    # Cards are laminated and slightly off-white; the print is never pure black.
    tint = rng.uniform(0.9, 1.0)
    card = card.point(lambda v: int(18 + v * (tint * 237 - 18) / 255))
    pad = card.width // 2
    canvas = Image.new("RGBA", (card.width + 2 * pad, card.height + 2 * pad), (0, 0, 0, 0))
    canvas.paste(card, (pad, pad), _rounded_mask(card.size, 36))
    qr_box = (box[0] + pad, box[1] + pad, box[2] + pad, box[3] + pad)
    return Card(canvas, pad, qr_box, nmod, version, size_module), text


def _modules(text: str) -> tuple[int, int]:
    import segno

    code = segno.make_qr(text, error="m", boost_error=True)
    return int(code.symbol_size(scale=1, border=0)[0]), int(str(code.version))


# --- the scene ------------------------------------------------------------------------------------------


def _smooth_field(rng: random.Random, size: tuple[int, int], cells: int) -> Image.Image:
    """Low-frequency colour variation: a few random colours on a coarse grid, upsampled smoothly."""
    w, h = size
    gw, gh = (cells, max(2, cells * h // w)) if w >= h else (max(2, cells * w // h), cells)
    base = [rng.randint(30, 200) for _ in range(3)]
    grid = Image.new("RGB", (gw, gh))
    grid.putdata([
        tuple(max(0, min(255, b + rng.randint(-60, 60))) for b in base)
        for _ in range(gw * gh)
    ])
    return grid.resize(size, Image.Resampling.BICUBIC)


def _stripes(rng: random.Random, size: tuple[int, int], period: float, angle: float, depth: float,
             wobble: float) -> Image.Image:
    """Grain (wood) or weave (fabric): a sinusoid across the frame, as a multiplicative L layer at 1/2 scale."""
    w, h = size[0] // 2, size[1] // 2
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    u = x * math.cos(angle) + y * math.sin(angle)
    v = -x * math.sin(angle) + y * math.cos(angle)
    phase = wobble * np.sin(v / rng.uniform(80, 300)) * period
    wave = 0.5 + 0.5 * np.sin(2 * math.pi * (u + phase) / (period / 2))
    layer = 255 * (1 - depth * wave)
    return Image.fromarray(layer.astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)


def _document(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A printed sheet lying on the desk: lines of text, a busy texture the region finder must not prefer."""
    w, h = size
    sheet = Image.new("RGBA", size, (246, 245, 240, 255))
    draw = ImageDraw.Draw(sheet)
    line_h = max(6, int(h / rng.uniform(30, 55)))
    for y in range(int(line_h * 2), h - line_h * 2, line_h):
        x = int(w * 0.08)
        end = int(w * rng.uniform(0.6, 0.92))
        while x < end:
            word = rng.randint(line_h // 2, line_h * 3)
            draw.rectangle((x, y, min(end, x + word), y + line_h // 2), fill=(60, 60, 60, 255))
            x += word + line_h // 3
    return sheet.filter(ImageFilter.GaussianBlur(line_h / 8))


def background(rng: random.Random, size: tuple[int, int], style: str) -> Image.Image:
    scene = _smooth_field(rng, size, rng.randint(3, 8))
    if style in ("wood", "fabric"):
        period = rng.uniform(40, 160) if style == "wood" else rng.uniform(10, 28)
        depth = rng.uniform(0.15, 0.35) if style == "wood" else rng.uniform(0.08, 0.2)
        layer = _stripes(rng, size, period, rng.uniform(0, math.pi), depth, 0.8 if style == "wood" else 0.05)
        scene = ImageChops.multiply(scene, Image.merge("RGB", (layer, layer, layer)))
    if style == "clutter":
        draw = ImageDraw.Draw(scene)
        short = min(size)
        for _ in range(rng.randint(2, 5)):
            colour = tuple(rng.randint(20, 235) for _ in range(3))
            cx, cy = rng.uniform(0, size[0]), rng.uniform(0, size[1])
            a, b = short * rng.uniform(0.05, 0.2), short * rng.uniform(0.05, 0.2)
            shape = rng.random()
            if shape < 0.4:
                draw.ellipse((cx - a, cy - b, cx + a, cy + b), fill=colour)
            else:
                t = rng.uniform(0, math.pi)
                if shape < 0.6:  # a pen
                    a, b = short * rng.uniform(0.15, 0.3), short * 0.012
                pts = [
                    (cx + math.cos(t) * sx * a - math.sin(t) * sy * b, cy + math.sin(t) * sx * a + math.cos(t) * sy * b)
                    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1))
                ]
                draw.polygon(pts, fill=colour)
        if rng.random() < 0.5:
            sheet_size = (int(short * rng.uniform(0.35, 0.6)), int(short * rng.uniform(0.45, 0.8)))
            sheet = _document(rng, sheet_size).rotate(rng.uniform(0, 360), expand=True,
                                                       resample=Image.Resampling.BILINEAR)
            at = (rng.randint(-sheet.width // 3, size[0] - sheet.width // 2),
                  rng.randint(-sheet.height // 3, size[1] - sheet.height // 2))
            scene.paste(sheet, at, sheet)
        scene = scene.filter(ImageFilter.GaussianBlur(rng.uniform(1, 6)))  # the desk is out of focus
    return scene


# --- geometry ----------------------------------------------------------------------------------------------


def homography(src: _FloatArray, dst: _FloatArray) -> _FloatArray:
    """The 3x3 projective map taking the four ``src`` points to ``dst``."""
    rows = []
    rhs = []
    for (x, y), (u, v) in zip(src, dst, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    h = np.linalg.solve(np.array(rows, dtype=np.float64), np.array(rhs, dtype=np.float64))
    return np.append(h, 1.0).reshape(3, 3)


def _apply(h: _FloatArray, points: _FloatArray) -> _FloatArray:
    ones = np.ones((len(points), 1))
    mapped = np.hstack([points, ones]) @ h.T
    result: _FloatArray = mapped[:, :2] / mapped[:, 2:3]
    return result


def pose(
    size: tuple[float, float], centre: tuple[float, float], rot: float, tilt: float, tilt_axis: float,
) -> _FloatArray:
    """Where the corners of a flat ``size`` rectangle land when turned by ``rot``, tilted ``tilt`` degrees
    about an in-plane axis at ``tilt_axis``, and seen through a pinhole camera at distance ``FOCAL``."""
    w, h = size
    corners = np.array([[-w / 2, -h / 2, 0], [w / 2, -h / 2, 0], [w / 2, h / 2, 0], [-w / 2, h / 2, 0]])
    ux, uy = math.cos(tilt_axis), math.sin(tilt_axis)
    t = math.radians(tilt)
    c, s = math.cos(t), math.sin(t)
    k = np.array([[0, 0, uy], [0, 0, -ux], [-uy, ux, 0]])
    rodrigues = np.eye(3) + s * k + (1 - c) * (k @ k)
    turned = corners @ rodrigues.T
    scale = FOCAL / (FOCAL + turned[:, 2])
    flat = turned[:, :2] * scale[:, None]
    r = math.radians(rot)
    spin = np.array([[math.cos(r), -math.sin(r)], [math.sin(r), math.cos(r)]])
    placed: _FloatArray = flat @ spin.T + np.array(centre)
    return placed


# --- the photo ---------------------------------------------------------------------------------------------


def _illumination(rng: random.Random, size: tuple[int, int], grad: float, shadow: float,
                  card_centre: tuple[float, float]) -> Image.Image:
    """Light falling off across the frame, a vignette, and optionally a soft shadow edge across the card."""
    w, h = size[0] // 16, size[1] // 16
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    a = rng.uniform(0, 2 * math.pi)
    u = ((x - w / 2) * math.cos(a) + (y - h / 2) * math.sin(a)) / max(w, h) + 0.5
    light = 1 - grad * np.clip(u, 0, 1)
    r2 = ((x - w / 2) ** 2 + (y - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    light *= 1 - 0.15 * r2
    if shadow > 0:
        b = rng.uniform(0, 2 * math.pi)
        cx, cy = card_centre[0] / 16, card_centre[1] / 16
        offset = rng.uniform(-0.15, 0.15) * max(w, h)
        d = (x - cx) * math.cos(b) + (y - cy) * math.sin(b) - offset
        softness = rng.uniform(2, 12)
        light *= 1 - shadow * (1 / (1 + np.exp(-d / softness)))
    field = Image.fromarray((255 * np.clip(light, 0, 1)).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    return Image.merge("RGB", (field, field, field))


def _motion_blur(image: Image.Image, length: float, angle: float) -> Image.Image:
    if length < 1:
        return image
    turned = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    smeared = turned.filter(ImageFilter.BoxBlur((length / 2, 0)))
    back = smeared.rotate(-angle, resample=Image.Resampling.BILINEAR, expand=True)
    left = (back.width - image.width) // 2
    top = (back.height - image.height) // 2
    return back.crop((left, top, left + image.width, top + image.height))


def _glare(scene: Image.Image, rng: random.Random, centre: tuple[float, float], radius: float,
           strength: float) -> None:
    """A specular highlight on the laminate: an elongated bright blob that washes the print out."""
    box = int(radius * 3)
    mask = Image.new("L", (2 * box, 2 * box), 0)
    draw = ImageDraw.Draw(mask)
    aspect = rng.uniform(0.4, 1.0)
    draw.ellipse((box - radius, box - radius * aspect, box + radius, box + radius * aspect),
                 fill=int(255 * strength))
    mask = mask.rotate(rng.uniform(0, 180)).filter(ImageFilter.GaussianBlur(radius * 0.2))
    scene.paste((255, 253, 245), (int(centre[0]) - box, int(centre[1]) - box), mask)


def _noise(image: Image.Image, sigma: float, rng: random.Random) -> Image.Image:
    """Sensor noise: luminance grain at full resolution and coarser colour blotches, as phones leave it."""
    if sigma <= 0:
        return image
    draw = np.random.default_rng(rng.getrandbits(64))

    def field(size: tuple[int, int], s: float) -> Image.Image:
        values = 128 + s * draw.standard_normal((size[1], size[0]), dtype=np.float32)
        return Image.fromarray(np.clip(values, 0, 255).astype(np.uint8))

    luma = field(image.size, sigma)
    grain = Image.merge("RGB", (luma, luma, luma))
    half = (image.width // 2, image.height // 2)
    chroma = Image.merge("RGB", [field(half, sigma * 0.6) for _ in range(3)]).resize(image.size)
    return ImageChops.add(ImageChops.add(image, grain, 1.0, -128), chroma, 1.0, -128)


_UNDO_ORIENTATION = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def render_photo(
    rng: random.Random, difficulty: str, *, frame: tuple[int, int] | None = None, kind: str | None = None,
    qr_form: str = "jws", paired: bool = False,
) -> tuple[bytes, dict[str, Any]]:
    """One photo and its label; ``frame`` overrides the 12 MP size (quick tests: the card keeps its size).
    ``kind`` fixes the kind instead of drawing it; ``qr_form`` is the form of a badge's code. ``paired``:
    fingers draw from a generator of their own, so two photos from equal generators differ only in it (the
    compact card is then shot at the JWS card's size: ``ppm`` stays the JWS module's)."""
    profile = DIFFICULTY[difficulty]
    if kind is None:
        kind = rng.choices(list(_KIND_WEIGHTS), weights=list(_KIND_WEIGHTS.values()))[0]
    factors: list[str] = []
    if profile.factors[1]:
        count = rng.randint(*profile.factors)
        factors = rng.sample(FACTORS, count)
        if "small" in factors and "occlusion" in factors:
            factors.remove("occlusion")
    u = rng.uniform
    portrait = rng.random() < 0.5
    size = SIZES[1] if portrait else SIZES[0]
    if frame is not None:
        size = (min(frame), max(frame)) if portrait else (max(frame), min(frame))
    ppm = u(*profile.ppm) if "small" not in factors else u(1.6, 2.8)
    tilt = u(*profile.tilt) if "tilt" not in factors else u(28, 42)
    blur = u(*profile.blur) if "blur" not in factors else u(1.8, 2.8)
    motion = u(*profile.motion) if rng.random() < profile.motion_p else 0.0
    if "motion" in factors:
        motion = u(9, 20)
    grad = u(*profile.grad)
    shadow = u(0.35, 0.65) if rng.random() < profile.shadow_p else 0.0
    contrast, exposure, noise = u(*profile.contrast), u(*profile.exposure), u(*profile.noise)
    if "lowlight" in factors:
        contrast, exposure, noise = u(0.35, 0.5), u(0.3, 0.5), u(3.0, 6.0)
    quality = rng.randint(*profile.quality)
    sharpen = u(0.3, 0.8) if rng.random() < 0.5 else 0.0
    glare = "glare" in factors
    background_style = rng.choice(("plain", "wood", "fabric", "clutter", "clutter"))
    held = rng.random() < 0.35

    card, text = make_card(rng, kind, qr_form=qr_form)
    occlusion = 0.0
    finger_rng = random.Random(rng.getrandbits(64)) if paired else rng
    if "occlusion" in factors and kind != "negative":
        occlusion = u(0.03, 0.09)
        _add_fingers(card, finger_rng, target=occlusion, spare_finders=False)
    elif rng.random() < profile.thumb_p:
        _add_fingers(card, finger_rng, target=0.0, spare_finders=True)
    if "occlusion" in factors and card.occluded == 0:
        factors.remove("occlusion")

    # Scale the canvas so a module spans ``ppm`` photo pixels, then warp it into place.
    module = (card.qr_box[2] - card.qr_box[0]) / card.nmod
    scale = ppm / (card.size_module or module)
    ppm = scale * module
    canvas = card.canvas.resize(
        (round(card.canvas.width * scale), round(card.canvas.height * scale)),
        Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC,
    )
    rot, axis = u(0, 360), u(0, math.pi)
    card_w, card_h = (card.canvas.width - 2 * card.pad) * scale, (card.canvas.height - 2 * card.pad) * scale
    probe = pose((card_w, card_h), (0, 0), rot, tilt, axis)
    span = probe.max(axis=0) - probe.min(axis=0)
    margin = 0.03 * min(size)
    lo = -probe.min(axis=0) + margin
    hi = np.array(size) - probe.max(axis=0) - margin
    centre = (u(lo[0], max(lo[0], hi[0])), u(lo[1], max(lo[1], hi[1])))
    del span
    full = pose(canvas.size, centre, rot, tilt, axis)
    src = np.array([[0, 0], [canvas.width, 0], [canvas.width, canvas.height], [0, canvas.height]], dtype=np.float64)
    to_scene = homography(src, full)
    x0, y0 = np.floor(full.min(axis=0)).astype(int)
    x1, y1 = np.ceil(full.max(axis=0)).astype(int)
    local = full - np.array([x0, y0])
    back = homography(local, src)
    coeffs = tuple(float(c) for c in (back / back[2, 2]).flatten()[:8])
    warped = canvas.transform((int(x1 - x0), int(y1 - y0)), Image.Transform.PERSPECTIVE, coeffs,
                              Image.Resampling.BICUBIC)

    scene = background(rng, size, background_style)
    if held:
        # A palm under the card: a large skin-coloured blob behind it.
        draw = ImageDraw.Draw(scene)
        skin = rng.choice(_SKIN)
        r = max(card_w, card_h) * u(0.45, 0.7)
        hx, hy = centre[0] + u(-0.4, 0.4) * card_w, centre[1] + u(-0.4, 0.4) * card_h
        draw.ellipse((hx - r, hy - r * 0.8, hx + r, hy + r * 0.8), fill=skin)
    shade = warped.getchannel("A").filter(ImageFilter.GaussianBlur(max(2.0, 0.02 * max(card_w, card_h))))
    shade = shade.point(lambda v: int(v * 0.45))
    scene.paste((0, 0, 0), (int(x0 + 0.01 * card_w), int(y0 + 0.015 * card_h)), shade)
    scene.paste(warped, (int(x0), int(y0)), warped)

    qr = card.qr_box
    qr_quad = _apply(to_scene, np.array([[qr[0], qr[1]], [qr[2], qr[1]], [qr[2], qr[3]], [qr[0], qr[3]]],
                                         dtype=np.float64) * scale)
    qr_side = float(np.linalg.norm(qr_quad[1] - qr_quad[0]))
    scene = ImageChops.multiply(scene, _illumination(rng, size, grad, shadow, centre))
    if blur > 0.3:
        scene = scene.filter(ImageFilter.GaussianBlur(blur))
    motion_angle = u(0, 180)
    scene = _motion_blur(scene, motion, motion_angle)
    lut = [max(0, min(255, round(exposure * (128 + (v - 128) * contrast)))) for v in range(256)]
    scene = scene.point(lut * 3)
    glare_radius = 0.0
    if glare:
        glare_radius = qr_side * u(0.15, 0.35)
        w = np.array([u(0.2, 1) for _ in range(4)])
        spot = (w[:, None] * qr_quad).sum(axis=0) / w.sum()
        _glare(scene, rng, (float(spot[0]), float(spot[1])), glare_radius, u(0.85, 1.0))
    elif rng.random() < 0.2:
        # A faint reflection somewhere on the card.
        spot = full.mean(axis=0) + np.array([u(-0.3, 0.3) * card_w, u(-0.3, 0.3) * card_h])
        _glare(scene, rng, (float(spot[0]), float(spot[1])), qr_side * u(0.1, 0.3), u(0.2, 0.45))

    scene = _noise(scene, noise, rng)
    if sharpen:
        scene = scene.filter(ImageFilter.UnsharpMask(radius=1.5, percent=int(120 * sharpen), threshold=2))

    orientation = rng.choice((3, 6, 8)) if rng.random() < 0.25 else 1
    stored = scene.transpose(_UNDO_ORIENTATION[orientation]) if orientation != 1 else scene
    exif = Image.Exif()
    exif[0x0110] = "synthetic"
    if orientation != 1:
        exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=quality, exif=exif)

    if kind == "negative":
        qr_quad_list: list[list[float]] | None = None
    else:
        qr_quad_list = [[round(float(x), 1), round(float(y), 1)] for x, y in qr_quad]
    params: dict[str, Any] = {
        "rot": round(rot, 3), "tilt": round(tilt, 3), "blur": round(blur, 3), "motion": round(motion, 3),
        "motion_angle": round(motion_angle, 1), "grad": round(grad, 3), "shadow": round(shadow, 3),
        "contrast": round(contrast, 3), "exposure": round(exposure, 3), "noise": round(noise, 3), "q": quality,
        "glare": round(glare_radius, 1), "occl": round(occlusion, 3), "occluded_fraction": card.occluded,
        "finder_occluded": card.finder_occluded, "sharpen": round(sharpen, 3), "portrait": portrait,
        "nocard": False, "held": held, "background": background_style, "nmod": card.nmod,
        "version": card.version, "ppm": round(ppm, 2), "qr_side_px": round(qr_side, 1),
        "blur_modules": round(math.hypot(blur, motion / 2) / ppm, 3), "exif_orientation": orientation,
        "qr_quad": qr_quad_list,
    }
    label = {"expected": text, "kind": kind, "difficulty": difficulty, "factors": factors, "size": list(size),
             "params": params}
    return out.getvalue(), label


def generate(out: Path, count: int, seed: int) -> dict[str, Any]:
    """``count`` photos into ``out``, difficulties in equal thirds, and ``labels.json`` beside them."""
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, Any] = {}
    for index in range(count):
        difficulty = DIFFICULTIES[index * len(DIFFICULTIES) // max(1, count)]
        # One generator per photo, so photo i is the same whatever --count is (for the same difficulty).
        rng = random.Random(f"{seed}:{index}:{difficulty}")
        data, label = render_photo(rng, difficulty)
        name = f"s{index:04d}.jpg"
        (out / name).write_bytes(data)
        images[name] = label
    labels = {"seed": seed, "n": count, "res": "full", "prefix": PREFIX, "synthetic": True, "images": images}
    (out / "labels.json").write_text(json.dumps(labels, ensure_ascii=False, indent=1))
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="directory for the photos and labels.json")
    parser.add_argument("--count", type=int, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    labels = generate(args.out, args.count, args.seed)
    kinds: dict[str, int] = {}
    for label in labels["images"].values():
        kinds[label["kind"]] = kinds.get(label["kind"], 0) + 1
    print(f"{args.count} photos in {args.out} (seed {args.seed}): {kinds}")


if __name__ == "__main__":
    main()
