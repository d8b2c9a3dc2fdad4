"""Photos as phones make them: EXIF with a GPS position, the camera, an orientation, a colour profile and a
comment, so a test can tell whether any of it survived."""

import io

from PIL import ExifTags, Image, ImageCms

GPS_LAT = (32.0, 2.0, 30.5)  # 32°02'30.5" N: Xinjiekou
GPS_LON = (118.0, 46.0, 40.2)
CAMERA = "AuxdutyTestPhone 9 Pro"


def phone_photo(fmt: str = "JPEG", size: tuple[int, int] = (96, 128), orientation: int = 6) -> bytes:
    """A ``size`` picture (left half red, right half blue) with EXIF GPS, Make/Model and ``orientation``."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "AuxdutyTest"
    exif[ExifTags.Base.Model] = CAMERA
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: GPS_LAT,
        ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: GPS_LON,
    }
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    extra = {"comment": b"shot at Xinjiekou"} if fmt == "JPEG" else {}
    image.save(buf, format=fmt, exif=exif.tobytes(), icc_profile=icc, **extra)
    return buf.getvalue()


def assert_no_metadata(data: bytes) -> Image.Image:
    """Fail if ``data`` carries EXIF, a colour profile, XMP, a comment or any text chunk; return the image."""
    image = Image.open(io.BytesIO(data))
    assert len(image.getexif()) == 0, dict(image.getexif())
    leaked = {k for k in image.info if k in ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment",
                                                "photoshop", "adobe", "dpi")}
    assert not leaked, leaked
    for needle in (b"Exif", CAMERA.encode(), b"AuxdutyTest", b"Xinjiekou", b"ICC_PROFILE", b"iCCP",
                   b"tEXt", b"iTXt", b"zTXt", b"eXIf"):
        assert needle not in data, needle
    return image
