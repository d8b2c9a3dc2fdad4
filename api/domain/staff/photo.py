"""The ID photo printed on the badge and shown to citizens who verify it: a real JPEG or PNG, of sane size.

Refusals use the same codes as a citizen's badge photo (``verification.photo``): ``image_too_large`` (413,
bytes), ``unsupported_image_type`` (415), ``image_too_many_pixels`` (422), ``image_unreadable`` (422).

What the upload claims to be is not trusted: Pillow reads the header and checks the file's structure, and
the pixel count is bounded before anything is decoded, so a small file cannot unpack into gigabytes.

What is stored is the picture alone (``api.domain.images.strip_metadata``): a phone's photo carries its GPS
position, time and device in EXIF, and this photo is shown to any citizen who scans a valid badge.
"""

import io

from PIL import Image, UnidentifiedImageError

from api.domain.images import CleanImage, PhotoRefused, strip_metadata

ALLOWED_TYPES: dict[str, str] = {"JPEG": "image/jpeg", "PNG": "image/png"}
MAX_PIXELS = 40_000_000


def image_too_large(limit: int) -> PhotoRefused:
    return PhotoRefused(413, "image_too_large", f"照片不能超过 {limit} 字节",
                        f"the photo exceeds {limit} bytes", max_bytes=limit)


def unsupported_type(declared: str | None) -> PhotoRefused:
    return PhotoRefused(415, "unsupported_image_type", "照片只能是 JPEG 或 PNG 格式",
                        "the photo must be a JPEG or PNG", content_type=declared or "")


def check_photo(data: bytes, *, declared_type: str | None, max_bytes: int) -> str:
    """Return the photo's real media type, or refuse it (413 too big, 415 not JPEG/PNG, 422 not an image)."""
    if len(data) > max_bytes:
        raise image_too_large(max_bytes)
    if declared_type not in (*ALLOWED_TYPES.values(), "image/jpg", "application/octet-stream", None):
        raise unsupported_type(declared_type)
    invalid = PhotoRefused(422, "image_unreadable", "文件不是有效的图片", "the file is not a valid image")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
            if fmt not in ALLOWED_TYPES:
                raise unsupported_type(declared_type)
            if width * height > MAX_PIXELS:
                raise _too_many_pixels(width, height)
            img.verify()
    # Pillow's own bomb check errors past twice its limit, and warns below that; a process that turns
    # warnings into errors raises the warning. Both lie far above MAX_PIXELS: refuse them the same way.
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _too_many_pixels(0, 0) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise invalid from None
    return ALLOWED_TYPES[fmt]


def _too_many_pixels(width: int, height: int) -> PhotoRefused:
    return PhotoRefused(422, "image_too_many_pixels", f"图片像素过多（上限 {MAX_PIXELS} 像素）",
                        f"the image has too many pixels (limit {MAX_PIXELS})", width=width, height=height)


def clean_id_photo(data: bytes, *, declared_type: str | None, max_bytes: int) -> CleanImage:
    """The photo as it will be stored: checked as above, then re-encoded without EXIF or any metadata."""
    check_photo(data, declared_type=declared_type, max_bytes=max_bytes)
    return strip_metadata(data)
