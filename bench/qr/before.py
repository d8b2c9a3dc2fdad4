"""The cascade as it was at an earlier commit, run beside today's in the same bench run.

Two versions of ``verification`` cannot share one interpreter, so the earlier one decodes in a child process
started in a checkout of that commit. The child inherits the bench's core pinning, times each photo itself
(JPEG decoding included, the pipe not), and the bench hands it the photos in the same order, interleaved with
today's decoders, so a busy machine slows both alike.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Self

_WORKER = """
import json, sys, time
from verification.qr import decode_qr_bytes
for line in sys.stdin:
    data = open(line.rstrip("\\n"), "rb").read()
    start = time.perf_counter()
    text = decode_qr_bytes(data)
    print(json.dumps({"text": text, "ms": (time.perf_counter() - start) * 1000}), flush=True)
"""


class EarlierCascade:
    """``decode_qr_bytes`` from the checkout at ``source``, one photo at a time over a pipe."""

    def __init__(self, source: Path) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-c", _WORKER], cwd=source, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, photo: Path) -> tuple[str | None, float]:
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(f"{photo.resolve()}\n")
        self._child.stdin.flush()
        answer = json.loads(self._child.stdout.readline())
        return answer["text"], float(answer["ms"])

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._child.stdin is not None:
            self._child.stdin.close()
        self._child.wait(timeout=30)
