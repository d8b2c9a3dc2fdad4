"""Decode rate and latency of badge-photo QR decoding on a labelled sample set, one core, sequentially.

    python -m bench.qr.run [--samples DIR] [--limit N]

Every decoder starts from the JPEG bytes, so decoding the JPEG is part of its time. A photo counts as read
only when the text matches its label exactly (None for photos without a code); a wrong text is counted
apart, as a false read, because a false read is worse than none.
"""

import argparse
import io
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from verification.qr import decode_qr_bytes
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "qr-sample"
DIFFICULTIES = ("easy", "medium", "hard")

Decoder = Callable[[bytes], str | None]


@dataclass
class Tally:
    name: str
    hits: dict[str, list[bool]] = field(default_factory=dict)
    false_reads: int = 0
    millis: list[float] = field(default_factory=list)

    def add(self, difficulty: str, expected: str | None, got: str | None, ms: float) -> None:
        self.hits.setdefault(difficulty, []).append(got == expected)
        self.false_reads += got is not None and got != expected
        self.millis.append(ms)

    def rate(self, difficulty: str | None = None) -> str:
        marks = [m for d, ms in self.hits.items() if difficulty in (None, d) for m in ms]
        return f"{100 * sum(marks) / len(marks):.0f}%" if marks else "-"

    def percentile(self, q: int) -> float:
        if len(self.millis) < 2:
            return self.millis[0] if self.millis else 0.0
        return statistics.quantiles(self.millis, n=100, method="inclusive")[q - 1]


def plain_pyzbar(data: bytes) -> str | None:
    from pyzbar import pyzbar  # type: ignore[import-untyped]

    symbols = pyzbar.decode(Image.open(io.BytesIO(data)).convert("L"))
    symbols.sort(key=lambda s: s.type != "QRCODE")
    return symbols[0].data.decode("utf-8", errors="replace") if symbols else None


def zxing_full(data: bytes) -> str | None:
    import zxingcpp  # type: ignore[import-not-found, unused-ignore]

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)).convert("L"))
    return str(found[0].text) if found else None


def decoders() -> tuple[list[tuple[str, Decoder]], list[str]]:
    chosen: list[tuple[str, Decoder]] = []
    notes: list[str] = []
    if zbar_available():
        chosen += [("auxduty cascade (pyzbar)", decode_qr_bytes), ("pyzbar, full image", plain_pyzbar)]
    else:
        notes.append(f"pyzbar decoders skipped: {ZBAR_MISSING_REASON}")
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        notes.append("zxing-cpp skipped: the zxing-cpp package is not installed (pip install zxing-cpp)")
    else:
        chosen.append(("zxing-cpp, full image", zxing_full))
    return chosen, notes


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to core {core}"
    return "not pinned (no sched_setaffinity here)"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos (quick run)")
    args = parser.parse_args()

    labels = json.loads((args.samples / "labels.json").read_text())["images"]
    names = sorted(labels)[: args.limit or None]
    pinning = pin_to_one_core()
    chosen, notes = decoders()
    tallies = [Tally(name) for name, _ in chosen]
    for photo in names:
        data = (args.samples / photo).read_bytes()
        label = labels[photo]
        for tally, (_, decode) in zip(tallies, chosen, strict=True):
            start = time.perf_counter()
            got = decode(data)
            tally.add(label["difficulty"], label["expected"], got, (time.perf_counter() - start) * 1000)

    counts = {d: sum(labels[n]["difficulty"] == d for n in names) for d in DIFFICULTIES}
    print(
        f"{len(names)} photos from {args.samples} ({', '.join(f'{d} {c}' for d, c in counts.items())}); "
        f"{pinning}; times include JPEG decoding"
    )
    print("| decoder | all | easy | medium | hard | false reads | p50 ms | p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for t in tallies:
        rates = " | ".join(t.rate(d) for d in DIFFICULTIES)
        print(
            f"| {t.name} | {t.rate()} | {rates} | {t.false_reads} | {t.percentile(50):.0f} | "
            f"{t.percentile(95):.0f} |"
        )
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
