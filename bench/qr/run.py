"""Decode rate and latency of badge-photo QR decoding on a labelled sample set, one core, sequentially.

    python -m bench.qr.run [--samples DIR ...] [--limit N] [--decoders ours,ours-zbar,pyzbar,zxing]
                           [--before REV] [--factors] [--failures]

``--samples`` takes any directory with a ``labels.json`` in the sample set's shape, such as one written by
``python -m bench.qr.synth``; given more than once (the sample set, then photos generated with a seed the
cascade was never tuned on), each set gets its own table. ``--before REV`` adds the cascade as it was at
commit REV (``bench.qr.before``), so before and after are measured in one run. ``--factors`` adds the read
rate per labelled factor; ``--failures`` lists the photos each decoder missed, with their factors. "ours" is
the cascade as deployed (with its zxing-cpp steps when zxing-cpp is installed), "ours-zbar" the cascade
without them.

Every decoder starts from the JPEG bytes, so decoding the JPEG is part of its time (reading the file is not).
A photo counts as read only when the text matches its label exactly (None for photos without a code); a wrong
text is counted apart, as a false read, because a false read is worse than none.
"""

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from bench.qr.before import EarlierCascade
from bench.verify.run import before_checkout
from verification.qr import PLAN, decode_qr_bytes, scan_zxing
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

DEFAULT_SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "qr-sample"
DIFFICULTIES = ("easy", "medium", "hard")

Decoder = Callable[[bytes], str | None]
Timed = Callable[[Path], tuple[str | None, float]]
"""A decoder that reads a photo file and says what it read and how many milliseconds the decoding took."""
KINDS = ("positive", "foreign", "negative")
DECODER_KEYS = ("ours", "ours-zbar", "pyzbar", "zxing")


@dataclass
class Tally:
    name: str
    hits: dict[str, list[bool]] = field(default_factory=dict)
    by_group: dict[str, list[bool]] = field(default_factory=dict)
    false_reads: int = 0
    millis: list[float] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def add(self, photo: str, label: dict[str, Any], got: str | None, ms: float) -> None:
        expected = label["expected"]
        hit = got == expected
        self.hits.setdefault(label["difficulty"], []).append(hit)
        for group in groups(label):
            self.by_group.setdefault(group, []).append(hit)
        self.false_reads += got is not None and got != expected
        self.millis.append(ms)
        if not hit:
            wrong = f" read {got[:40]!r}" if got is not None else ""
            self.missed.append(f"{photo} ({label['difficulty']}, {', '.join(groups(label))}){wrong}")

    def group_rate(self, group: str) -> str:
        marks = self.by_group.get(group, [])
        return f"{100 * sum(marks) / len(marks):.0f}% of {len(marks)}" if marks else "-"

    def kind_rate(self, kind: str) -> str:
        marks = self.by_group.get(f"kind {kind}", [])
        return f"{100 * sum(marks) / len(marks):.0f}%" if marks else "-"

    def rate(self, difficulty: str | None = None) -> str:
        marks = [m for d, ms in self.hits.items() if difficulty in (None, d) for m in ms]
        return f"{100 * sum(marks) / len(marks):.0f}%" if marks else "-"

    def percentile(self, q: int) -> float:
        if len(self.millis) < 2:
            return self.millis[0] if self.millis else 0.0
        return statistics.quantiles(self.millis, n=100, method="inclusive")[q - 1]


def groups(label: dict[str, Any]) -> list[str]:
    """What a photo is, for the per-factor table: its kind, its factors (or "no factor"), and an EXIF turn."""
    found = [f"kind {label['kind']}", *(f"factor {f}" for f in label["factors"])]
    if not label["factors"]:
        found.append("factor none")
    if label.get("params", {}).get("exif_orientation", 1) not in (1, None):
        found.append("EXIF-rotated")
    return found


ZBAR_PLAN = tuple(step for step in PLAN if step.reader is not scan_zxing)


def ours_zbar_only(data: bytes) -> str | None:
    """The cascade as it runs where zxing-cpp is not installed."""
    return decode_qr_bytes(data, plan=ZBAR_PLAN)


def plain_pyzbar(data: bytes) -> str | None:
    from pyzbar import pyzbar  # type: ignore[import-untyped]

    symbols = pyzbar.decode(Image.open(io.BytesIO(data)).convert("L"))
    symbols.sort(key=lambda s: s.type != "QRCODE")
    return symbols[0].data.decode("utf-8", errors="replace") if symbols else None


def zxing_full(data: bytes) -> str | None:
    import zxingcpp  # type: ignore[import-not-found, unused-ignore]

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(data)).convert("L"))
    return str(found[0].text) if found else None


