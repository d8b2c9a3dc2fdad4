"""Tasks that tests/verification/test_decoder_pool.py runs in decoder workers. A worker imports this module
to unpickle them, and every recycled worker imports it again, so it imports nothing heavy."""

import os
import time

from verification.decoder_pool import Outcome

_hoard: list[bytes] = []


def worker_pid(data: bytes, max_pixels: int) -> Outcome:
    return "text", str(os.getpid())


def slow_worker_pid(data: bytes, max_pixels: int) -> Outcome:
    time.sleep(0.3)
    return worker_pid(data, max_pixels)


def grow(data: bytes, mib: int) -> Outcome:
    """Keeps ``mib`` MiB, written so that it is resident, as a leaking decoder would; answers the pid."""
    _hoard.append(b"\x01" * (mib << 20))
    return worker_pid(data, mib)
