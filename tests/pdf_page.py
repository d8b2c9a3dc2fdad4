"""Reading a one-page PDF without a PDF library (none is installed): its cross-reference table checked against
the objects it points at, the page's MediaBox, its content stream decoded (ASCII85, Flate), the text drawn
and the filled rectangles, and the rectangles painted onto a bitmap, so that a QR code drawn as vector squares
can be read back by zbar. Enough for the badge PDF that reportlab writes; not a general PDF parser."""

import base64
import io
import re
import zlib
from dataclasses import dataclass, field

from PIL import Image, ImageDraw

_OBJ = re.compile(rb"(\d+) 0 obj\s*(.*?)endobj", re.S)
_TOKEN = re.compile(rb"\s*(?:(%[^\r\n]*)|(\()|(<[0-9A-Fa-f\s]*>)|(/[^\s/\[\]()<>]+)|([\[\]])|"
                    rb"([-+]?(?:\d+\.?\d*|\.\d+))|([A-Za-z'\"*]+))")


@dataclass
class Run:
    """Text shown by one Tj: where, in which font resource, at which size, and what it says."""

    x: float
    y: float
    font: str
    size: float
    text: str


@dataclass
class Page:
    width: float
    height: float
    content: bytes
    fonts: dict[str, bytes]
    rects: list[tuple[float, float, float, float, tuple[float, float, float]]] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    images: int = 0

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.runs)

    def raster(self, scale: float = 8.0) -> Image.Image:
        """The filled rectangles on white, ``scale`` pixels per point (the text and photo are left out)."""
        img = Image.new("RGB", (round(self.width * scale), round(self.height * scale)), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        for x, y, w, h, colour in self.rects:
            top = (self.height - (y + h)) * scale
            draw.rectangle((x * scale, top, (x + w) * scale - 1, top + h * scale - 1),
                           fill=tuple(round(c * 255) for c in colour))
        return img


def _literal(data: bytes, start: int) -> tuple[bytes, int]:
    """A PDF literal string beginning after the "(" at ``start``: its bytes and the index after its ")"."""
    out = bytearray()
    depth, i = 1, start
    escapes = {ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t", ord("b"): b"\b", ord("f"): b"\f"}
    while True:
        ch = data[i]
        if ch == 0x5C:  # backslash
            nxt = data[i + 1]
            if nxt in escapes:
                out += escapes[nxt]
                i += 2
            elif 0x30 <= nxt <= 0x37:
                digits = re.match(rb"[0-7]{1,3}", data[i + 1:i + 4])
                assert digits is not None
                out.append(int(digits.group(), 8) & 0xFF)
                i += 1 + len(digits.group())
            elif nxt in (0x0A, 0x0D):
                i += 2
            else:
                out.append(nxt)
                i += 2
            continue
        if ch == 0x28:
            depth += 1
        elif ch == 0x29:
            depth -= 1
            if depth == 0:
                return bytes(out), i + 1
        out.append(ch)
        i += 1


def _tokens(data: bytes) -> list[object]:
    tokens: list[object] = []
    i = 0
    while i < len(data):
        m = _TOKEN.match(data, i)
        if m is None or m.end() == i:
            if data[i:].strip():
                raise AssertionError(f"content stream: cannot read {data[i:i + 40]!r}")
            break
        i = m.end()
        comment, paren, hexstr, name, bracket, number, op = m.groups()
        if comment:
            continue
        if paren:
            value, i = _literal(data, i)
            tokens.append(value)
        elif hexstr:
            tokens.append(bytes.fromhex(re.sub(rb"\s", b"", hexstr[1:-1]).decode()))
        elif name:
            tokens.append(name.decode())
        elif bracket:
            tokens.append(bracket.decode() * 2)  # "[[" or "]]": never an operator's name
        elif number:
            tokens.append(float(number))
        else:
            tokens.append(op.decode())
    return tokens


def _decode(stream: bytes, header: bytes) -> bytes:
    filters = re.findall(rb"/(ASCII85Decode|FlateDecode)", header.split(b"stream")[0])
    for name in filters:
        if name == b"ASCII85Decode":
            stream = base64.a85decode(stream.strip().removesuffix(b"~>"), adobe=False)
        else:
            stream = zlib.decompress(stream)
    return stream


def read_pdf(data: bytes) -> Page:
    """The single page of ``data``; fails on a broken file (header, xref offsets, trailer, page count)."""
    assert data.startswith(b"%PDF-1."), data[:16]
    assert data.rstrip().endswith(b"%%EOF")
    start = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    assert data[start:start + 4] == b"xref", "startxref does not point at the cross-reference table"
    table = re.match(rb"xref\s+0 (\d+)\s+((?:\d{10} \d{5} [fn]\s*)+)", data[start:])
    assert table is not None
    entries = re.findall(rb"(\d{10}) (\d{5}) ([fn])", table.group(2))
    assert len(entries) == int(table.group(1))
    objects: dict[int, bytes] = {}
    for number, (offset, _gen, kind) in enumerate(entries):
        if kind == b"n":
            found = _OBJ.match(data, int(offset))
            assert found is not None and int(found.group(1)) == number, f"xref entry {number} points elsewhere"
            objects[number] = found.group(2)
    trailer = data[start:]
    root = re.search(rb"/Root (\d+) 0 R", trailer)
    assert root is not None and b"/Catalog" in objects[int(root.group(1))]
    pages = [body for body in objects.values() if re.search(rb"/Type /Page\b(?!s)", body)]
    assert len(pages) == 1, f"{len(pages)} pages"
    page = pages[0]
    box = re.search(rb"/MediaBox \[ ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) \]", page)
    contents = re.search(rb"/Contents (\d+) 0 R", page)
    assert box is not None and contents is not None
    body = objects[int(contents.group(1))]
    stream = re.search(rb"stream\r?\n(.*)endstream", body, re.S)
    assert stream is not None
    fonts = {m.group(1).decode(): objects[int(m.group(2))]
             for m in re.finditer(rb"/(F\d+) (\d+) 0 R", b"".join(objects.values()))}
    x0, y0, x1, y1 = (float(v) for v in box.groups())
    result = Page(x1 - x0, y1 - y0, _decode(stream.group(1), body), fonts)
    _interpret(result)
    return result


def _interpret(page: Page) -> None:
    stack: list[object] = []
    fill = (0.0, 0.0, 0.0)
    pending: list[tuple[float, float, float, float]] = []
    font, size, x, y = "", 0.0, 0.0, 0.0
    for token in _tokens(page.content):
        if not isinstance(token, str) or token.startswith("/") or token in ("[[", "]]"):
            stack.append(token)
            continue
        nums = [v for v in stack if isinstance(v, float)]
        if token == "rg":
            fill = (nums[-3], nums[-2], nums[-1])
        elif token == "re":
            pending.append((nums[-4], nums[-3], nums[-2], nums[-1]))
        elif token in ("f", "f*"):
            page.rects += [(*r, fill) for r in pending]
            pending = []
        elif token in ("n", "S"):  # a path ended unpainted, or stroked: no filled rectangles
            pending = []
        elif token == "Tf":
            font, size = str(stack[-2]), float(nums[-1])
        elif token == "Tm":
            x, y = nums[-2], nums[-1]
        elif token == "Tj":
            raw = stack[-1]
            assert isinstance(raw, bytes)
            cid = b"/Type0" in page.fonts.get(font.lstrip("/"), b"")
            page.runs.append(Run(x, y, font, size, raw.decode("utf-16-be") if cid else raw.decode("latin-1")))
        elif token == "Do":
            page.images += 1
        stack = []


def png_of(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()
