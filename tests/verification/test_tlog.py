"""The Merkle tree of the transparency log, against published RFC 6962 vectors and by property.

Records of enforcement work may not be deleted or altered (第十条(三)); these proofs are how anyone checks that.
"""

import base64
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from verification.tlog import (
    EMPTY_ROOT,
    CompactRange,
    consistency_proof,
    edge,
    inclusion_proof,
    leaf_hash,
    node_hash,
    nodes_for_consistency,
    nodes_for_inclusion,
    subtree_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent / "vectors"

# github.com/transparency-dev/merkle, testonly/constants.go (LeafInputs, NodeHashes, RootHashes, CompactTrees):
# the RFC 6962 reference tree also used by Certificate Transparency.
LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]
NODE_HASHES = [[bytes.fromhex(h) for h in level] for level in (
    ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"],
    ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"],
    ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
)]
ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
_NH = NODE_HASHES
COMPACT_TREES = [[], [_NH[0][0]], [_NH[1][0]], [_NH[1][0], _NH[0][2]], [_NH[2][0]], [_NH[2][0], _NH[0][4]],
                 [_NH[2][0], _NH[1][2]], [_NH[2][0], _NH[1][2], _NH[0][6]], [_NH[3][0]]]

# github.com/transparency-dev/merkle, proof/verify_test.go before commit bcba819 (inclusionProofs and
# consistencyProofs; leaf numbers there are 1-based, here they are 0-based indexes).
INCLUSION_PROOFS = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (0, 1, []),
]
CONSISTENCY_PROOFS = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]

# The one published probe this verifier answers differently, on purpose: transparency-dev refuses any
# consistency question from size 0; here the empty tree is extended by every tree (an empty proof, and the
# empty tree's root as first root).
DEVIATIONS = {"testdata/consistency/additional/size1-is-zero-and-size2-is-not-zero.json"}

Node = Callable[[int, int], bytes]


def build(leaf_hashes: list[bytes]) -> tuple[dict[tuple[int, int], bytes], CompactRange]:
    """What a server stores: every leaf hash and every perfect subtree ``append`` reports."""
    nodes: dict[tuple[int, int], bytes] = {}
    tree = CompactRange()
    for i, h in enumerate(leaf_hashes):
        nodes[(0, i)] = h
        for level, index, digest in tree.append(h):
            assert (level, index) not in nodes
            nodes[(level, index)] = digest
    return nodes, tree


def source(nodes: dict[tuple[int, int], bytes]) -> Node:
    return lambda level, index: nodes[(level, index)]


REF_NODES, _ = build([leaf_hash(leaf) for leaf in LEAVES])
REF = source(REF_NODES)


# --- an independent reference: RFC 9162 §2.1 straight on lists ------------------------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(hashes: list[bytes]) -> bytes:
    if not hashes:
        return hashlib.sha256(b"").digest()
    if len(hashes) == 1:
        return hashes[0]
    k = _k(len(hashes))
    return hashlib.sha256(b"\x01" + ref_mth(hashes[:k]) + ref_mth(hashes[k:])).digest()


def ref_path(m: int, hashes: list[bytes]) -> list[bytes]:
    if len(hashes) == 1:
        return []
    k = _k(len(hashes))
    if m < k:
        return [*ref_path(m, hashes[:k]), ref_mth(hashes[k:])]
    return [*ref_path(m - k, hashes[k:]), ref_mth(hashes[:k])]


def ref_subproof(m: int, hashes: list[bytes], b: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if b else [ref_mth(hashes)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, hashes[:k], b), ref_mth(hashes[k:])]
    return [*ref_subproof(m - k, hashes[k:], False), ref_mth(hashes[:k])]


def test_hashes_are_rfc6962() -> None:
    assert ROOTS[0] == EMPTY_ROOT
    assert [leaf_hash(leaf) for leaf in LEAVES] == NODE_HASHES[0]
    assert node_hash(NODE_HASHES[0][0], NODE_HASHES[0][1]) == NODE_HASHES[1][0]


