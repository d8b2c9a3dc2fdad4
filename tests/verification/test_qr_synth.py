"""Generated badge photos (bench.qr.synth), not the sample set: the decoder must read kinds, not files.

Half-size frames keep this quick; the card and its code keep their pixel size, so what the decoder faces
near the code is what a 12 MP photo gives it. Seeds are fixed, so a failure here is a regression.
"""

import random

import pytest

from verification.qr import decode_qr_bytes
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

pytest.importorskip("numpy", reason="the photo generator needs numpy")
from bench.qr.synth import render_photo

pytestmark = pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)

NO_HURRY = 10.0
FRAME = (2016, 1512)
# Two per difficulty; the hard ones are a finger over the code (not a finder) and strong focus blur.
CASES = [("easy", 0), ("easy", 3), ("medium", 1), ("medium", 2), ("hard", 0), ("hard", 3)]


@pytest.mark.parametrize(("difficulty", "seed"), CASES)
def test_generated_badge_photo_decodes_to_its_label(difficulty: str, seed: int) -> None:
    data, label = render_photo(random.Random(f"test:{difficulty}:{seed}"), difficulty, frame=FRAME)
    assert label["expected"] is not None
    assert decode_qr_bytes(data, budget_s=NO_HURRY) == label["expected"]


def test_generated_photos_are_reproducible() -> None:
    first, _ = render_photo(random.Random("test:repeat"), "medium", frame=FRAME)
    again, _ = render_photo(random.Random("test:repeat"), "medium", frame=FRAME)
    assert first == again
