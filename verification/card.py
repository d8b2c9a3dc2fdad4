"""The printable badge card (行政执法辅助工作证, 第二十三条).

The card is what a citizen sees first, so it says before anything else that its holder is an auxiliary with no
enforcement power of their own (第六条): the Measures want their marks clearly distinct from an officer's
(第二十三条). Its QR code carries the signed verification URL; it is sized for a phone camera at arm's length
and for a printed card photographed at half the resolution, with error correction M or better and the full
four-module quiet zone the QR standard asks for.

Portrait CR80 (54 x 85.6 mm) at 300 dpi: 638 x 1011 px, opaque RGB PNG.
"""

import io
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont, ImageOps

CARD_SIZE = (638, 1011)
DPI = 300
QR_QUIET_MODULES = 4
FONT_ENV = "AUXDUTY_CJK_FONT"
PHOTO_BOX = (34, 200, 34 + 174, 200 + 232)

_NAVY = (22, 52, 96)
_AMBER = (244, 176, 35)
_INK = (24, 24, 24)
_GREY = (96, 96, 96)
_SLOT = (214, 218, 224)
_WHITE = (255, 255, 255)
_MARGIN = 34
_TEXT_X = PHOTO_BOX[2] + 24
_LABEL_W = 106
_TEXT_BOTTOM = 462
_QR_TOP = 468
_CAPTION_H = 56
_MAX_PHOTO_PIXELS = 50_000_000

# Preferred first: Noto/Source Han ship a Simplified Chinese face; WenQuanYi and Droid are what older or
# slimmer Debian images carry. Bold is optional: the regular face stands in for it.
_REGULAR_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Regular.otf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
)
_BOLD_CANDIDATES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJKsc-Bold.otf",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/source-han-sans/SourceHanSansSC-Bold.otf",
)
_FILE_PATTERNS = ("*CJK*", "SourceHan*", "wqy-*", "DroidSansFallback*", "uming*", "ukai*")
# Two common Chinese characters and an unassigned code point: a font without Chinese draws all three as the
# same .notdef box, and would print tofu where the name should be.
_PROBE_CJK = ("证", "明")
_PROBE_MISSING = "\u0378"


class FontMissing(RuntimeError):
    """No font that can draw Chinese was found, so a card would print empty boxes instead of a name."""

    def __init__(self, detail: str) -> None:
        super().__init__(
            f"{detail}. Install a CJK font (apt-get install fonts-noto-cjk) "
            f"or set {FONT_ENV} to the path of a .ttf/.otf/.ttc font with Simplified Chinese."
        )


@dataclass(frozen=True)
class CjkFont:
    """A font file and the face inside it (a .ttc holds several; the SC face has the Mainland glyph forms)."""

    path: str
    index: int

    def at(self, size: int) -> ImageFont.FreeTypeFont:
        """The face at a pixel size."""
        return _load(self.path, self.index, size)


@lru_cache(maxsize=64)
def _load(path: str, index: int, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size, index=index)


def draws_cjk(font: ImageFont.FreeTypeFont) -> bool:
    """Whether the font has real glyphs for common Chinese characters rather than its .notdef box."""
    masks = [font.getmask(text) for text in (*_PROBE_CJK, _PROBE_MISSING)]
    shapes = {(mask.size, bytes(mask)) for mask in masks}
    return len(shapes) == len(masks) and all(mask.size[0] and mask.size[1] for mask in masks[:-1])


def _pick_face(path: str) -> CjkFont | None:
    """The Simplified Chinese face of a font file, or its first face; None if it cannot draw Chinese."""
    faces: list[CjkFont] = []
    for index in range(16):
        try:
            family, _style = ImageFont.truetype(path, 24, index=index).getname()
        except (OSError, ValueError):
            break
        faces.append(CjkFont(path, index))
        if family is not None and "SC" in family.split():
            faces.insert(0, faces.pop())
            break
    for face in faces:
        if draws_cjk(face.at(24)):
            return face
    return None


def _first_face(paths: Iterable[str]) -> CjkFont | None:
    return next((face for p in paths if Path(p).is_file() and (face := _pick_face(p))), None)


