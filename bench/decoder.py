"""The photo decoder's workers under hostile uploads: their memory over time, and the time per photo.

Every upload goes through the gate and the pool as a citizen's would (``check_upload``, then
``DecoderPool.run``), from ``--clients`` threads at once. The uploads cycle through ``hostile_uploads()``:
12 MP noise JPEGs and PNGs (near the byte limit, nothing for the region finder), 40 MP photos that are a
few hundred KB (JPEG, PNG and HEIC: the largest decode the gate lets through), truncated files, and
decompression bombs that the gate refuses from their headers. A sampler reads every live worker's VmRSS
every 50 ms; a line is printed every ``--every`` uploads.

    python -m bench.decoder [--uploads 400] [--workers 2] [--max-images 200] [--max-rss-mib 256] [--clients 2]

Run it with ``--max-images 1000000 --max-rss-mib 1000000`` to see the workers without recycling.
"""

import argparse
import io
import statistics
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from PIL import Image

from verification.decoder_pool import DecoderPool, DecoderUnavailable, process_memory_mib
from verification.photo import MAX_PIXELS, PhotoRejected, check_upload, decode_in_worker, heif_supported


def _encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _png_bomb(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + width // 8) * 64, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@cache
def _still_uploads() -> tuple[tuple[str, bytes], ...]:
    noise_rgb = Image.effect_noise((4000, 3000), 80).convert("RGB")
    noise_gray = Image.effect_noise((4000, 3000), 64)
    jpeg12 = _encoded(noise_rgb, "JPEG", quality=90)
    png40 = _encoded(_smooth_40mp(), "PNG")
    return (
        ("noise_jpeg_12mp", jpeg12),
        ("noise_png_12mp", _encoded(noise_gray, "PNG", compress_level=1)),
        ("smooth_png_40mp", png40),
        ("smooth_jpeg_40mp", _encoded(_smooth_40mp(), "JPEG", quality=80)),
        ("truncated_jpeg_12mp", jpeg12[: len(jpeg12) * 6 // 10]),
        ("truncated_png_40mp", png40[: len(png40) // 2]),
        ("refused_png_bomb_2500mp", _png_bomb(50_000, 50_000)),
        ("refused_png_48mp", _png_bomb(8000, 6000)),
    )


@cache
def _smooth_40mp() -> Image.Image:
    return Image.linear_gradient("L").resize((7300, 5470)).convert("RGB")  # 39.9 MP


@cache
def _heic_uploads() -> tuple[tuple[str, bytes], ...]:
    if not heif_supported():
        return ()
    heic = _encoded(_smooth_40mp(), "HEIF", quality=50, enc_params={"preset": "ultrafast"})
    return (("smooth_heic_40mp", heic),)


def hostile_uploads(*, heic: bool = True) -> tuple[tuple[str, bytes], ...]:
    """Named uploads, each accepted by the gate unless its name says ``refused``; 3–10 s to make.

    The 40 MP HEIC (when pillow-heif is installed) has the largest decode of all, and costs most to make.
    """
    return _still_uploads() + (_heic_uploads() if heic else ())


def upload(pool: DecoderPool, data: bytes, timeout_s: float = 5.0) -> str:
    """What the endpoint would answer, in short: "none", "text", or a refusal code."""
    try:
        check_upload(data)
        kind, value = pool.run(decode_in_worker, data, MAX_PIXELS, timeout_s)
    except PhotoRejected as refused:
        return refused.code
    except DecoderUnavailable:
        return "decoder_unavailable"
    if kind == "text":
        return "none" if value is None else "text"
    return str(value)


def live_rss_mib(pool: DecoderPool) -> list[float]:
    return [memory[0] for pid in pool.worker_pids() if (memory := process_memory_mib(pid))]


class _Sampler(threading.Thread):
    """The largest VmRSS of any live worker, sampled every 50 ms."""

    def __init__(self, pool: DecoderPool) -> None:
        super().__init__(daemon=True)
        self.pool, self.peak, self.done = pool, 0.0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max([self.peak, *live_rss_mib(self.pool)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uploads", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-images", type=int, default=200)
    parser.add_argument("--max-rss-mib", type=float, default=256)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--every", type=int, default=25)
    args = parser.parse_args()

    started = time.perf_counter()
    corpus = hostile_uploads()
    print(f"corpus: {len(corpus)} kinds in {time.perf_counter() - started:.1f} s")
    for name, data in corpus:
        print(f"  {name:24} {len(data) / 2**20:6.2f} MiB")
    pool = DecoderPool(args.workers, max_images=args.max_images, max_rss_mib=args.max_rss_mib)
    pool.start()
    sampler = _Sampler(pool)
    sampler.start()
    answers: dict[str, int] = {}
    seconds: dict[str, list[float]] = {}
    lock = threading.Lock()

    def one(i: int) -> None:
        name, data = corpus[i % len(corpus)]
        began = time.perf_counter()
        answer = upload(pool, data)
        with lock:
            seconds.setdefault(name, []).append(time.perf_counter() - began)
            answers[answer] = answers.get(answer, 0) + 1

    print(f"{'uploads':>7} {'elapsed':>8} {'live RSS MiB':>14} {'peak':>7} {'retired':>8}")
    began = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as clients:
        for done, _ in enumerate(clients.map(one, range(args.uploads)), start=1):
            if done % args.every == 0 or done == args.uploads:
                rss = " ".join(f"{mib:.0f}" for mib in live_rss_mib(pool))
                retired = pool.stats.retired_after_max_images + pool.stats.retired_over_max_rss
                print(f"{done:7} {time.perf_counter() - began:7.1f}s {rss:>14} {sampler.peak:7.0f} {retired:8}")
    sampler.done.set()
    pool.shutdown()
    print(f"answers: {answers}")
    print(f"stats: {pool.stats}")
    print("seconds per upload (median, max):")
    for name, times in seconds.items():
        print(f"  {name:24} {statistics.median(times):6.3f} {max(times):6.3f}")


if __name__ == "__main__":
    main()
