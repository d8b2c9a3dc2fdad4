"""The printable badge card as a vector PDF, for card printers (行政执法辅助工作证, 第二十三条).

The same card as the PNG of card.py, laid out on the same grid (one PNG pixel at 300 dpi is 0.24 pt), on a
CR80 page (54 x 85.6 mm): the QR code is drawn as vector squares, so it stays sharp at any printer
resolution; the text is text; only the ID photo is a bitmap. Beside the badge number it prints the address
where anyone can check the number by hand (`/check`), for a citizen whose phone cannot scan.

Chinese is set in the Adobe-GB1 CID font STSong-Light that reportlab ships the metrics of: the PDF names the
font without embedding it (no font file to find, nothing that differs between hosts), and every PDF reader
and printer driver supplies a face for it: Acrobat its Asian font pack, poppler-based readers on Debian the
fonts-noto-cjk face that fontconfig maps Song/SimSun to. The badge number and the address are in the PDF
base-14 fonts Courier and Helvetica, which every reader has.
"""

import io
from functools import lru_cache

import segno
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.lib.utils import ImageReader  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from verification.card import CARD_SIZE, PHOTO_BOX, QR_QUIET_MODULES, fit_photo

PAGE = (54 * mm, 85.6 * mm)
PX = PAGE[0] / CARD_SIZE[0]  # points per pixel of the PNG card: the two share one layout
CJK = "STSong-Light"
MONO = "Courier-Bold"
LATIN = "Helvetica"

_NAVY = (22 / 255, 52 / 255, 96 / 255)
_AMBER = (244 / 255, 176 / 255, 35 / 255)
_INK = (24 / 255, 24 / 255, 24 / 255)
_GREY = (96 / 255, 96 / 255, 96 / 255)
_SLOT = (214 / 255, 218 / 255, 224 / 255)
_WHITE = (1.0, 1.0, 1.0)
_MARGIN = 34
_TEXT_X = PHOTO_BOX[2] + 24
_LABEL_W = 106
_QR_TOP = 468
_CAPTION_H = 56


@lru_cache(maxsize=1)
def _cjk() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(CJK))
    return CJK


def _y(px: float) -> float:
    """A PNG row (down from the top) as a PDF ordinate (up from the bottom)."""
    return float(PAGE[1] - px * PX)


def _width(text: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font, size))


def _text(c: Canvas, x: float, baseline: float, text: str, font: str, size_px: float,
          fill: tuple[float, float, float], *, bold: bool = False, anchor: str = "start") -> None:
    """``text`` at PNG coordinates; ``bold`` strokes the outline too (the CID font has no bold face)."""
    size = size_px * PX
    width = _width(text, font, size)
    left = x * PX - (width / 2 if anchor == "middle" else 0)
    t = c.beginText(left, _y(baseline))
    t.setFont(font, size)
    t.setFillColorRGB(*fill)
    if bold:
        c.setStrokeColorRGB(*fill)
        c.setLineWidth(size * 0.035)
    t.setTextRenderMode(2 if bold else 0)  # a text state: it outlives the text object unless set again
    t.textOut(text)
    c.drawText(t)


def _wrap(text: str, font: str, size_px: float, width_px: float) -> list[str]:
    # Chinese breaks between any two characters; agency names have no spaces to break at.
    lines: list[str] = []
    line = ""
    for char in text:
        if line and _width(line + char, font, size_px) > width_px:
            lines.append(line)
            line = char.lstrip()
        else:
            line += char
    return [*lines, line] if line else lines or [""]


def _fit(text: str, font: str, width_px: float, sizes: tuple[float, ...], max_lines: int
         ) -> tuple[float, list[str]]:
    """The fewest lines, then the largest size, at which ``text`` fits; else cut with an ellipsis."""
    for count in range(1, max_lines + 1):
        for size in sizes:
            lines = _wrap(text, font, size, width_px)
            if len(lines) <= count:
                return size, lines
    size = sizes[-1]
    lines = _wrap(text, font, size, width_px)[:max_lines]
    last = lines[-1]
    while last and _width(last + "…", font, size) > width_px:
        last = last[:-1]
    lines[-1] = last + "…"
    return size, lines


def _rect(c: Canvas, left: float, top: float, right: float, bottom: float, fill: tuple[float, float, float]
          ) -> None:
    c.setFillColorRGB(*fill)
    c.rect(left * PX, _y(bottom), (right - left) * PX, (bottom - top) * PX, stroke=0, fill=1)