def test_compact_range_matches_the_reference_tree() -> None:
    tree = CompactRange()
    assert tree.root() == ROOTS[0] and tree.hashes == ()
    for size, leaf in enumerate(LEAVES, start=1):
        completed = tree.append(leaf_hash(leaf))
        assert tree.size == size
        assert tree.root() == ROOTS[size]
        assert list(tree.hashes) == COMPACT_TREES[size]
        assert [h for _, _, h in completed] == [NODE_HASHES[level][index] for level, index, _ in completed]
        assert all(level >= 1 and (index + 1) << level == size for level, index, _ in completed)
    # every perfect subtree of the reference tree is reported exactly once
    assert {k for k in REF_NODES if k[0] > 0} == {(lv, i) for lv in range(1, 4) for i in range(len(NODE_HASHES[lv]))}


def test_roots_and_subtree_hashes_from_stored_nodes() -> None:
    for size in range(len(LEAVES) + 1):
        assert subtree_hash(0, size, REF) == ROOTS[size]
    for level, row in enumerate(NODE_HASHES):
        for index, digest in enumerate(row):
            assert subtree_hash(index << level, (index + 1) << level, REF) == digest


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_PROOFS)
def test_published_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in proof]
    assert inclusion_proof(index, size, REF) == expected
    assert verify_inclusion(leaf_hash(LEAVES[index]), index, size, expected, ROOTS[size])
    assert nodes_for_inclusion(index, size) <= set(REF_NODES)


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_PROOFS)
def test_published_consistency_proofs(first: int, second: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(h) for h in proof]
    assert consistency_proof(first, second, REF) == expected
    assert verify_consistency(first, second, ROOTS[first], ROOTS[second], expected)


def _probes(kind: str) -> list[dict[str, Any]]:
    data = json.loads((VECTORS / "merkle_probes.json").read_text())
    probes: list[dict[str, Any]] = data[kind]
    return probes


def _b64(value: str) -> bytes:
    return base64.b64decode(value)


@pytest.mark.parametrize("probe", _probes("inclusion"), ids=lambda p: p["file"].removeprefix("testdata/"))
def test_published_inclusion_probes(probe: dict[str, Any]) -> None:
    proof = [_b64(h) for h in probe["proof"] or []]
    accepted = verify_inclusion(_b64(probe["leafHash"]), probe["leafIdx"], probe["treeSize"], proof,
                                _b64(probe["root"]))
    assert accepted is not probe["wantErr"]


@pytest.mark.parametrize("probe", _probes("consistency"), ids=lambda p: p["file"].removeprefix("testdata/"))
def test_published_consistency_probes(probe: dict[str, Any]) -> None:
    proof = [_b64(h) for h in probe["proof"] or []]
    accepted = verify_consistency(probe["size1"], probe["size2"], _b64(probe["root1"]), _b64(probe["root2"]),
                                  proof)
    assert accepted is not (probe["wantErr"] ^ (probe["file"] in DEVIATIONS))


def test_the_probes_are_all_there() -> None:
    assert len(_probes("inclusion")) == 98 and len(_probes("consistency")) == 98
    assert {p["file"] for p in _probes("consistency")} >= DEVIATIONS


# --- the accumulated vectors of draft-ietf-plants-merkle-tree-certs ("Subtree Test Vectors"), as reproduced
# in github.com/transparency-dev/merkle testonly/vectors_test.go: a tree of 130 leaves d[i] = bytes([i]),
# every output folded into one SHA-256. ------------------------------------------------------------------

VECTOR_NODES, _ = build([leaf_hash(bytes([i])) for i in range(130)])
VECTOR = source(VECTOR_NODES)


def _valid_subtree(start: int, end: int) -> bool:
    """isSubtreeValid: start is 0, empty, or a multiple of bit_ceil(end - start)."""
    if start == 0 or start == end:
        return True
    size = end - start
    ceil = 1 if size <= 1 else 1 << (size - 1).bit_length()
    return start % ceil == 0