def _elsewhere() -> list[str]:
    """CJK fonts installed at paths other distributions use, found by their file names."""
    found: list[str] = []
    for root in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        if root.is_dir():
            found += sorted(
                str(p)
                for pattern in _FILE_PATTERNS
                for p in root.rglob(pattern)
                if p.suffix.lower() in (".ttc", ".otf", ".ttf")
            )
    return found


@lru_cache(maxsize=8)
def _find(env_value: str | None) -> tuple[CjkFont, CjkFont]:
    if env_value:
        if not Path(env_value).is_file():
            raise FontMissing(f"{FONT_ENV}={env_value} is not a file")
        face = _pick_face(env_value)
        if face is None:
            raise FontMissing(f"{FONT_ENV}={env_value} has no Chinese glyphs")
        return face, face
    regular = _first_face(_REGULAR_CANDIDATES) or _first_face(_elsewhere())
    if regular is None:
        raise FontMissing("No CJK font found under /usr/share/fonts")
    return regular, _first_face(_BOLD_CANDIDATES) or regular


def find_cjk_fonts() -> tuple[CjkFont, CjkFont]:
    """The regular and bold CJK faces the card is drawn with: `AUXDUTY_CJK_FONT` if set, else a system font.

    Raises FontMissing when there is none, rather than printing a card whose name nobody can read.
    """
    return _find(os.environ.get(FONT_ENV) or None)


