"""Camera shake divided back out of a code's region (verification.qr_deblur), and the cascade step using it."""

import math

import pytest
from PIL import Image, ImageFilter

from tests.verification.test_qr import BADGE_URL, NO_HURRY, jpeg_bytes, photo_of, qr_image
from verification import qr
from verification.qr_deblur import deshake, estimate_shake
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

pytestmark = pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)

WITHOUT_DESHAKE = tuple(step for step in qr.PLAN if step.look is not qr._deshaken)
# (length in pixels, angle in degrees, pixels per module): a smear over two to four modules.
SHAKES = [(14, 30, 5), (12, 120, 4), (16, 75, 5)]


def shaken(image: Image.Image, length: float, angle: float) -> Image.Image:
    """``image`` smeared along a straight line, as a hand moving during the exposure leaves it."""
    turned = image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True)
    smeared = turned.filter(ImageFilter.BoxBlur((length / 2, 0)))
    back = smeared.rotate(-angle, resample=Image.Resampling.BILINEAR, expand=True)
    left, top = (back.width - image.width) // 2, (back.height - image.height) // 2
    return back.crop((left, top, left + image.width, top + image.height))


def shaken_photo(length: float, angle: float, scale: int) -> bytes:
    code = qr_image(scale=scale).rotate(20, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    return jpeg_bytes(shaken(photo_of(code, size=(1600, 1200), at=(500, 300)), length, angle))


@pytest.mark.parametrize(("length", "angle", "scale"), SHAKES)
def test_shake_direction_and_length_are_read_off_the_blurred_code(length: int, angle: int, scale: int) -> None:
    code = qr_image(scale=scale)
    found = estimate_shake(shaken(photo_of(code, size=(900, 900), at=(150, 150)), length, angle).crop(
        (100, 100, 200 + code.width, 200 + code.height)))
    assert found is not None
    turn = abs(math.degrees(found.angle) - angle) % 180
    assert min(turn, 180 - turn) < 6
    assert length - 1 <= found.length <= length + 3  # the smear spans length + 1 pixels


def test_a_sharp_code_is_not_taken_for_a_shaken_one() -> None:
    assert deshake(qr_image(scale=5)) is None


@pytest.mark.parametrize(("length", "angle", "scale"), SHAKES)
def test_shaken_photo_is_read_only_with_the_shake_divided_out(length: int, angle: int, scale: int) -> None:
    data = shaken_photo(length, angle, scale)
    assert qr.decode_qr_bytes(data, budget_s=NO_HURRY, plan=WITHOUT_DESHAKE) is None
    assert qr.decode_qr_bytes(data, budget_s=NO_HURRY) == BADGE_URL


def test_near_the_end_of_the_budget_the_deshake_look_is_skipped_but_cheap_looks_still_run() -> None:
    pyramid = qr.Pyramid.of_bytes(shaken_photo(14, 30, 5))
    spent = qr._Budget(0.0)
    deshake_step = next(step for step in qr.PLAN if step.look is qr._deshaken)
    assert list(qr._looks(pyramid, (deshake_step,), spent)) == []
    assert len(list(qr._looks(pyramid, (qr.Step(qr._plain, size=400),), spent))) == 1


FINER = tuple(step for step in qr.PLAN if step.look is qr._deshaken and step.reader is qr.scan_zxing_thresholds)
WITHOUT_FINER = tuple(step for step in qr.PLAN if step not in FINER)


@pytest.mark.skipif(not qr.zxing_available(), reason="zxing-cpp is not installed")
@pytest.mark.parametrize(("length", "angle", "scale"), [(22, 160, 4), (10, 160, 5), (18, 15, 5), (18, 160, 5)])
def test_a_smear_the_coarse_deshake_look_misses_is_read_at_a_finer_scale(length: int, angle: int, scale: int) -> None:
    assert len(FINER) == 2
    data = shaken_photo(length, angle, scale)
    assert qr.decode_qr_bytes(data, budget_s=NO_HURRY, plan=WITHOUT_FINER) is None
    assert qr.decode_qr_bytes(data, budget_s=NO_HURRY) == BADGE_URL


@pytest.mark.skipif(not qr.zxing_available(), reason="zxing-cpp is not installed")
def test_each_binariser_is_tried_until_one_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    tried: list[object] = []
    zxingcpp = pytest.importorskip("zxingcpp")
    read = zxingcpp.read_barcodes

    def counted(image: Image.Image, **options: object) -> object:
        tried.append(options["binarizer"])
        # The local mean "fails" here, so the fixed threshold must be asked next.
        return [] if len(tried) == 1 else read(image, **options)

    monkeypatch.setattr(zxingcpp, "read_barcodes", counted)
    assert qr.scan_zxing_thresholds(qr_image()) == [BADGE_URL.encode()]
    assert tried == list(qr._BINARIZERS[:2])


REFOCUS = tuple(step for step in qr.PLAN if step.look in (qr._refocused, qr._refocused_more))
WITHOUT_REFOCUS = tuple(step for step in qr.PLAN if step not in REFOCUS)


def defocused_photo(scale: int, sigma_modules: float) -> bytes:
    """A code out of focus: the photo blurred by a Gaussian ``sigma_modules`` modules wide."""
    code = qr_image(scale=scale).rotate(20, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    photo = photo_of(code, size=(1600, 1200), at=(500, 300))
    return jpeg_bytes(photo.filter(ImageFilter.GaussianBlur(sigma_modules * scale)))


@pytest.mark.skipif(not qr.zxing_available(), reason="zxing-cpp is not installed")
@pytest.mark.parametrize(("scale", "sigma_modules"), [(3, 0.55), (4, 0.6), (5, 0.65)])
def test_a_code_out_of_focus_is_read_only_with_the_focus_blur_divided_out(scale: int, sigma_modules: float) -> None:
    assert len(REFOCUS) == 2
    data = defocused_photo(scale, sigma_modules)
    assert qr.decode_qr_bytes(data, budget_s=NO_HURRY, plan=WITHOUT_REFOCUS) is None
    assert qr.decode_qr_bytes(data, budget_s=NO_HURRY) == BADGE_URL


def test_a_sharp_code_is_not_refocused_and_a_soft_one_is() -> None:
    sharp = qr_image(scale=5)
    assert qr._refocused(sharp, sharp.width) is None and qr._refocused_more(sharp, sharp.width) is None
    soft = sharp.filter(ImageFilter.GaussianBlur(0.5 * 5))
    assert qr._refocused(soft, soft.width) is not None