def _shifted(offset: int) -> Node:
    """The nodes of the subtree starting at ``offset`` (a multiple of its size), as if it started at 0."""
    return lambda level, index: VECTOR(level, index + (offset >> level))


def _line(prefix: str, proof: list[bytes]) -> bytes:
    return (prefix + "".join(" " + h.hex() for h in proof) + "\n").encode()


def test_subtree_hash_vector() -> None:
    folded = hashlib.sha256()
    for end in range(131):
        for start in range(end + 1):
            if _valid_subtree(start, end):
                folded.update(f"[{start}, {end}) {subtree_hash(start, end, VECTOR).hex()}\n".encode())
    assert folded.hexdigest() == "b82806ad4265bb151c1119c0f4db437bb4d1a1f887b3a7fba1cd4ebf552e3e81"


def test_subtree_inclusion_proof_vector() -> None:
    # A subtree's inclusion proof is PATH within the subtree: inclusion_proof on the shifted nodes.
    folded = hashlib.sha256()
    for end in range(131):
        for start in range(end + 1):
            if not _valid_subtree(start, end):
                continue
            for index in range(start, end):
                proof = inclusion_proof(index - start, end - start, _shifted(start))
                folded.update(_line(f"{index} [{start}, {end})", proof))
    assert folded.hexdigest() == "ac2a8f989e44d99e399db448050ff5f19757df53cfb716aa81015d3955d8163f"


def _subtree_consistency(start: int, end: int, size: int) -> list[bytes]:
    """The draft's subtree consistency proof: descend (keeping the sibling roots) to the subtree of the
    parent tree where [start, end) starts at 0, where it is RFC 9162 PROOF(end, ·)."""
    if start == end:
        return []
    siblings, offset = [], 0
    while start != 0:
        k = _k(size)
        if end <= k:
            siblings.append(subtree_hash(offset + k, offset + size, VECTOR))
            size = k
        else:
            siblings.append(subtree_hash(offset, offset + k, VECTOR))
            start, end, size, offset = start - k, end - k, size - k, offset + k
    return consistency_proof(end, size, _shifted(offset)) + siblings[::-1]


def test_subtree_consistency_proof_vector() -> None:
    folded = hashlib.sha256()
    for size in range(131):
        for end in range(size + 1):
            for start in range(end + 1):
                if _valid_subtree(start, end):
                    folded.update(_line(f"[{start}, {end}) {size}", _subtree_consistency(start, end, size)))
    assert folded.hexdigest() == "10fa99b37bf9bf9ffa26b412fbd98bd75363256d0b75d61bc4538b9c9c5a0a74"


# --- arguments, saved state ------------------------------------------------------------------------------


@pytest.mark.parametrize(("index", "size"), [(0, 0), (1, 1), (8, 8), (-1, 3), (0, -1)])
def test_inclusion_proof_out_of_range(index: int, size: int) -> None:
    with pytest.raises(ValueError):
        inclusion_proof(index, size, REF)
    with pytest.raises(ValueError):
        nodes_for_inclusion(index, size)


@pytest.mark.parametrize(("first", "second"), [(2, 1), (-1, 3), (1, -1), (9, 8)])
def test_consistency_proof_out_of_range(first: int, second: int) -> None:
    with pytest.raises(ValueError):
        consistency_proof(first, second, REF)


def test_trivial_consistency_proofs_are_empty() -> None:
    assert consistency_proof(0, 8, REF) == [] and consistency_proof(5, 5, REF) == []
    assert nodes_for_consistency(0, 8) == set() and nodes_for_consistency(5, 5) == set()
    assert verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 8, ROOTS[1], ROOTS[8], [])
    assert not verify_consistency(0, 8, EMPTY_ROOT, ROOTS[8], [ROOTS[8]])
    assert not verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])


def test_subtree_hash_arguments() -> None:
    assert subtree_hash(3, 3, REF) == EMPTY_ROOT
    with pytest.raises(ValueError):
        subtree_hash(4, 3, REF)


