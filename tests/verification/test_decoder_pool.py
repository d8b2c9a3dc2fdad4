"""Decoder workers are recycled after a number of photos or above a memory ceiling, without losing the photo
in flight; the pool has as many workers as it is told; hostile uploads leave the workers' memory bounded."""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import create_engine

from api.main import create_app
from bench.decoder import hostile_uploads, upload
from tests.conftest import make_settings
from tests.verification.pool_tasks import grow, slow_worker_pid, worker_pid
from verification.decoder_pool import (
    MAX_IMAGES_PER_WORKER,
    MAX_RSS_MIB,
    DecoderPool,
    configure_decoder_pool,
    decoder_pool,
    process_memory_mib,
)
from verification.qr_zbar import ZBAR_MISSING_REASON, zbar_available

needs_zbar = pytest.mark.skipif(not zbar_available(), reason=ZBAR_MISSING_REASON)
needs_proc = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="RSS is read from /proc (Linux)")

ONE_PHOTO_PEAK_MIB = 320
"""The most one accepted photo adds while it is decoded: a 40 MP HEIC, measured at ~300 MiB in a worker."""
PATIENT_S = 30.0
"""These tests measure memory, not speed: on a loaded machine a 40 MP HEIC can take over the service's 5 s."""

@pytest.fixture
def pools() -> Iterator[list[DecoderPool]]:
    made: list[DecoderPool] = []
    yield made
    for pool in made:
        pool.shutdown()


def _gone(pid: int, within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_worker_is_replaced_after_max_images_and_answers_its_last_photo(pools: list[DecoderPool]) -> None:
    pools.append(pool := DecoderPool(1, max_images=3))
    pids, live = [], []
    for _ in range(7):
        pids.append(pool.run(worker_pid, b"", 0, 5.0)[1])
        live.append(len(pool.worker_pids()))
    a, b, c = pids[0], pids[3], pids[6]
    assert live == [1] * 7, "the replacement starts at once, so the next photo does not wait for it"
    assert pids == [a, a, a, b, b, b, c] and len({a, b, c}) == 3
    assert pool.stats.retired_after_max_images == 2 and pool.stats.lost == 0
    assert a is not None and _gone(int(a)), "a retired worker must exit, not linger"


@needs_proc
def test_worker_above_the_rss_ceiling_is_replaced_after_answering(pools: list[DecoderPool]) -> None:
    pools.append(pool := DecoderPool(1, max_rss_mib=128))
    first = pool.run(worker_pid, b"", 0, 5.0)[1]
    assert pool.run(worker_pid, b"", 0, 5.0)[1] == first, "an idle worker is well under 128 MiB"
    assert pool.run(grow, b"", 160, 5.0)[1] == first, "the photo that crossed the ceiling still gets its answer"
    after = pool.run(worker_pid, b"", 0, 5.0)[1]
    assert after != first
    assert pool.stats.retired_over_max_rss == 1 and pool.stats.retired_after_max_images == 0
    assert first is not None and _gone(int(first))
    rss = process_memory_mib(int(after or 0))
    assert rss is not None and rss[0] < 128


@pytest.mark.parametrize("size", [1, 3])
def test_pool_runs_exactly_its_size_in_workers(size: int, pools: list[DecoderPool]) -> None:
    pools.append(pool := DecoderPool(size))
    pool.start()
    started = pool.worker_pids()
    assert len(started) == size
    seen: list[int] = []
    answers: list[str | None] = []

    def client() -> None:
        answers.append(pool.run(slow_worker_pid, b"", 0, 5.0)[1])
        seen.append(len(pool.worker_pids()))

    clients = [threading.Thread(target=client) for _ in range(2 * size)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    assert {int(pid or 0) for pid in answers} == set(started)
    assert max(seen) == size


def test_pool_refuses_limits_that_are_not_positive() -> None:
    for limits in ({"size": 0}, {"max_images": 0}, {"max_rss_mib": 0}):
        with pytest.raises(ValueError):
            DecoderPool(**limits)


def test_settings_size_and_limit_the_app_pool(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, decoder_workers=3, decoder_max_images=7, decoder_max_rss_mib=300,
                             decoder_prewarm=True)
    app = create_app(settings, engine=create_engine("sqlite://"), migrate=False)
    try:
        with TestClient(app):
            pool = decoder_pool()
            assert (pool.size, pool.max_images, pool.max_rss_mib) == (3, 7, 300)
            assert len(pool.worker_pids()) == 3
    finally:
        configure_decoder_pool()
    assert (decoder_pool().size, decoder_pool().max_images, decoder_pool().max_rss_mib) == \
        (2, MAX_IMAGES_PER_WORKER, MAX_RSS_MIB)


def test_settings_refuse_a_pool_without_workers(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        make_settings(tmp_path, decoder_workers=0)


@needs_zbar
@needs_proc
def test_large_photos_leave_nothing_behind_in_a_worker(pools: list[DecoderPool]) -> None:
    """Decoded images once waited in reference cycles for a rare full collection: +17 MiB per 12 MP photo."""
    pools.append(pool := DecoderPool(1, max_images=1000, max_rss_mib=10_000))
    photo = dict(hostile_uploads(heic=False))["noise_jpeg_12mp"]
    assert upload(pool, photo, PATIENT_S) == "none"
    (pid,) = pool.worker_pids()
    after_first = process_memory_mib(pid)
    for _ in range(5):
        assert upload(pool, photo, PATIENT_S) == "none"
    after_six = process_memory_mib(pid)
    assert after_first is not None and after_six is not None
    assert after_six[0] - after_first[0] < 40


@needs_zbar
@needs_proc
@pytest.mark.parametrize(("uploads", "heic"), [(16, False), pytest.param(400, True, marks=pytest.mark.slow)])
def test_hostile_uploads_keep_every_worker_under_the_ceiling_plus_one_photo(
    uploads: int, heic: bool, pools: list[DecoderPool]
) -> None:
    """Default ceiling; recycling by count every 5 photos, so workers are replaced all through the run."""
    pools.append(pool := DecoderPool(2, max_images=5))
    corpus = hostile_uploads(heic=heic)
    for i in range(uploads):
        name, data = corpus[i % len(corpus)]
        answer = upload(pool, data, PATIENT_S)
        assert answer in {"none", "image_unreadable", "image_too_many_pixels"}, (name, answer)
        assert name.startswith("refused") == (answer == "image_too_many_pixels"), (name, answer)
        for pid in pool.worker_pids():
            memory = process_memory_mib(pid)
            assert memory is None or memory[0] <= pool.max_rss_mib, (i, name, memory)
    assert pool.stats.high_water_mib <= pool.max_rss_mib + ONE_PHOTO_PEAK_MIB
    assert pool.stats.lost == 0
    assert pool.stats.retired_after_max_images >= pool.stats.images // 5 - 2
