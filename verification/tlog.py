"""An append-only Merkle tree (RFC 6962 / RFC 9162): hashing, compact ranges, proofs and their verification.

The records of enforcement work may not be deleted or altered (第十条(三) of Nanjing's Measures for the
administration of law-enforcement auxiliary staff). The service puts every record into a transparency
log; this module is the arithmetic anyone can redo without the service: the tree hash of a log, the
inclusion proof that a record is in it, and the consistency proof that a later tree only appended to an
earlier one, so a deleted or rewritten record shows as a proof that fails.

Perfect subtrees are named ``(level, index)``: level ``L`` index ``i`` covers leaves ``[i·2^L, (i+1)·2^L)``
and level 0 is the leaf hash. Such a hash never changes once the subtree is full, so a server stores each
one once (``CompactRange.append`` says which) and answers every proof from them: the hashes of the trees'
unfinished right edges are combined here from perfect ones.

Standard library only: a verifier needs nothing of the service to run it.
"""

import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from hashlib import sha256
from typing import Any

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()
# A tree of at most 2**64 leaves has proofs of at most 64 (inclusion) or about 128 (consistency) hashes.
_MAX_PROOF = 130

NodeSource = Callable[[int, int], bytes]
"""``node(level, index)``: the hash of a perfect subtree (level 0 is the leaf hash)."""

NodeId = tuple[int, int]


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 6962 §2.1: the hash of a leaf, SHA-256(0x00 || leaf)."""
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 §2.1: the hash of an interior node, SHA-256(0x01 || left || right)."""
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2): where MTH splits a list of ``n`` leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def _is_power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_count(name: str, value: int) -> None:
    if not _is_count(value):
        raise ValueError(f"{name} must be a non-negative integer, not {value!r}")


def edge(size: int) -> list[NodeId]:
    """The perfect subtrees whose roots make the right edge of a tree of ``size`` leaves, left to right."""
    _check_count("size", size)
    out: list[NodeId] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


# --- the right edge of a growing tree --------------------------------------------------------------------


