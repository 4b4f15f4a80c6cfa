"""ledger.merkle against the naive RFC 6962 reference, for every tree size 1..300.

The default run checks every size with a few leaves and size pairs each, and random cases with
hypothesis (bit flips included); the ``slow`` tests sweep every index and every size pair.
"""

from __future__ import annotations

from collections.abc import Mapping

import merkle_reference as ref  # tests/ is on pythonpath (setup.cfg)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.errors import ProofError, ValidationError

MAX_SIZE = 300
LEAVES = [b"leaf %d" % i for i in range(MAX_SIZE)]
LEAF_HASHES = [merkle.leaf_hash(data) for data in LEAVES]


def _build() -> tuple[dict[tuple[int, int], bytes], list[list[tuple[int, int, bytes]]]]:
    """Append all leaves; return the stored nodes and what each append reported."""
    compact = merkle.CompactRange()
    nodes: dict[tuple[int, int], bytes] = {}
    reports = []
    for position, leaf in enumerate(LEAF_HASHES):
        nodes[(0, position)] = leaf
        completed = compact.append(leaf)
        reports.append(completed)
        for level, index, value in completed:
            nodes[(level, index)] = value
    return nodes, reports


NODES, REPORTS = _build()


def _fetch_at(size: int) -> merkle.Fetch:
    """A fetch over the stored nodes that fails if a node is not complete at ``size``."""

    def fetch(ids: list[tuple[int, int]]) -> Mapping[tuple[int, int], bytes]:
        assert len(ids) <= 2 * size.bit_length(), ids  # O(log n) reads
        for level, index in ids:
            assert (index + 1) << level <= size, f"node {(level, index)} is incomplete at {size}"
        return {node: NODES[node] for node in ids}

    return fetch


def _root(size: int) -> bytes:
    return ref.mth(LEAVES[:size])


def _sample(size: int) -> set[int]:
    return {0, size // 3, size // 2, size - 1, max(size - 2, 0)}


def _flip(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


# --------------------------------------------------------------------------------------------
# Compact ranges


def test_compact_range_root_matches_reference_for_every_size() -> None:
    compact = merkle.CompactRange()
    assert compact.root() == ref.mth([]) == merkle.EMPTY_ROOT
    for size in range(1, MAX_SIZE + 1):
        compact.append(LEAF_HASHES[size - 1])
        assert compact.size == size
        assert compact.root() == _root(size), size


def test_every_completed_node_is_the_reference_subtree_hash() -> None:
    for size, completed in enumerate(REPORTS, start=1):
        assert len(completed) == (size & -size).bit_length() - 1  # one per merge
        for level, index, value in completed:
            assert level >= 1
            assert (index + 1) << level == size  # it ends at the leaf just appended
            assert value == ref.mth(LEAVES[index << level : (index + 1) << level])


def test_compact_range_rebuilt_from_stored_nodes_for_every_size() -> None:
    for size in range(MAX_SIZE + 1):
        ids = merkle.compact_range_ids(size)
        assert [level for level, _ in ids] == sorted(
            (b for b in range(size.bit_length()) if size >> b & 1), reverse=True
        )
        compact = merkle.CompactRange.from_nodes(size, [NODES[node] for node in ids])
        assert compact.root() == _root(size)
        assert compact.hashes == tuple(NODES[node] for node in ids)


def test_copy_is_independent() -> None:
    compact = merkle.CompactRange.from_nodes(3, [NODES[(1, 0)], NODES[(0, 2)]])
    other = compact.copy()
    other.append(LEAF_HASHES[3])
    assert (compact.size, compact.root()) == (3, _root(3))
    assert (other.size, other.root()) == (4, _root(4))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70))
def test_compact_range_matches_reference_for_random_leaves(leaves: list[bytes]) -> None:
    compact = merkle.CompactRange()
    for size, data in enumerate(leaves, start=1):
        for level, index, value in compact.append(merkle.leaf_hash(data)):
            assert value == ref.mth(leaves[index << level : (index + 1) << level])
        assert compact.root() == ref.mth(leaves[:size])


def test_compact_range_rejects_bad_input() -> None:
    with pytest.raises(ValidationError, match="a leaf hash is 32 bytes"):
        merkle.CompactRange().append(b"\x00" * 31)
    with pytest.raises(ValidationError, match="a leaf hash is 32 bytes"):
        merkle.CompactRange().append(bytearray(32))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="compact range of 3 leaves has 2 hashes, not 1"):
        merkle.CompactRange.from_nodes(3, [NODES[(1, 0)]])
    with pytest.raises(ValidationError, match="compact range hash 1 must be 32 bytes"):
        merkle.CompactRange.from_nodes(3, [NODES[(1, 0)], b"short"])
    with pytest.raises(ValidationError, match="size must be a non-negative integer"):
        merkle.compact_range_ids(-1)