def _identity(c: Canvas, name: str, badge_no: str, agency: str, command_agency: str | None, check_url: str
              ) -> None:
    cjk = _cjk()
    text_width = CARD_SIZE[0] - _MARGIN - _TEXT_X
    value_x = _TEXT_X + _LABEL_W
    size, lines = _fit(name, cjk, text_width, (58, 50, 42, 36, 30), 1)
    baseline: float = PHOTO_BOX[1] + 50
    _text(c, _TEXT_X, baseline, lines[0], cjk, size, _INK, bold=True)
    baseline += 56
    _text(c, _TEXT_X, baseline, "编号", cjk, 22, _GREY)
    size, _ = _fit(badge_no, MONO, text_width - _LABEL_W, (30, 26, 22, 18), 1)
    _text(c, value_x, baseline, badge_no, MONO, size, _INK)
    # Right under it, the address to check the number at, across the column, shrunk to one line.
    baseline += 30
    size, lines = _fit(check_url, LATIN, text_width, (24, 22, 20, 18, 16, 14, 12), 1)
    _text(c, _TEXT_X, baseline, lines[0], LATIN, size, _INK)
    baseline += 40
    fields = [("单位", agency, 3)]
    if command_agency and command_agency != agency:
        fields = [("单位", agency, 2), ("指挥单位", command_agency, 2)]
    for label, value, max_lines in fields:
        size, lines = _fit(value, cjk, text_width - _LABEL_W, (26, 24, 22), max_lines)
        _text(c, _TEXT_X, baseline, label, cjk, 22, _GREY)
        for line in lines:
            _text(c, value_x, baseline, line, cjk, size, _INK)
            baseline += size + 6
        baseline += 10


def _qr(c: Canvas, qr_text: str, left_px: float, top_px: float, box_px: float) -> int:
    """The QR code with its quiet zone as filled squares (one path, a rectangle per run of dark modules in a
    row): vector, so sharp at any resolution. Returns the modules per side."""
    code = segno.make_qr(qr_text, error="m", boost_error=True)
    rows = [list(row) for row in code.matrix_iter(scale=1, border=QR_QUIET_MODULES)]
    modules = len(rows)
    unit = box_px * PX / modules
    left, top = left_px * PX, _y(top_px)
    path = c.beginPath()
    for y, row in enumerate(rows):
        x = 0
        while x < modules:
            if not row[x]:
                x += 1
                continue
            start = x
            while x < modules and row[x]:
                x += 1
            path.rect(left + start * unit, top - (y + 1) * unit, (x - start) * unit, unit)
    c.setFillColorRGB(0, 0, 0)
    c.drawPath(path, stroke=0, fill=1)
    return modules


def _photo(c: Canvas, photo: bytes | None) -> None:
    left, top, right, bottom = PHOTO_BOX
    picture = fit_photo(photo, (right - left, bottom - top))
    if picture is None:
        _rect(c, left, top, right, bottom, _SLOT)
        _text(c, (left + right) / 2, (top + bottom) / 2 + 12, "照片", _cjk(), 34, _GREY, anchor="middle")
    else:
        c.drawImage(ImageReader(picture), left * PX, _y(bottom), (right - left) * PX, (bottom - top) * PX)
    c.setStrokeColorRGB(*_GREY)
    c.setLineWidth(2 * PX)
    c.rect(left * PX, _y(bottom), (right - left) * PX, (bottom - top) * PX, stroke=1, fill=0)


def render_badge_pdf(
    *, name: str, badge_no: str, agency: str, command_agency: str | None, qr_text: str, photo: bytes | None,
    check_url: str,
) -> bytes:
    """A one-page PDF of the badge, CR80 portrait: who the holder is, that they have no enforcement power, the
    QR code, and ``check_url`` beside the badge number. `command_agency` is printed only when it differs
    from `agency` (a secondment, 第二十二条)."""
    width, height = CARD_SIZE
    out = io.BytesIO()
    c = Canvas(out, pagesize=PAGE, pageCompression=1)
    c.setTitle(f"行政执法辅助工作证 {badge_no}")
    c.setAuthor(agency)
    c.setSubject("行政执法辅助人员工作证件（第二十三条）")
    c.setCreator("auxduty")
    cjk = _cjk()
    _rect(c, 0, 0, width, 122, _NAVY)
    _text(c, width / 2, 80, "行政执法辅助工作证", cjk, 54, _WHITE, bold=True, anchor="middle")
    _rect(c, 0, 122, width, 174, _AMBER)
    _text(c, width / 2, 159, "行政执法辅助人员 · 无独立执法资格", cjk, 31, _INK, bold=True, anchor="middle")
    _photo(c, photo)
    _identity(c, name, badge_no, agency, command_agency, check_url)
    box = min(width - 2 * _MARGIN, height - _QR_TOP - _CAPTION_H)
    _qr(c, qr_text, (width - box) / 2, _QR_TOP, box)
    _text(c, width / 2, height - _CAPTION_H + 22, "扫码核验身份 · 投诉举报请拨 12345", cjk, 24, _GREY,
          anchor="middle")
    _rect(c, 0, height - 14, width, height, _NAVY)
    c.showPage()
    c.save()
    return out.getvalue()
