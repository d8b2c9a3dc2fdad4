"""Read the QR code in a citizen's photo of a badge, fast when the photo is good and patiently when not.

Most photos are easy: a quarter-scale image (JPEG decoded at 1/2 scale by libjpeg itself, then halved)
scans in about 20 ms. The rest go down ``PLAN``, a cascade of ever costlier looks at the candidate regions
``qr_regions`` finds: first, where the best region is smeared one way, that region with the camera shake
divided out (``qr_deblur``); then full-resolution crops scaled to a module size zbar handles, binarised
against their local mean (dim light, shadows, glare), with a focus blur divided out (a soft code), sharpened
(blur), contrast-stretched, larger or smaller; the whole frame at half and full scale come last, for a code
the region finder missed. Every photo gets a time budget; the cascade stops at the first code read or when
the budget is spent, and near its end skips the costly looks rather than let one run far past it.

zbar does most of the reading. Where the cascade also has zxing-cpp (optional: ``pip install zxing-cpp``), it
gives the best region a second opinion at three scales once zbar's first looks have failed (its binariser
and its sampling grid read some soft, dim or steeply tilted codes zbar's scanlines cannot), and reads the
region with the shake divided out at two finer scales, trying each of its binarisers. Without zxing-cpp
those steps are skipped and everything else works the same.
"""

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from PIL import Image

from verification.qr_deblur import deshake, focus_blur, refocus
from verification.qr_regions import (
    Region,
    adaptive_threshold,
    crop_around,
    find_regions,
    resize_by,
    sharpen,
    stretch_contrast,
)
from verification.qr_zbar import scan_qr

try:
    import zxingcpp
except ImportError:  # optional: without it the cascade is zbar alone
    zxingcpp = None  # type: ignore[assignment]

DEFAULT_BUDGET_S = 0.3
"""Wall time per photo, JPEG decoding included; the step under way when it runs out still finishes."""
_NS_PER_PIXEL = 20
"""What a zbar pass costs per pixel scanned, measured; a step that cannot finish in time is skipped."""
_CROP_SPAN = 1.6
"""A region's crop over the code's side (``crop_around``'s margin on both sides), for a step's cost."""
_COSTLY_PIXELS = 1_000_000
"""A region step scanning this many pixels or more (code spans of 800, a restored crop) is a costly one."""
_SEARCH_LEVEL = 4
_ORIENTATION_TAG = 0x0112
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

Look = Callable[[Image.Image, int], Image.Image | None]
"""A clean-up applied before scanning; gets the image and the code's expected size in pixels. None: the
clean-up does not apply to this image (nothing to scan)."""
Reader = Callable[[Image.Image], list[bytes]]
"""A QR scanner: the payloads of the codes it finds in a grayscale image, largest first."""


_BINARIZERS = () if zxingcpp is None else (
    zxingcpp.Binarizer.LocalAverage, zxingcpp.Binarizer.FixedThreshold, zxingcpp.Binarizer.GlobalHistogram)


def zxing_available() -> bool:
    return zxingcpp is not None


def scan_zxing(image: Image.Image, binarizer: "zxingcpp.Binarizer | None" = None) -> list[bytes]:
    """zxing-cpp's reading of ``image``, QR codes only, raw bytes, largest symbol first; thresholded by its
    default binariser (a local mean) unless ``binarizer`` names another."""
    if zxingcpp is None:
        return []
    found = zxingcpp.read_barcodes(
        image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode), try_rotate=False, try_invert=False,
        binarizer=zxingcpp.Binarizer.LocalAverage if binarizer is None else binarizer,
    )
    found.sort(key=lambda code: -_quad_area(code.position))
    return [bytes(code.bytes) for code in found if code.valid]


def _quad_area(position: "zxingcpp.Position") -> int:
    points = (position.top_left, position.top_right, position.bottom_right, position.bottom_left)
    twice = sum(a.x * b.y - b.x * a.y for a, b in zip(points, (*points[1:], points[0]), strict=True))
    return abs(twice) // 2


def _plain(image: Image.Image, size: int) -> Image.Image:
    return image