def test_edge_names_the_compact_range() -> None:
    assert edge(0) == [] and edge(8) == [(3, 0)]
    assert edge(7) == [(2, 0), (1, 2), (0, 6)]
    for size in range(len(LEAVES) + 1):
        assert [REF_NODES[node] for node in edge(size)] == COMPACT_TREES[size]


def test_compact_range_resumes_from_saved_state() -> None:
    tree = CompactRange()
    for leaf in LEAVES[:5]:
        tree.append(leaf_hash(leaf))
    saved = json.loads(json.dumps(tree.to_dict()))
    assert saved == {"size": 5, "hashes": [NODE_HASHES[2][0].hex(), NODE_HASHES[0][4].hex()]}
    resumed = CompactRange.from_dict(saved)
    again = CompactRange.from_edge(5, [REF(level, index) for level, index in edge(5)])
    for leaf in LEAVES[5:]:
        resumed.append(leaf_hash(leaf))
        again.append(leaf_hash(leaf))
    assert resumed.root() == again.root() == ROOTS[8]
    copy = resumed.copy()
    copy.append(leaf_hash(b"more"))
    assert resumed.size == 8 and copy.size == 9


@pytest.mark.parametrize("bad", [
    {}, {"size": 1}, {"size": -1, "hashes": []}, {"size": True, "hashes": ["00" * 32]},
    {"size": 1, "hashes": []}, {"size": 1, "hashes": ["zz" * 32]}, {"size": 1, "hashes": ["00" * 31]},
    {"size": 3, "hashes": ["00" * 32]}, {"size": 2, "hashes": "00" * 32}, {"size": "1", "hashes": ["00" * 32]},
])
def test_compact_range_rejects_bad_state(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        CompactRange.from_dict(bad)


def test_compact_range_rejects_bad_leaf_hash() -> None:
    with pytest.raises(ValueError):
        CompactRange().append(b"short")


def test_verifiers_do_not_raise_on_junk() -> None:
    junk: list[Any] = [None, "abc", b"abc", 5, [None], [b"x" * 33], [ROOTS[1]] * 200, iter([ROOTS[1]])]
    for proof in junk:
        assert verify_inclusion(ROOTS[1], 0, 2, proof, ROOTS[2]) is False
        assert verify_consistency(1, 2, ROOTS[1], ROOTS[2], proof) is False
    odd: list[Any] = [None, "x", -1, 1.5, True]
    for value in odd:
        assert verify_inclusion(value, 0, 1, [], ROOTS[1]) is False
        assert verify_inclusion(ROOTS[1], value, 1, [], ROOTS[1]) is False
        assert verify_consistency(value, 2, ROOTS[1], ROOTS[2], []) is False
        assert verify_consistency(1, 2, value, ROOTS[2], [NODE_HASHES[0][1]]) is False


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40), st.integers(-3, 2**70), st.integers(-3, 2**70),
       st.lists(st.binary(min_size=31, max_size=33), max_size=70), st.binary(max_size=40))
def test_verify_never_raises(leaf: bytes, a: int, b: int, proof: list[bytes], root: bytes) -> None:
    assert verify_inclusion(leaf, a, b, proof, root) in (True, False)
    assert verify_consistency(a, b, leaf, root, proof) in (True, False)


# --- properties over random trees ------------------------------------------------------------------------


class Spy:
    """A node source that records what the generator reads."""

    def __init__(self, nodes: dict[tuple[int, int], bytes]) -> None:
        self.nodes = nodes
        self.read: set[tuple[int, int]] = set()

    def __call__(self, level: int, index: int) -> bytes:
        self.read.add((level, index))
        return self.nodes[(level, index)]


