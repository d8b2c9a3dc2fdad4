"""A hash of a multiset that can be updated one element at a time: MuHash over the integers modulo the prime
2^3072 − 1103717, as Bitcoin Core's MuHash3072 (BIP draft "MuHash", used for its UTXO set hash).

The oversight check keeps one of these over "every logged record and the hash of its newest logged version"
outside the database; the next check updates it with the leaves added since (multiplying in the new version,
dividing out the one it replaced) and compares it with the same hash taken over the rows as they are now, so it
need not re-read the log's old leaves to see that no old row changed. Elements are hashed to the group with
SHAKE-256 (384 bytes, little-endian) instead of Bitcoin's ChaCha20 expansion: ``hashlib`` has it, no library
is needed, and nothing here has to match Bitcoin's digests. Divisions are collected and done once, with one
modular inverse, when the digest is taken.

No well-kept Python package implements a multiset hash (the one in Bitcoin's test framework is not packaged),
which is why this is written here; it is forty lines over ``pow`` and ``hashlib``.
"""

import hashlib

BITS = 3072
PRIME = 2**BITS - 1103717
SIZE = 384  # bytes of a digest
_LOW = (1 << BITS) - 1
_FOLD = (1 << BITS) - PRIME


def _reduce(value: int) -> int:
    """``value % PRIME`` for 0 ≤ value, by folding: 2^3072 ≡ 1103717 (mod PRIME), so the bits above 3072 are
    multiplied by that small number and added to the low bits, a few linear steps where ``%`` divides."""
    while value >> BITS:
        value = (value & _LOW) + (value >> BITS) * _FOLD
    return value - PRIME if value >= PRIME else value


def _element(data: bytes) -> int:
    value = int.from_bytes(hashlib.shake_256(data).digest(SIZE), "little")
    return value % PRIME or 1


class MultisetHash:
    """``add`` and ``remove`` commute; ``digest`` is the same for the same multiset, whatever the order."""

    __slots__ = ("_den", "_num")

    def __init__(self, digest: bytes | None = None) -> None:
        self._num = 1 if digest is None else int.from_bytes(digest, "little")
        self._den = 1
        if digest is not None and (len(digest) != SIZE or not 0 < self._num < PRIME):
            raise ValueError("not a multiset digest")

    def add(self, data: bytes) -> None:
        self._num = _reduce(self._num * _element(data))

    def merge(self, digest: bytes) -> None:
        """Add every element of the multiset whose digest this is (a part hashed elsewhere)."""
        self._num = _reduce(self._num * MultisetHash(digest)._num)

    def remove(self, data: bytes) -> None:
        self._den = _reduce(self._den * _element(data))

    def digest(self) -> bytes:
        if self._den != 1:
            self._num = self._num * pow(self._den, -1, PRIME) % PRIME
            self._den = 1
        return self._num.to_bytes(SIZE, "little")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultisetHash) and self.digest() == other.digest()

    def __hash__(self) -> int:
        return hash(self.digest())
