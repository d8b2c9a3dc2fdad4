"""The gate a citizen's badge photo passes before anything decodes it, and the sandbox that decodes it.

Anyone may upload, so every upload is treated as hostile, cheapest check first: the byte count before
parsing anything; the format by its magic bytes and again by what Pillow's header parser says it is
(JPEG, PNG, WebP, and HEIC when pillow-heif is installed); the pixel count from the header, so a
decompression bomb (a few KB that inflate to gigapixels) is refused before one pixel is decoded.

Pixels are decoded, and zbar run, only in a worker process: zbar has known crashes and endless loops on
crafted input, and an image library's bug should cost one worker, not the service. A worker that dies or
overruns ``timeout_s`` is killed and replaced; the caller gets ``decoder_unavailable`` (503) and the next
photo goes to a fresh worker; workers are also recycled by photo count and by memory
(``verification.decoder_pool``). Nothing of the photo is kept: no file is written, nothing is logged, and
of its EXIF only the orientation is read.

Refusals (``PhotoRejected.code``, HTTP status):
    image_too_large         413  more bytes than allowed
    unsupported_image_type  415  not an accepted format, by magic bytes or by Pillow's reading
    image_too_many_pixels   422  the header declares more pixels than allowed (decompression bomb)
    image_unreadable        422  corrupt or truncated
    decoder_unavailable     503  the worker crashed, timed out or could not start, all stayed busy, or no libzbar
"""

import io

from PIL import Image, UnidentifiedImageError

from verification.decoder_pool import DecoderUnavailable, decoder_pool
from verification.decoder_pool import Outcome as Outcome
from verification.decoder_pool import Task as Task
from verification.decoder_pool import shutdown_decoder_pool as shutdown_decoder_pool
from verification.decoder_pool import start_decoder_pool as start_decoder_pool

MAX_BYTES = 15 * 1024 * 1024
MAX_PIXELS = 40_000_000
DEFAULT_TIMEOUT_S = 5.0
"""Far above the decoder's own per-photo budget (0.3 s): reaching it means a worker is stuck, not slow."""

_HTTP_STATUS = {
    "image_too_large": 413,
    "unsupported_image_type": 415,
    "image_too_many_pixels": 422,
    "image_unreadable": 422,
    "decoder_unavailable": 503,
}


class PhotoRejected(Exception):
    """The photo was refused or cannot be decoded now; ``code`` is stable, the details are for people."""

    def __init__(self, code: str, detail_en: str, detail_zh: str) -> None:
        super().__init__(f"{code}: {detail_en}")
        self.code = code
        self.detail_en = detail_en
        self.detail_zh = detail_zh
        self.http_status = _HTTP_STATUS[code]


def _unreadable() -> PhotoRejected:
    return PhotoRejected(
        "image_unreadable",
        "The photo is damaged or incomplete and cannot be read; please take it again.",
        "照片已损坏或不完整，无法读取，请重新拍摄。",
    )


def _unavailable() -> PhotoRejected:
    return PhotoRejected(
        "decoder_unavailable",
        "The QR decoder is temporarily unavailable; please try again shortly.",
        "二维码识别暂时不可用，请稍后重试。",
    )


# --- the gate -------------------------------------------------------------------------------------------

_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
# Pillow names a JPEG that carries extra frames (phones' depth maps) MPO; its first frame is the photo.
_PILLOW_FORMATS = {"JPEG": ("JPEG", "MPO"), "PNG": ("PNG",), "WEBP": ("WEBP",), "HEIF": ("HEIF",)}


def heif_supported() -> bool:
    """Whether pillow-heif is installed; HEIC is accepted only then. Registers its opener on first call."""
    try:
        from pillow_heif import register_heif_opener  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return False
    register_heif_opener()
    return True


def _sniff(data: bytes) -> str | None:
    """The format the magic bytes claim, among the accepted ones."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS and heif_supported():
        return "HEIF"
    return None


def _accepted_names() -> tuple[str, str]:
    if heif_supported():
        return "JPEG, PNG, WebP or HEIC", "JPEG、PNG、WebP 或 HEIC"
    return "JPEG, PNG or WebP", "JPEG、PNG 或 WebP"


def check_upload(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse ``data`` unless it is an accepted image of acceptable size; decodes no pixels."""
    if len(data) > max_bytes:
        raise PhotoRejected(
            "image_too_large",
            f"The photo is larger than {max_bytes / 2**20:g} MB.",
            f"照片大于 {max_bytes / 2**20:g} MB。",
        )
    claimed = _sniff(data)
    pillow_format: str | None = None
    size = (0, 0)
    if claimed is not None:
        try:
            with Image.open(io.BytesIO(data), formats=list(_PILLOW_FORMATS[claimed][:1])) as image:
                pillow_format, size = image.format, image.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            size = (max_pixels + 1, 1)
            pillow_format = _PILLOW_FORMATS[claimed][0]
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise _unreadable() from exc
    if claimed is None or pillow_format not in _PILLOW_FORMATS[claimed]:
        english, chinese = _accepted_names()
        raise PhotoRejected(
            "unsupported_image_type", f"Only {english} photos are accepted.", f"仅支持 {chinese} 格式的照片。"
        )
    megapixels, limit = size[0] * size[1] / 1e6, max_pixels / 1e6
    if size[0] * size[1] > max_pixels:
        raise PhotoRejected(
            "image_too_many_pixels",
            f"The photo has {megapixels:.0f} megapixels; at most {limit:g} are accepted.",
            f"照片有 {megapixels:.0f} 百万像素，上限为 {limit:g} 百万像素。",
        )


# --- the worker -----------------------------------------------------------------------------------------


def decode_in_worker(data: bytes, max_pixels: int) -> Outcome:
    """What a worker does per photo; runs in the worker process only."""
    from verification.qr import decode_qr_bytes
    from verification.qr_zbar import ZbarUnavailable

    heif_supported()
    # A second line behind check_upload: Pillow itself refuses to decode past the limit.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        return "text", decode_qr_bytes(data)
    except ZbarUnavailable:
        return "refused", "decoder_unavailable"
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return "refused", "image_unreadable"


_worker_task: Task = decode_in_worker
"""The function workers run per photo; tests swap in one that crashes or hangs to prove it is contained."""


def decode_badge_photo(
    data: bytes,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> str | None:
    """The text of the QR code in an uploaded photo, or None when the photo shows no readable code.

    Raises ``PhotoRejected`` for a refused upload or when decoding failed for want of a working decoder.
    """
    check_upload(data, max_bytes=max_bytes, max_pixels=max_pixels)
    try:
        kind, value = decoder_pool().run(_worker_task, data, max_pixels, timeout_s)
    except DecoderUnavailable as exc:
        raise _unavailable() from exc
    if kind == "text":
        return value
    if value == "image_unreadable":
        raise _unreadable()
    raise _unavailable()