def _fit_lines(
    text: str, face: CjkFont, width: int, sizes: tuple[int, ...], max_lines: int
) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The fewest lines, then the largest size, at which `text` fits `width`; else cut with an ellipsis."""
    for line_count in range(1, max_lines + 1):
        for size in sizes:
            font = face.at(size)
            lines = _wrap(text, font, width)
            if len(lines) <= line_count:
                return font, lines
    font = face.at(sizes[-1])
    lines = _wrap(text, font, width)[:max_lines]
    last = lines[-1]
    while last and font.getlength(last + "…") > width:
        last = last[:-1]
    lines[-1] = last + "…"
    return font, lines


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    # Chinese breaks between any two characters; agency names have no spaces to break at.
    lines: list[str] = []
    line = ""
    for char in text:
        if line and font.getlength(line + char) > width:
            lines.append(line)
            line = char.lstrip()
        else:
            line += char
    return [*lines, line] if line else lines or [""]


def fit_photo(photo: bytes | None, size: tuple[int, int]) -> Image.Image | None:
    """The ID photo upright and cropped to the slot, or None when the bytes are not a usable image.

    A bad upload must not stop a card from printing: the slot stays grey and the agency re-uploads.
    """
    if not photo:
        return None
    try:
        with Image.open(io.BytesIO(photo)) as img:
            if img.width * img.height > _MAX_PHOTO_PIXELS:
                return None
            img.draft("RGB", (size[0] * 2, size[1] * 2))
            upright = ImageOps.exif_transpose(img)
            rgba = upright.convert("RGBA")
            flat = Image.new("RGB", rgba.size, _WHITE)
            flat.paste(rgba, mask=rgba.getchannel("A"))
            # Faces sit in the upper part of an ID photo; crop keeping more of the top.
            return ImageOps.fit(flat, size, Image.Resampling.LANCZOS, centering=(0.5, 0.3))
    # Pillow reports a broken file as any of these; a warning (corrupt EXIF, a decompression bomb) counts
    # too when a strict warnings filter turns it into an exception.
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Warning):
        return None


def _qr(qr_text: str, box: int) -> Image.Image:
    """The QR code with its quiet zone, at the largest whole number of pixels per module that fits `box`.

    Whole pixels keep every module edge sharp in print; error correction starts at M and segno raises it
    to Q or H when that costs no extra modules.
    """
    code = segno.make_qr(qr_text, error="m", boost_error=True)
    modules = int(code.symbol_size(scale=1, border=QR_QUIET_MODULES)[0])
    scale = box // modules
    if scale < 3:
        raise ValueError(f"QR text of {len(qr_text)} characters is too long to print legibly on a badge")
    matrix = Image.new("1", (modules, modules), 1)
    for y, row in enumerate(code.matrix_iter(scale=1, border=QR_QUIET_MODULES)):
        for x, dark in enumerate(row):
            if dark:
                matrix.putpixel((x, y), 0)
    return matrix.resize((modules * scale, modules * scale), Image.Resampling.NEAREST).convert("RGB")


def _centered(
    draw: ImageDraw.ImageDraw, y: int, text: str, font: ImageFont.FreeTypeFont, fill: tuple[int, int, int]
) -> None:
    draw.text((CARD_SIZE[0] // 2, y), text, font=font, fill=fill, anchor="mm")


def _draw_identity(
    draw: ImageDraw.ImageDraw,
    regular: CjkFont,
    bold: CjkFont,
    name: str,
    badge_no: str,
    agency: str,
    command_agency: str | None,
) -> None:
    """The name, then labels and values in two columns beside the photo; long agency names wrap or shrink."""
    text_width = CARD_SIZE[0] - _MARGIN - _TEXT_X
    value_x = _TEXT_X + _LABEL_W
    # Rows are placed by baseline so a grey label and its value line up whatever their sizes.
    font, lines = _fit_lines(name, bold, text_width, (58, 50, 42, 36, 30), 1)
    baseline = PHOTO_BOX[1] + 50
    draw.text((_TEXT_X, baseline), lines[0], font=font, fill=_INK, anchor="ls")
    baseline += 56
    fields = [("编号", badge_no, 1), ("单位", agency, 3)]
    if command_agency and command_agency != agency:
        fields = [("编号", badge_no, 1), ("单位", agency, 2), ("指挥单位", command_agency, 2)]
    for label, value, max_lines in fields:
        face = bold if label == "编号" else regular
        font, lines = _fit_lines(value, face, text_width - _LABEL_W, (28, 26, 24), max_lines)
        draw.text((_TEXT_X, baseline), label, font=regular.at(22), fill=_GREY, anchor="ls")
        for line in lines:
            if baseline > _TEXT_BOTTOM:
                break
            draw.text((value_x, baseline), line, font=font, fill=_INK, anchor="ls")
            baseline += round(font.size) + 6
        baseline += 10


def render_badge_card(
    *, name: str, badge_no: str, agency: str, command_agency: str | None, qr_text: str, photo: bytes | None
) -> bytes:
    """A print-ready PNG of the badge: who the holder is, that they have no enforcement power, and the QR.

    `command_agency` is printed only when it differs from `agency` (a secondment, 第二十二条).
    Raises FontMissing when no CJK font is installed.
    """
    regular, bold = find_cjk_fonts()
    width, height = CARD_SIZE
    card = Image.new("RGB", CARD_SIZE, _WHITE)
    draw = ImageDraw.Draw(card)

    draw.rectangle((0, 0, width, 122), fill=_NAVY)
    _centered(draw, 62, "行政执法辅助工作证", bold.at(54), _WHITE)
    draw.rectangle((0, 122, width, 174), fill=_AMBER)
    _centered(draw, 148, "行政执法辅助人员 · 无独立执法资格", bold.at(31), _INK)

    left, top, right, bottom = PHOTO_BOX
    slot = (right - left, bottom - top)
    picture = fit_photo(photo, slot)
    if picture is None:
        draw.rectangle(PHOTO_BOX, fill=_SLOT)
        draw.text(
            ((left + right) // 2, (top + bottom) // 2), "照片", font=regular.at(34), fill=_GREY, anchor="mm"
        )
    else:
        card.paste(picture, (left, top))
    draw.rectangle(PHOTO_BOX, outline=_GREY, width=2)

    _draw_identity(draw, regular, bold, name, badge_no, agency, command_agency)

    box = min(width - 2 * _MARGIN, height - _QR_TOP - _CAPTION_H)
    qr = _qr(qr_text, box)
    card.paste(qr, ((width - qr.width) // 2, _QR_TOP + (box - qr.height) // 2))
    _centered(draw, height - _CAPTION_H + 14, "扫码核验身份 · 投诉举报请拨 12345", regular.at(24), _GREY)
    draw.rectangle((0, height - 14, width, height), fill=_NAVY)

    out = io.BytesIO()
    card.save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()
