"""The multiset hash the incremental oversight check keeps: order does not matter, removal undoes addition,
and different multisets differ."""

import random

import pytest

from api.domain.audit.multiset import PRIME, SIZE, MultisetHash, _reduce


def _of(*items: bytes) -> MultisetHash:
    h = MultisetHash()
    for item in items:
        h.add(item)
    return h


def test_order_does_not_matter_and_removal_undoes_addition() -> None:
    assert _of(b"a", b"b", b"c").digest() == _of(b"c", b"a", b"b").digest()
    h = _of(b"a", b"b")
    h.add(b"x")
    h.remove(b"x")
    assert h.digest() == _of(b"b", b"a").digest()
    replaced = _of(b"tasks\n1\nold", b"tasks\n2\nh2")
    replaced.remove(b"tasks\n1\nold")
    replaced.add(b"tasks\n1\nnew")
    assert replaced.digest() == _of(b"tasks\n2\nh2", b"tasks\n1\nnew").digest()


def test_different_multisets_differ() -> None:
    assert _of(b"a").digest() != _of(b"b").digest()
    assert _of(b"a").digest() != _of(b"a", b"a").digest()  # a multiset: counts matter
    assert MultisetHash().digest() != _of(b"").digest()


def test_a_digest_resumes_where_it_was_left() -> None:
    h = _of(b"a", b"b")
    resumed = MultisetHash(h.digest())
    resumed.add(b"c")
    assert resumed.digest() == _of(b"a", b"b", b"c").digest() and len(resumed.digest()) == SIZE


@pytest.mark.parametrize("digest", [b"", b"\x00" * SIZE, b"\xff" * SIZE, b"\x01" * (SIZE - 1)])
def test_what_is_not_a_digest_is_refused(digest: bytes) -> None:
    with pytest.raises(ValueError):
        MultisetHash(digest)


def test_folding_reduces_as_the_remainder_does() -> None:
    rng = random.Random(3072)
    edges = [0, 1, PRIME - 1, PRIME, PRIME + 1, 2**3072 - 1, 2**3072, (PRIME - 1) ** 2]
    for value in edges + [rng.getrandbits(6144) for _ in range(200)]:
        assert _reduce(value) == value % PRIME