def _tree(n: int) -> tuple[list[bytes], dict[tuple[int, int], bytes], CompactRange]:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    nodes, tree = build(hashes)
    return hashes, nodes, tree


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.data())
def test_inclusion_proofs_verify_and_tampering_fails(n: int, data: st.DataObject) -> None:
    hashes, nodes, _ = _tree(n)
    index = data.draw(st.integers(0, n - 1))
    size = data.draw(st.integers(index + 1, n))
    root = ref_mth(hashes[:size])
    spy = Spy(nodes)
    proof = inclusion_proof(index, size, spy)
    assert proof == ref_path(index, hashes[:size])
    assert spy.read == nodes_for_inclusion(index, size)
    assert inclusion_proof(index, size, source({k: nodes[k] for k in spy.read})) == proof
    assert verify_inclusion(hashes[index], index, size, proof, root)

    assert not verify_inclusion(leaf_hash(b"forged"), index, size, proof, root)
    assert not verify_inclusion(hashes[index], index, size, [*proof, root], root)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        flipped = bytearray(proof[at])
        flipped[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
        assert not verify_inclusion(hashes[index], index, size, [*proof[:at], bytes(flipped), *proof[at + 1:]], root)
        assert not verify_inclusion(hashes[index], index, size, proof[:at] + proof[at + 1:], root)
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index))
        assert not verify_inclusion(hashes[index], other, size, proof, root)
    other_size = data.draw(st.integers(index + 1, n + 1))
    if other_size != size:
        extended = [*hashes, leaf_hash(b"next")]
        assert not verify_inclusion(hashes[index], index, other_size, proof, ref_mth(extended[:other_size]))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 300), st.data())
def test_consistency_proofs_verify_and_tampering_fails(n: int, data: st.DataObject) -> None:
    hashes, nodes, _ = _tree(n)
    second = data.draw(st.integers(1, n))
    first = data.draw(st.integers(1, second))
    first_root, second_root = ref_mth(hashes[:first]), ref_mth(hashes[:second])
    spy = Spy(nodes)
    proof = consistency_proof(first, second, spy)
    assert proof == (ref_subproof(first, hashes[:second], True) if first < second else [])
    assert spy.read == nodes_for_consistency(first, second)
    assert consistency_proof(first, second, source({k: nodes[k] for k in spy.read})) == proof
    assert verify_consistency(first, second, first_root, second_root, proof)

    assert not verify_consistency(first, second, first_root, second_root, [*proof, first_root])
    assert not verify_consistency(first, second, leaf_hash(b"x"), second_root, proof)
    assert not verify_consistency(first, second, first_root, leaf_hash(b"x"), proof)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        flipped = bytearray(proof[at])
        flipped[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
        assert not verify_consistency(first, second, first_root, second_root,
                                      [*proof[:at], bytes(flipped), *proof[at + 1:]])
        assert not verify_consistency(first, second, first_root, second_root, proof[:at] + proof[at + 1:])
    other = data.draw(st.integers(1, second))
    if other != first:
        assert not verify_consistency(other, second, ref_mth(hashes[:other]), second_root, proof)
    # a history rewritten under the first tree: the old root cannot be extended to the new one
    forged = [*hashes[:second]]
    forged[data.draw(st.integers(0, first - 1))] = leaf_hash(b"rewritten")
    forged_nodes, _ = build(forged)
    forged_proof = consistency_proof(first, second, source(forged_nodes))
    assert not verify_consistency(first, second, first_root, ref_mth(forged), forged_proof)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 300))
def test_compact_range_root_is_the_naive_mth(n: int) -> None:
    hashes, nodes, tree = _tree(n)
    assert tree.root() == ref_mth(hashes)
    assert list(tree.hashes) == [nodes[node] for node in edge(n)]
    replay = CompactRange()
    for size, h in enumerate(hashes, start=1):
        replay.append(h)
        if size % 37 == 0 or size == n:
            assert replay.root() == ref_mth(hashes[:size]) == subtree_hash(0, size, source(nodes))
    # every perfect subtree is stored once: n leaves, and n - popcount(n) interior nodes
    assert len(nodes) == 2 * n - n.bit_count()