# --------------------------------------------------------------------------------------------
# Inclusion proofs


def _check_inclusion(index: int, size: int) -> list[bytes]:
    proof = merkle.inclusion_proof(index, size, _fetch_at(size))
    assert proof == ref.path(index, LEAVES[:size]), (index, size)
    merkle.verify_inclusion(LEAF_HASHES[index], index, size, proof, _root(size))
    return proof


def test_inclusion_proofs_match_reference_for_every_size() -> None:
    for size in range(1, MAX_SIZE + 1):
        for index in _sample(size):
            _check_inclusion(index, size)


@pytest.mark.slow
def test_inclusion_proofs_match_reference_for_every_size_and_index() -> None:
    for size in range(1, MAX_SIZE + 1):
        for index in range(size):
            _check_inclusion(index, size)


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(0, size - 1)), size


@settings(max_examples=40, deadline=None)
@given(inclusion_cases())
def test_inclusion_any_bit_flip_fails(case: tuple[int, int]) -> None:
    index, size = case
    proof = _check_inclusion(index, size)
    leaf, root = LEAF_HASHES[index], _root(size)
    for bit in range(256):
        with pytest.raises(ProofError, match="not the expected"):
            merkle.verify_inclusion(_flip(leaf, bit), index, size, proof, root)
        with pytest.raises(ProofError, match="not the expected"):
            merkle.verify_inclusion(leaf, index, size, proof, _flip(root, bit))
        for position in range(len(proof)):
            bad = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
            with pytest.raises(ProofError, match="not the expected"):
                merkle.verify_inclusion(leaf, index, size, bad, root)