def decoders(keys: tuple[str, ...] = DECODER_KEYS) -> tuple[list[tuple[str, Decoder]], list[str]]:
    chosen: list[tuple[str, Decoder]] = []
    notes: list[str] = []
    if zbar_available():
        if "ours" in keys:
            chosen.append(("auxduty cascade", decode_qr_bytes))
        if "ours-zbar" in keys:
            chosen.append(("auxduty cascade, zbar only", ours_zbar_only))
        if "pyzbar" in keys:
            chosen.append(("pyzbar, full image", plain_pyzbar))
    else:
        notes.append(f"pyzbar decoders skipped: {ZBAR_MISSING_REASON}")
    if "zxing" in keys:
        try:
            import zxingcpp  # noqa: F401
        except ImportError:
            notes.append("zxing-cpp skipped: the zxing-cpp package is not installed (pip install zxing-cpp)")
        else:
            chosen.append(("zxing-cpp, full image", zxing_full))
    return chosen, notes


def timed(decode: Decoder) -> Timed:
    def run(photo: Path) -> tuple[str | None, float]:
        data = photo.read_bytes()
        start = time.perf_counter()
        got = decode(data)
        return got, (time.perf_counter() - start) * 1000

    return run


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
    parser.add_argument("--samples", type=Path, action="append", help="a labelled set; repeat for more")
    parser.add_argument("--limit", type=int, default=0, help="only the first N photos of each set (quick run)")
    parser.add_argument(
        "--decoders", default=",".join(DECODER_KEYS), help=f"comma-separated, among {', '.join(DECODER_KEYS)}"
    )
    parser.add_argument("--before", default="", help="also the cascade as it was at this commit")
    parser.add_argument("--factors", action="store_true", help="also the read rate per factor")
    parser.add_argument("--failures", action="store_true", help="also list the photos each decoder missed")
    args = parser.parse_args()
    keys = tuple(k.strip() for k in args.decoders.split(",") if k.strip())
    unknown = set(keys) - set(DECODER_KEYS)
    if unknown:
        parser.error(f"unknown decoder(s) {', '.join(sorted(unknown))}; choose among {', '.join(DECODER_KEYS)}")

    pinning = pin_to_one_core()
    chosen, notes = decoders(keys)
    runs: list[tuple[str, Timed]] = [(name, timed(decode)) for name, decode in chosen]
    with ExitStack() as stack:
        if args.before:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            source = stack.enter_context(before_checkout(args.before, tmp))
            runs.insert(0, (f"auxduty cascade at {args.before[:10]}", stack.enter_context(EarlierCascade(source))))
        for samples in args.samples or [DEFAULT_SAMPLES]:
            report(samples, runs, args, pinning)
    for note in notes:
        print(note)


def report(samples: Path, runs: list[tuple[str, Timed]], args: argparse.Namespace, pinning: str) -> None:
    """Every decoder over one labelled set, photo by photo in turn, then the set's tables."""
    labels = json.loads((samples / "labels.json").read_text())["images"]
    names = sorted(labels)[: args.limit or None]
    tallies = [Tally(name) for name, _ in runs]
    for photo in names:
        for tally, (_, decode) in zip(tallies, runs, strict=True):
            got, ms = decode(samples / photo)
            tally.add(photo, labels[photo], got, ms)

    counts = {d: sum(labels[n]["difficulty"] == d for n in names) for d in DIFFICULTIES}
    kinds = {k: sum(labels[n]["kind"] == k for n in names) for k in KINDS}
    load = "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else ""
    print(
        f"\n{len(names)} photos from {samples} ({', '.join(f'{d} {c}' for d, c in counts.items())}; "
        f"{', '.join(f'{k} {c}' for k, c in kinds.items())}); {pinning}; times include JPEG decoding; {load}"
    )
    print(
        "| decoder | all | easy | medium | hard | positive | foreign | negative | false reads | p50 ms | p95 ms |"
    )
    print(f"|{' --- |' * 11}")
    for t in tallies:
        rates = " | ".join(t.rate(d) for d in DIFFICULTIES)
        kind_rates = " | ".join(t.kind_rate(k) for k in KINDS)
        print(
            f"| {t.name} | {t.rate()} | {rates} | {kind_rates} | {t.false_reads} | {t.percentile(50):.0f} | "
            f"{t.percentile(95):.0f} |"
        )
    if args.factors:
        every = sorted({g for t in tallies for g in t.by_group if not g.startswith("kind ")})
        print()
        print(f"| group | {' | '.join(t.name for t in tallies)} |")
        print(f"| --- |{' --- |' * len(tallies)}")
        for group in every:
            print(f"| {group} | {' | '.join(t.group_rate(group) for t in tallies)} |")
    if args.failures:
        for t in tallies:
            print(f"\nmissed by {t.name}:")
            for line in t.missed:
                print(f"  {line}")


if __name__ == "__main__":
    main()