class CompactRange:
    """The right edge of a tree: the roots of its perfect subtrees, largest first, O(log n) hashes.

    Appending a leaf merges equal-sized neighbours (as transparency-dev's compact ranges do) and reports the
    perfect subtrees that the merge completed, so that a server can keep every node a proof will need.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The edge's hashes, left to right, in the order of ``edge(size)``."""
        return tuple(self._hashes)

    @classmethod
    def from_edge(cls, size: int, hashes: Sequence[bytes]) -> "CompactRange":
        """Resume from the hashes of ``edge(size)`` (for instance read from a server's node table)."""
        _check_count("size", size)
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} edge hashes, not {len(hashes)}")
        if not all(_is_hash(h) for h in hashes):
            raise ValueError(f"edge hashes must be {HASH_SIZE} bytes")
        out = cls()
        out._size = size
        out._hashes = [bytes(h) for h in hashes]
        return out

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf (its leaf hash); return the perfect subtrees it completed, ``(level, index, hash)``
        with level ≥ 1, smallest first."""
        if not _is_hash(leaf_hash):
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes")
        digest, index, level = bytes(leaf_hash), self._size, 0
        completed: list[tuple[int, int, bytes]] = []
        while index & 1:
            digest = node_hash(self._hashes.pop(), digest)
            index >>= 1
            level += 1
            completed.append((level, index, digest))
        self._hashes.append(digest)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the leaves appended so far (``EMPTY_ROOT`` for none)."""
        if not self._hashes:
            return EMPTY_ROOT
        digest = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            digest = node_hash(left, digest)
        return digest

    def copy(self) -> "CompactRange":
        return CompactRange.from_edge(self._size, self._hashes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly: ``{"size": n, "hashes": [hex, ...]}``."""
        return {"size": self._size, "hashes": [h.hex() for h in self._hashes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CompactRange":
        """The inverse of ``to_dict``; ``ValueError`` for anything else."""
        size, hashes = data.get("size"), data.get("hashes")
        if not isinstance(size, int) or not isinstance(hashes, list) or not all(isinstance(h, str) for h in hashes):
            raise ValueError("a compact range is {size: int, hashes: [hex]}")
        try:
            raw = [bytes.fromhex(h) for h in hashes]
        except ValueError:
            raise ValueError("compact range hashes must be hex") from None
        return cls.from_edge(size, raw)

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size}, root={self.root().hex()})"


# --- proofs, from stored perfect subtrees ----------------------------------------------------------------


def subtree_hash(start: int, end: int, node: NodeSource) -> bytes:
    """MTH(D[start:end]) (RFC 9162 §2.1.1), read from perfect subtrees; ``EMPTY_ROOT`` when start == end."""
    _check_count("start", start)
    _check_count("end", end)
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    return EMPTY_ROOT if start == end else _mth(start, end, node)


def _mth(start: int, end: int, node: NodeSource) -> bytes:
    n = end - start
    if _is_power_of_two(n) and start % n == 0:
        level = n.bit_length() - 1
        return node(level, start >> level)
    k = _split(n)
    return node_hash(_mth(start, start + k, node), _mth(start + k, end, node))


def inclusion_proof(index: int, size: int, node: NodeSource) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:size]): the audit path of leaf ``index`` in the tree of ``size``."""
    _check_count("index", index)
    _check_count("size", size)
    if index >= size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    return _path(index, 0, size, node)


def _path(index: int, start: int, end: int, node: NodeSource) -> list[bytes]:
    if end - start == 1:
        return []
    mid = start + _split(end - start)
    if index < mid:
        return [*_path(index, start, mid, node), _mth(mid, end, node)]
    return [*_path(index, mid, end, node), _mth(start, mid, node)]


def consistency_proof(first: int, second: int, node: NodeSource) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[0:second]); empty when first is 0 or equals second."""
    _check_count("first", first)
    _check_count("second", second)
    if first > second:
        raise ValueError(f"first size {first} is larger than second size {second}")
    if first == 0 or first == second:
        return []
    return _subproof(first, 0, second, True, node)


def _subproof(m: int, start: int, end: int, known: bool, node: NodeSource) -> list[bytes]:
    """SUBPROOF(m, D[start:end], b), ``m`` counted from ``start``."""
    n = end - start
    if m == n:
        return [] if known else [_mth(start, end, node)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, start, start + k, known, node), _mth(start + k, end, node)]
    return [*_subproof(m - k, start + k, end, False, node), _mth(start, start + k, node)]


class _Recorder:
    """A node source that remembers what was asked and answers with dummy hashes."""

    def __init__(self) -> None:
        self.wanted: set[NodeId] = set()

    def __call__(self, level: int, index: int) -> bytes:
        self.wanted.add((level, index))
        return bytes(HASH_SIZE)


def nodes_for_inclusion(index: int, size: int) -> set[NodeId]:
    """Exactly the ``(level, index)`` that ``inclusion_proof(index, size, ·)`` reads: fetch them in one go."""
    recorder = _Recorder()
    inclusion_proof(index, size, recorder)
    return recorder.wanted


def nodes_for_consistency(first: int, second: int) -> set[NodeId]:
    """Exactly the ``(level, index)`` that ``consistency_proof(first, second, ·)`` reads."""
    recorder = _Recorder()
    consistency_proof(first, second, recorder)
    return recorder.wanted


# --- verification (the answers may come from a hostile server: never raise, say False) --------------------


def _proof_list(proof: object) -> list[bytes] | None:
    if isinstance(proof, (str, bytes)) or not isinstance(proof, Iterable):
        return None
    try:
        items = list(proof)
    except Exception:  # a hostile iterable
        return None
    if len(items) > _MAX_PROOF or not all(_is_hash(p) for p in items):
        return None
    return items


def _same(a: object, b: object) -> bool:
    return isinstance(a, bytes) and isinstance(b, bytes) and hmac.compare_digest(a, b)


def _strip_zeros(fn: int, sn: int) -> tuple[int, int]:
    """Right-shift fn and sn equally until the lowest bit of fn is set or fn is 0."""
    while fn and not fn & 1:
        fn >>= 1
        sn >>= 1
    return fn, sn


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> bool:
    """RFC 9162 §2.1.3.2: does ``proof`` show the leaf with ``leaf_hash`` at ``index`` of the tree ``root``?"""
    path = _proof_list(proof)
    if path is None or not _is_hash(leaf_hash) or not _is_hash(root):
        return False
    if not _is_count(index) or not _is_count(size) or index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _strip_zeros(fn, sn)
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _same(r, root)


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does ``proof`` show that the tree ``second_root`` of ``second`` leaves extends the
    tree ``first_root`` of ``first`` leaves?

    Equal sizes need an empty proof and equal roots. The empty tree (first == 0) is extended by every tree:
    an empty proof, and ``first_root`` must be the empty tree's root (RFC 9162 defines no proof for it; the
    transparency-dev verifier refuses the question instead).
    """
    path = _proof_list(proof)
    if path is None or not _is_count(first) or not _is_count(second) or first > second:
        return False
    if first == 0:
        return not path and _same(first_root, EMPTY_ROOT) and (second > 0 or _same(second_root, EMPTY_ROOT))
    if first == second:
        return not path and _same(first_root, second_root)
    if not path or not _is_hash(first_root) or not _is_hash(second_root):
        return False
    if _is_power_of_two(first):
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _strip_zeros(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and _same(fr, first_root) and _same(sr, second_root)