@settings(max_examples=150, deadline=None)
@given(inclusion_cases())
def test_inclusion_wrong_index_or_size_fails(case: tuple[int, int]) -> None:
    index, size = case
    proof = _check_inclusion(index, size)
    leaf, root = LEAF_HASHES[index], _root(size)
    wrong = [(index - 1, size), (index + 1, size), (index ^ 2, size)]
    wrong += [(index, size * 2), (index, size // 2)]
    for bad_index, bad_size in wrong:
        if bad_index < 0:
            continue
        with pytest.raises(ProofError, match=r"not the expected|must have \d+ hashes|not in a"):
            merkle.verify_inclusion(leaf, bad_index, bad_size, proof, root)


def test_inclusion_requests_and_proofs_are_checked() -> None:
    with pytest.raises(ValidationError, match="leaf index 5 is not in a tree of 5 leaves"):
        merkle.inclusion_plan(5, 5)
    with pytest.raises(ValidationError, match="index must be a non-negative integer"):
        merkle.inclusion_plan(-1, 5)
    with pytest.raises(ValidationError, match="size must be a non-negative integer"):
        merkle.inclusion_plan(0, True)
    plan = merkle.inclusion_plan(2, 5)
    with pytest.raises(ValidationError, match=r"node \(0, 3\) .* missing"):
        plan.assemble({})
    with pytest.raises(ValidationError, match="is not 32 bytes"):
        plan.assemble(dict.fromkeys(plan.ids, b"x"))
    proof = _check_inclusion(2, 5)
    leaf, root = LEAF_HASHES[2], _root(5)
    with pytest.raises(ProofError, match="must have 3 hashes, not 2") as info:
        merkle.verify_inclusion(leaf, 2, 5, proof[:-1], root)
    assert (info.value.details["expected"], info.value.details["computed"]) == (3, 2)
    with pytest.raises(ProofError, match="must have 3 hashes, not 4"):
        merkle.verify_inclusion(leaf, 2, 5, [*proof, root], root)
    with pytest.raises(ProofError, match="the leaf hash must be 32 bytes, not 33"):
        merkle.verify_inclusion(leaf + b"\x00", 2, 5, proof, root)
    with pytest.raises(ProofError, match="the root must be 32 bytes, not 31"):
        merkle.verify_inclusion(leaf, 2, 5, proof, root[:31])
    with pytest.raises(ProofError, match="proof hash 1 must be 32 bytes, not 33"):
        merkle.verify_inclusion(leaf, 2, 5, [proof[0], proof[1] + b"\x00", proof[2]], root)
    with pytest.raises(ProofError, match="leaf index 5 is not in a tree of 5 leaves"):
        merkle.verify_inclusion(leaf, 5, 5, proof, root)
    assert merkle.root_from_inclusion_proof(leaf, 2, 5, proof) == root


# --------------------------------------------------------------------------------------------
# Consistency proofs


def _check_consistency(size1: int, size2: int) -> list[bytes]:
    proof = merkle.consistency_proof(size1, size2, _fetch_at(size2))
    assert proof == ref.proof(size1, LEAVES[:size2]), (size1, size2)
    merkle.verify_consistency(size1, size2, proof, _root(size1), _root(size2))
    return proof


def test_consistency_proofs_match_reference_for_every_size() -> None:
    for size2 in range(1, MAX_SIZE + 1):
        power = 1 << (size2.bit_length() - 1)
        for size1 in {1, power, max(power - 1, 1), size2 // 2 or 1, size2 - 1 or 1, size2}:
            _check_consistency(size1, size2)


@pytest.mark.slow
def test_consistency_proofs_match_reference_for_every_pair_of_sizes() -> None:
    for size2 in range(1, MAX_SIZE + 1):
        for size1 in range(1, size2 + 1):
            _check_consistency(size1, size2)


@st.composite
def consistency_cases(draw: st.DrawFn) -> tuple[int, int]:
    size2 = draw(st.integers(1, MAX_SIZE))
    return draw(st.integers(1, size2)), size2


@settings(max_examples=40, deadline=None)
@given(consistency_cases())
def test_consistency_any_bit_flip_fails(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = _check_consistency(size1, size2)
    root1, root2 = _root(size1), _root(size2)
    for bit in range(256):
        with pytest.raises(ProofError, match="not the expected"):
            merkle.verify_consistency(size1, size2, proof, _flip(root1, bit), root2)
        with pytest.raises(ProofError, match="not the expected"):
            merkle.verify_consistency(size1, size2, proof, root1, _flip(root2, bit))
        for position in range(len(proof)):
            bad = [*proof[:position], _flip(proof[position], bit), *proof[position + 1 :]]
            with pytest.raises(ProofError, match="not the expected"):
                merkle.verify_consistency(size1, size2, bad, root1, root2)


@settings(max_examples=150, deadline=None)
@given(consistency_cases())
def test_consistency_wrong_sizes_fail(case: tuple[int, int]) -> None:
    size1, size2 = case
    proof = _check_consistency(size1, size2)
    root1, root2 = _root(size1), _root(size2)
    wrong = [(size1 - 1, size2), (size1 + 1, size2), (size1 ^ 2, size2)]
    wrong += [(size1, size2 * 2), (size1, size2 // 2)]
    for bad1, bad2 in wrong:
        with pytest.raises(ProofError, match=r"not the expected|must have \d+ hashes|size1"):
            merkle.verify_consistency(bad1, bad2, proof, root1, root2)


def test_consistency_requests_and_proofs_are_checked() -> None:
    with pytest.raises(ValidationError, match="needs size1 > 0"):
        merkle.consistency_plan(0, 5)
    with pytest.raises(ValidationError, match=r"size1 \(6\) is larger than size2 \(5\)"):
        merkle.consistency_plan(6, 5)
    with pytest.raises(ValidationError, match="size2 must be a non-negative integer"):
        merkle.consistency_plan(1, -5)
    assert merkle.consistency_proof(7, 7, _fetch_at(7)) == []
    proof = _check_consistency(3, 7)
    root1, root2 = _root(3), _root(7)
    with pytest.raises(ProofError, match="size1 is 0"):
        merkle.verify_consistency(0, 7, [], merkle.EMPTY_ROOT, root2)
    with pytest.raises(ProofError, match=r"size1 \(8\) is larger than size2 \(7\)"):
        merkle.verify_consistency(8, 7, proof, root1, root2)
    with pytest.raises(ProofError, match="must have 4 hashes, not 3") as info:
        merkle.verify_consistency(3, 7, proof[:-1], root1, root2)
    assert (info.value.details["expected"], info.value.details["computed"]) == (4, 3)
    with pytest.raises(ProofError, match="root1 must be 32 bytes, not 0"):
        merkle.verify_consistency(3, 7, proof, b"", root2)
    with pytest.raises(ProofError, match="proof hash 0 must be 32 bytes, not 1"):
        merkle.verify_consistency(3, 7, [b"\x00", *proof[1:]], root1, root2)
    with pytest.raises(ProofError, match="equal sizes 7 must have 0 hashes, not 1"):
        merkle.verify_consistency(7, 7, [root2], root2, root2)
    with pytest.raises(ProofError, match="not the expected") as info:
        merkle.verify_consistency(7, 7, [], root1, root2)
    assert info.value.details == {"expected": root2.hex(), "computed": root1.hex()}
    merkle.verify_consistency(7, 7, [], root2, root2)