def _binarised(image: Image.Image, size: int) -> Image.Image:
    # A window some three modules wide (size / 20 for the 57-module codes badges carry) keeps each
    # module's neighbourhood mixed black and white, so the local mean is a fair threshold.
    return adaptive_threshold(image, max(2, size // 20))


def _sharpened(image: Image.Image, size: int) -> Image.Image:
    return sharpen(image)


def _stretched(image: Image.Image, size: int) -> Image.Image:
    return stretch_contrast(image)


def _deshaken(image: Image.Image, size: int) -> Image.Image | None:
    return deshake(image)


_MODULES_ACROSS = 60
"""About how many modules a badge's code spans, quiet zone included (version 10 to 13): a step's ``size``
over this is the module's size in pixels."""


_SOFT = 0.25
"""A code whose edges are softer than a Gaussian of this many modules (``focus_blur``) is worth refocusing;
a sharp one is left to the other looks, and the budget to them."""


def _soft(image: Image.Image, size: int) -> bool:
    return focus_blur(image) >= _SOFT * size / _MODULES_ACROSS


def _refocused(image: Image.Image, size: int) -> Image.Image | None:
    # A focus blur of a third of a module divided out, the filter holding back where noise would win.
    return refocus(image, 0.35 * size / _MODULES_ACROSS, 0.01) if _soft(image, size) else None


def _refocused_more(image: Image.Image, size: int) -> Image.Image | None:
    return refocus(image, 0.5 * size / _MODULES_ACROSS, 0.003) if _soft(image, size) else None


def scan_zxing_thresholds(image: Image.Image) -> list[bytes]:
    """zxing-cpp with each of its binarisers in turn (local mean, fixed, histogram) until one reads: a code
    with the shake divided out rings at its edges, and which threshold that ringing fools differs by photo."""
    for binarizer in _BINARIZERS:
        found = scan_zxing(image, binarizer)
        if found:
            return found
    return []


def scan_zxing_then_zbar(image: Image.Image) -> list[bytes]:
    """Both readers on one costly look: each reads some restored codes the other cannot."""
    return scan_zxing(image) or scan_qr(image)


@dataclass(frozen=True)
class Step:
    """One look: the whole frame at 1/``level`` scale, or the best ``regions`` scaled so the code spans
    ``size`` pixels."""

    look: Look
    size: int = 0
    regions: int = 1
    level: int = 1
    reader: Reader = scan_qr
    weight: float = 1.0
    """How many zbar passes over the region's pixels the step costs: more for a look that works hard."""

    @property
    def whole_frame(self) -> bool:
        return self.size == 0

    @property
    def region_pixels(self) -> int:
        return round(self.weight * (_CROP_SPAN * self.size) ** 2)


PLAN: tuple[Step, ...] = (
    Step(_plain, level=4),
    # Camera shake divided out (qr_deblur), only where the region's edges show a direction of smear; early,
    # because no other look reads a code smeared over several modules and the budget would be spent first.
    Step(_deshaken, size=300, reader=scan_zxing_then_zbar, weight=6),
    Step(_binarised, size=400),
    Step(_plain, size=560),
    # zxing-cpp, when installed, after zbar's first looks at the best region have failed (see the top).
    Step(_plain, size=400, reader=scan_zxing),
    Step(_plain, size=280, reader=scan_zxing),
    # The shake divided out at finer scales, for codes smeared over less than a module or two, which the
    # first deshake look at 300 pixels is too coarse to restore; read by zxing-cpp's binarisers in turn.
    Step(_deshaken, size=400, reader=scan_zxing_thresholds, weight=6),
    Step(_deshaken, size=560, reader=scan_zxing_thresholds, weight=6),
    # A focus blur divided out (qr_deblur.refocus), for a code too soft for every look above, and only where
    # the region's edges are soft (``_soft``): first a third of a module, then half a module at a finer scale;
    # read by zxing-cpp's binarisers in turn.
    Step(_refocused, size=300, reader=scan_zxing_thresholds, weight=6),
    Step(_refocused_more, size=400, reader=scan_zxing_thresholds, weight=6),
    Step(_sharpened, size=800, reader=scan_zxing),
    Step(_sharpened, size=280),
    Step(_binarised, size=800),
    Step(_sharpened, size=400),
    Step(_stretched, size=560),
    Step(_binarised, size=400, regions=3),
    Step(_plain, size=280, regions=3),
    Step(_plain, level=2),
    Step(_binarised, size=280),
    Step(_plain, level=1),
)


_NEEDS_ZXING = (scan_zxing, scan_zxing_thresholds)


class Pyramid:
    """Grayscale views of one photo at 1/1, 1/2 and 1/4 scale, EXIF-upright, each decoded on first use."""

    def __init__(self, decode_level: Callable[[int], Image.Image]) -> None:
        self._decode_level = decode_level
        self._levels: dict[int, Image.Image] = {}

    def level(self, k: int) -> Image.Image:
        if k not in self._levels:
            self._levels[k] = self._decode_level(k)
        return self._levels[k]

    @classmethod
    def of_image(cls, image: Image.Image) -> "Pyramid":
        def decode_level(k: int) -> Image.Image:
            if k == 1:
                return _upright_gray(image, _orientation(image))
            return pyramid.level(1).reduce(k)

        pyramid = cls(decode_level)
        return pyramid

    @classmethod
    def of_bytes(cls, data: bytes) -> "Pyramid":
        """From an encoded photo; JPEGs are decoded at reduced scale by libjpeg (draft mode), far cheaper."""

        def decode_level(k: int) -> Image.Image:
            if k == _SEARCH_LEVEL:
                return pyramid.level(2).reduce(2)
            if k > 1 and not is_jpeg:
                return pyramid.level(1).reduce(k)
            with Image.open(io.BytesIO(data)) as image:
                # Gray straight out of the decoder skips the colour conversion, at any scale.
                image.draft("L", (image.width // k, image.height // k))
                gray = _upright_gray(image, _orientation(image))
            return gray

        with Image.open(io.BytesIO(data)) as probe:
            is_jpeg = probe.format in ("JPEG", "MPO")
        pyramid = cls(decode_level)
        return pyramid


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation, and nothing else from EXIF: location and device stay unread."""
    value = image.getexif().get(_ORIENTATION_TAG, 1)
    return value if isinstance(value, int) else 1


def _upright_gray(image: Image.Image, orientation: int) -> Image.Image:
    gray = image.convert("L")
    method = _TRANSPOSE.get(orientation)
    return gray.transpose(method) if method is not None else gray


class _Budget:
    def __init__(self, seconds: float) -> None:
        self._deadline = time.perf_counter() + seconds

    def spent(self) -> bool:
        return time.perf_counter() >= self._deadline

    def affords(self, pixels: int) -> bool:
        return time.perf_counter() + pixels * _NS_PER_PIXEL * 1e-9 < self._deadline


def _looks(pyramid: Pyramid, plan: tuple[Step, ...], budget: _Budget) -> Iterator[tuple[Image.Image, Reader]]:
    """The images to scan, and what to scan them with, in ``plan`` order, each prepared only when the
    previous one has failed. Steps for a reader that is not installed are skipped."""
    regions: list[Region] | None = None
    for step in plan:
        if step.reader in _NEEDS_ZXING and not zxing_available():
            continue
        if step.whole_frame:
            frame = pyramid.level(step.level)
            if budget.affords(frame.width * frame.height):
                looked = step.look(frame, 0)
                if looked is not None:
                    yield looked, step.reader
            continue
        if regions is None:
            regions = find_regions(pyramid.level(_SEARCH_LEVEL))
        for region in regions[: step.regions]:
            # Near the end of the budget a costly look is skipped rather than let run far past it; cheap
            # ones still run, as a step under way always finishes.
            if step.region_pixels >= _COSTLY_PIXELS and not budget.affords(step.region_pixels):
                continue
            looked = _region_look(pyramid, region, step)
            if looked is not None:
                yield looked, step.reader


def _region_look(pyramid: Pyramid, region: Region, step: Step) -> Image.Image | None:
    """``region`` cut from the full-resolution image, scaled so the code spans ``step.size`` pixels."""
    full = pyramid.level(1)
    search = pyramid.level(_SEARCH_LEVEL)
    in_full = region.scaled(full.width / search.width)
    crop = crop_around(full, in_full)
    scaled = resize_by(crop, step.size / max(1, in_full.side))
    return step.look(scaled, step.size)


def _as_text(payload: bytes, scanned: Image.Image) -> str:
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        # Not a badge (ours are UTF-8): some other code in a legacy charset, which zbar can convert.
        converted = scan_qr(scanned, binary=False)
        return (converted[0] if converted else payload).decode("utf-8", errors="replace")


def _first_text(pyramid: Pyramid, budget_s: float, plan: tuple[Step, ...]) -> str | None:
    budget = _Budget(budget_s)
    for candidate, reader in _looks(pyramid, plan, budget):
        payloads = reader(candidate)
        if payloads:
            return _as_text(payloads[0], candidate)
        if budget.spent():
            break
    return None


def decode_qr(
    image: Image.Image, *, budget_s: float = DEFAULT_BUDGET_S, plan: tuple[Step, ...] = PLAN
) -> str | None:
    """The text of the QR code in ``image`` (largest first if several), or None when none can be read.

    Raises ``ZbarUnavailable`` when libzbar is not installed.
    """
    return _first_text(Pyramid.of_image(image), budget_s, plan)


def decode_qr_bytes(
    data: bytes, *, budget_s: float = DEFAULT_BUDGET_S, plan: tuple[Step, ...] = PLAN
) -> str | None:
    """Like ``decode_qr`` but from the encoded photo, which lets JPEGs be decoded at reduced scale.

    ``data`` must already have passed the upload checks in ``verification.photo``: this function trusts
    the format and the pixel count.
    """
    return _first_text(Pyramid.of_bytes(data), budget_s, plan)
