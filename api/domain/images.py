"""Photos kept for people to look at (an auxiliary's ID photo, a complainant's photo) are stored as their
picture and nothing else: re-encoded from the decoded pixels, so no EXIF (a phone's GPS position, the time,
the device and its serial number), XMP, IPTC, ICC profile, comment, embedded thumbnail or trailing bytes
survive. The orientation the EXIF asked for is applied to the pixels first, so the photo still stands the
right way up; colours in a camera's own profile (Display P3) are converted to sRGB before the profile goes.

Evidence files of tasks never pass through here: their bytes are the evidence (第十条(三)), see
``api.domain.fieldwork.evidence``.

Callers bound the input first (bytes, format, pixel count: ``api.domain.staff.photo.check_photo``,
``verification.photo.check_upload``): this module decodes pixels.
"""

import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from api.domain.errors import DomainError

JPEG_QUALITY = 90


class PhotoRefused(DomainError):
    """A photo refused by size (413), format (415) or content (422); ``code`` as ``verification.photo``."""

    def __init__(self, status: int, code: str, detail_zh: str, detail_en: str, **extra: object) -> None:
        super().__init__(code, detail_zh, detail_en)
        self.status = status
        self.extra = extra


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    media_type: str
    width: int
    height: int


def _unreadable() -> PhotoRefused:
    return PhotoRefused(422, "image_unreadable", "文件不是有效的图片", "the file is not a valid image")


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"),
                                              outputMode=image.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image  # a broken profile: the pixels as they are, without it
    return converted if converted is not None else image


def strip_metadata(data: bytes) -> CleanImage:
    """The picture in ``data`` alone, re-encoded: a PNG stays PNG (screenshots, drawings: lossless), any
    other format becomes a JPEG at quality 90."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            lossless = opened.format == "PNG"
            icc = opened.info.get("icc_profile")
            upright = ImageOps.exif_transpose(opened)  # a new image, the orientation applied to its pixels
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _unreadable() from None
    if lossless:
        wanted = upright.mode if upright.mode in ("L", "RGB", "RGBA") else (
            "RGBA" if upright.has_transparency_data else "RGB")
    else:
        wanted = "L" if upright.mode in ("1", "L", "I;16") else "RGB"
    picture = _to_srgb(upright.convert(wanted) if upright.mode != wanted else upright, icc)
    # A fresh image holding only the pixels: nothing of the original's info (exif, icc_profile, xmp, dpi,
    # comments, PNG text chunks) can reach the encoder, which falls back to ``info`` for some of them.
    clean = Image.new(picture.mode, picture.size)
    clean.paste(picture)
    out = io.BytesIO()
    if lossless:
        clean.save(out, format="PNG", optimize=False)
    else:
        clean.save(out, format="JPEG", quality=JPEG_QUALITY)
    return CleanImage(out.getvalue(), "image/png" if lossless else "image/jpeg", clean.width, clean.height)
