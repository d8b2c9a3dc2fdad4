"""Photos of compact-QR cards against photos of JWS-QR cards: the same badges, shot the same way.

    python -m bench.qr.compare [--pairs N] [--seed S] [--frame WxH]

Each pair is two synthetic photos (``bench.qr.synth``) from equal random generators: the same person, card
size in the photo, pose, focus blur, camera shake, light, noise, fingers and JPEG quality; only the QR differs,
``https://.../v/<JWS>`` (version 13, 6 px modules on the card) or ``HTTPS://.../B/<base32>`` (version 7,
9 px modules). Every pair holds one of our badges (no foreign or empty cards). Difficulties come in equal thirds,
as in ``bench.qr.synth``. Both photos of a pair are decoded back to back by the deployed cascade
(``verification.qr.decode_qr_bytes``, its 0.3 s budget included), so a busy machine slows both alike.

Prints the share read right for each form, by difficulty and by the factors that make hard photos hard, and the
pairs only one form read.
"""

import argparse
import random
import time
from collections import defaultdict

from bench.qr.synth import DIFFICULTIES, render_photo
from verification.qr import decode_qr_bytes
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

FORMS = ("jws", "compact")


def _rate(marks: list[bool]) -> str:
    return f"{100 * sum(marks) / len(marks):5.1f}% of {len(marks):3d}" if marks else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--frame", default="", help="photo size WxH instead of 12 MP (quicker, same card size)")
    args = parser.parse_args()
    if not zbar_available():
        raise SystemExit(ZBAR_MISSING_REASON)
    frame = tuple(int(v) for v in args.frame.lower().split("x")) if args.frame else None
    hits: dict[str, dict[str, list[bool]]] = {form: defaultdict(list) for form in FORMS}
    millis: dict[str, list[float]] = {form: [] for form in FORMS}
    only: dict[str, int] = {form: 0 for form in FORMS}
    started = time.perf_counter()
    for index in range(args.pairs):
        difficulty = DIFFICULTIES[index * len(DIFFICULTIES) // max(1, args.pairs)]
        read: dict[str, bool] = {}
        for form in FORMS:
            rng = random.Random(f"{args.seed}:{index}:{difficulty}")
            data, label = render_photo(rng, difficulty, frame=frame and (frame[0], frame[1]), kind="positive",
                                       qr_form=form, paired=True)
            t0 = time.perf_counter()
            got = decode_qr_bytes(data)
            millis[form].append(1000 * (time.perf_counter() - t0))
            read[form] = got == label["expected"]
            for group in ("all", difficulty, *(f"factor {f}" for f in label["factors"])):
                hits[form][group].append(read[form])
        for form in FORMS:
            only[form] += read[form] and not any(read[f] for f in FORMS if f != form)
    print(f"{args.pairs} pairs of photos (seed {args.seed}, {frame or '12 MP'}), "
          f"{time.perf_counter() - started:.0f} s; read right:")
    print(f"{'':22} {'JWS /v/ (v13)':>16} {'compact /B/ (v7)':>18}")
    groups = ["all", *DIFFICULTIES, *sorted(g for g in hits["jws"] if g.startswith("factor "))]
    for group in groups:
        print(f"{group:22} {_rate(hits['jws'][group]):>16} {_rate(hits['compact'][group]):>18}")
    for form in FORMS:
        ms = sorted(millis[form])
        print(f"{form:8} median {ms[len(ms) // 2]:6.0f} ms, max {ms[-1]:6.0f} ms; read where the other was not: "
              f"{only[form]}")


if __name__ == "__main__":
    main()
