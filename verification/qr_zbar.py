"""One zbar pass over a grayscale image, QR codes only, returning the raw bytes each symbol holds.

``pyzbar.decode`` enables every symbology (1-D scanners then read false barcodes out of textures and
waste time) and lets zbar re-encode QR byte segments by guessing their charset. A badge URL must come
back byte for byte, so the scanner here is set up through pyzbar's ctypes wrapper instead: QR only, and
zbar's ``binary`` option so the bytes are those printed (zbar's charset guess turns a UTF-8 URL with
Chinese in it into Shift-JIS mojibake); the caller decodes them as UTF-8, and only for a payload that is
not UTF-8 asks again with ``binary=False`` to let zbar convert it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from ctypes import byref, c_char_p, c_int, c_void_p, cast, string_at
from typing import Any

from PIL import Image

try:
    from pyzbar import wrapper as _zbar  # type: ignore[import-untyped]
except ImportError:  # pyzbar is installed but the libzbar0 shared library is not
    _zbar = None

ZBAR_MISSING_REASON = "libzbar is not installed (apt-get install libzbar0)"
_QRCODE = 64
_Y800 = 0x30303859  # fourcc "Y800": 8-bit grayscale, what zbar scans natively


class ZbarUnavailable(RuntimeError):
    """The zbar shared library could not be loaded, so no photo can be decoded."""


def zbar_available() -> bool:
    return _zbar is not None


def _parsed_config(name: bytes) -> tuple[int, int, int] | None:
    """Resolve a zbar option by name, so the numbers follow whatever libzbar is installed."""
    symbology, config, value = c_int(), c_int(), c_int()
    if _zbar.zbar_parse_config(name, byref(symbology), byref(config), byref(value)) != 0:
        return None
    return symbology.value, config.value, value.value


@contextmanager
def _scanner(*, binary: bool) -> Iterator[Any]:
    scanner = _zbar.zbar_image_scanner_create()
    try:
        # symbology 0 means "all": switch everything off, then QR back on.
        _zbar.zbar_image_scanner_set_config(scanner, 0, 0, 0)
        _zbar.zbar_image_scanner_set_config(scanner, _QRCODE, 0, 1)
        raw = _parsed_config(b"qrcode.binary") if binary else None
        if raw is not None:
            _zbar.zbar_image_scanner_set_config(scanner, *raw)
        yield scanner
    finally:
        _zbar.zbar_image_scanner_destroy(scanner)


def scan_qr(image: Image.Image, *, binary: bool = True) -> list[bytes]:
    """The payloads of every QR code zbar finds in ``image``, largest symbol first."""
    if _zbar is None:
        raise ZbarUnavailable(ZBAR_MISSING_REASON)
    if image.mode != "L":
        image = image.convert("L")
    pixels = image.tobytes()
    width, height = image.size
    found: list[tuple[int, bytes]] = []
    with _scanner(binary=binary) as scanner:
        zimage = _zbar.zbar_image_create()
        try:
            _zbar.zbar_image_set_format(zimage, _Y800)
            _zbar.zbar_image_set_size(zimage, width, height)
            _zbar.zbar_image_set_data(zimage, cast(c_char_p(pixels), c_void_p), len(pixels), None)
            if _zbar.zbar_scan_image(scanner, zimage) < 0:
                return []
            symbol = _zbar.zbar_image_first_symbol(zimage)
            while symbol:
                if symbol.contents.type == _QRCODE:
                    length = _zbar.zbar_symbol_get_data_length(symbol)
                    data = string_at(_zbar.zbar_symbol_get_data(symbol), length)
                    found.append((_symbol_area(symbol), data))
                symbol = _zbar.zbar_symbol_next(symbol)
        finally:
            _zbar.zbar_image_destroy(zimage)
    # The badge's code is the one the citizen aimed at, so the biggest wins over a stray sticker.
    found.sort(key=lambda item: -item[0])
    return [data for _, data in found]


def _symbol_area(symbol: Any) -> int:
    points = _zbar.zbar_symbol_get_loc_size(symbol)
    xs = [_zbar.zbar_symbol_get_loc_x(symbol, i) for i in range(points)]
    ys = [_zbar.zbar_symbol_get_loc_y(symbol, i) for i in range(points)]
    if not xs:
        return 0
    return int((max(xs) - min(xs)) * (max(ys) - min(ys)))
