"""RFC 6962 / RFC 9162 Merkle trees over SHA-256: hashing, compact ranges, proofs, verification.

What it does:

* hashes leaves and nodes with the RFC 6962 domain-separation prefixes (``0x00`` / ``0x01``);
* keeps the right border of a growing tree as a :class:`CompactRange` (O(log n) hashes) and reports
  every perfect subtree that an append completes, so that storage can keep it;
* plans inclusion and consistency proofs as lists of *stored* perfect nodes (O(log n) reads) and
  assembles the RFC 6962 ``PATH`` / ``PROOF`` from them;
* verifies proofs strictly, raising :class:`~ledger.errors.ProofError` with the expected and the
  computed values.

What it does not do: no storage or I/O (callers pass a ``fetch`` function), no leaf encoding
(callers pass leaf hashes or leaf bytes), no other hash functions, no tiles, no subtree proofs of
the Merkle Tree Certificates draft.

Node addressing: ``(level, index)`` names the perfect subtree of ``2**level`` leaves starting at
leaf ``index * 2**level``; level 0 holds leaf hashes. Only perfect subtrees are ever stored or
fetched; the hash of an incomplete right-border subtree is recomputed from its perfect parts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from ledger.errors import ProofError, ValidationError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
Fetch = Callable[[list[NodeId]], Mapping[NodeId, bytes]]

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """Return ``SHA-256(0x00 || data)``, the RFC 6962 hash of one leaf."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return ``SHA-256(0x01 || left || right)``, the RFC 6962 hash of an interior node."""
    return _sha256(b"\x01" + left + right).digest()


# --------------------------------------------------------------------------------------------
# Compact ranges


def compact_range_ids(size: int) -> list[NodeId]:
    """List the perfect subtrees whose hashes make up the compact range of ``size`` leaves.

    Args:
        size: the number of leaves in the tree.

    Returns:
        One ``(level, index)`` per set bit of ``size``, left to right (largest subtree first).

    Raises:
        ValidationError: ``size`` is not a non-negative integer.
    """
    _check_count(size, "size")
    return _range_ids(0, size)


class CompactRange:
    """The right border of a tree: one hash per set bit of its size, largest subtree first.

    ``append`` is on the ledger's hot path, so the class keeps a plain list and hashes inline.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._hashes: list[bytes] = []

    @classmethod
    def from_nodes(cls, size: int, hashes: Sequence[bytes]) -> CompactRange:
        """Rebuild the range of a tree from its stored perfect nodes.

        Args:
            size: the number of leaves in the tree.
            hashes: the hashes of the nodes named by :func:`compact_range_ids` for ``size``,
                in the same (left to right) order.

        Raises:
            ValidationError: the number of hashes does not match ``size`` or one is not 32 bytes.
        """
        _check_count(size, "size")
        if len(hashes) != size.bit_count():
            raise ValidationError(
                f"a compact range of {size} leaves has {size.bit_count()} hashes, "
                f"not {len(hashes)}.",
                expected=size.bit_count(),
                computed=len(hashes),
            )
        for position, value in enumerate(hashes):
            _check_stored_hash(value, f"compact range hash {position}")
        compact = cls()
        compact._size = size
        compact._hashes = list(hashes)
        return compact

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        """The border hashes, left to right, as named by :func:`compact_range_ids`."""
        return tuple(self._hashes)

    def copy(self) -> CompactRange:
        """Return an independent copy (to compute a tentative root without touching this one)."""
        other = CompactRange()
        other._size = self._size
        other._hashes = self._hashes.copy()
        return other

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash and return the perfect subtrees it completes.

        Args:
            leaf: the 32-byte leaf hash (see :func:`leaf_hash`).

        Returns:
            ``(level, index, hash)`` for every node of level >= 1 completed by this leaf, lowest
            first. The leaf itself (level 0) is not repeated.

        Raises:
            ValidationError: ``leaf`` is not a 32-byte ``bytes`` value.
        """
        if type(leaf) is not bytes or len(leaf) != HASH_SIZE:
            raise ValidationError(f"a leaf hash is {HASH_SIZE} bytes.", field="leaf")
        hashes = self._hashes
        size = self._size + 1
        self._size = size
        completed: list[tuple[int, int, bytes]] = []
        value = leaf
        level = 0
        # Each trailing zero bit of the new size is a pair of equal subtrees that now merge.
        while not (size >> level) & 1:
            level += 1
            value = _sha256(b"\x01" + hashes.pop() + value).digest()
            completed.append((level, (size >> level) - 1, value))
        hashes.append(value)
        return completed

    def root(self) -> bytes:
        """Return the RFC 6962 root hash (``EMPTY_ROOT`` for an empty tree)."""
        hashes = self._hashes
        if not hashes:
            return EMPTY_ROOT
        value = hashes[-1]
        for position in range(len(hashes) - 2, -1, -1):
            value = _sha256(b"\x01" + hashes[position] + value).digest()
        return value

    def __repr__(self) -> str:
        return f"CompactRange(size={self._size})"


# --------------------------------------------------------------------------------------------
# Proof planning


@dataclass(frozen=True, slots=True)
class ProofPlan:
    """Which stored nodes a proof needs, and how to turn them into the proof.

    Attributes:
        ids: the perfect nodes to fetch, each once.
        steps: one tuple of node ids per proof hash, leaf side first. A one-node step is copied;
            a longer step is an incomplete subtree whose hash is the right fold of its parts.
    """

    ids: list[NodeId]
    steps: tuple[tuple[NodeId, ...], ...]

    def assemble(self, hashes_by_id: Mapping[NodeId, bytes]) -> list[bytes]:
        """Build the proof from the fetched hashes.

        Args:
            hashes_by_id: at least the hashes of ``ids``.

        Returns:
            The RFC 6962 proof, leaf-adjacent hash first.

        Raises:
            ValidationError: a needed hash is missing or not 32 bytes.
        """
        proof: list[bytes] = []
        for step in self.steps:
            value = _stored(hashes_by_id, step[-1])
            for position in range(len(step) - 2, -1, -1):
                value = _sha256(b"\x01" + _stored(hashes_by_id, step[position]) + value).digest()
            proof.append(value)
        return proof


def inclusion_plan(index: int, size: int) -> ProofPlan:
    """Plan the inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    Raises:
        ValidationError: ``index`` or ``size`` is negative or not an integer, or
            ``index >= size``.
    """
    _check_count(index, "index")
    _check_count(size, "size")
    if index >= size:
        raise ValidationError(
            f"leaf index {index} is not in a tree of {size} leaves.", index=index, size=size
        )
    return _plan(_path_steps(index, size, 0))


def consistency_plan(size1: int, size2: int) -> ProofPlan:
    """Plan the proof that the tree of ``size1`` leaves is a prefix of the tree of ``size2``.

    Raises:
        ValidationError: a size is negative or not an integer, ``size1`` is 0, or
            ``size1 > size2``.
    """
    _check_count(size1, "size1")
    _check_count(size2, "size2")
    if size1 == 0:
        raise ValidationError(
            "a consistency proof needs size1 > 0; every tree extends the empty tree.",
            size1=size1,
            size2=size2,
        )
    if size1 > size2:
        raise ValidationError(
            f"size1 ({size1}) is larger than size2 ({size2}); a tree cannot shrink.",
            size1=size1,
            size2=size2,
        )
    if size1 == size2:
        return ProofPlan([], ())
    # The largest perfect subtree ending at size1 is the seed; the rest of the proof is its audit
    # path in the larger tree. A verifier knows the seed already when it is the whole old tree.
    level = (size1 & -size1).bit_length() - 1
    steps = _path_steps(size1 - 1, size2, level)
    if size1 != 1 << level:
        steps.insert(0, ((level, (size1 - 1) >> level),))
    return _plan(steps)


def inclusion_proof(index: int, size: int, fetch: Fetch) -> list[bytes]:
    """Return the inclusion proof of leaf ``index`` in the tree of ``size`` leaves.

    Args:
        index: the 0-based leaf index.
        size: the tree size.
        fetch: called once with the node ids to read; returns their hashes.
    """
    plan = inclusion_plan(index, size)
    return plan.assemble(fetch(plan.ids) if plan.ids else {})


def consistency_proof(size1: int, size2: int, fetch: Fetch) -> list[bytes]:
    """Return the consistency proof from ``size1`` to ``size2`` (see :func:`inclusion_proof`)."""
    plan = consistency_plan(size1, size2)
    return plan.assemble(fetch(plan.ids) if plan.ids else {})


def _path_steps(index: int, size: int, level: int) -> list[tuple[NodeId, ...]]:
    """Audit-path steps for the node of ``level`` holding leaf ``index``, from that level up.

    Below the fork (the highest bit where ``index`` and ``size - 1`` differ) every sibling is
    perfect; at the fork the right sibling may be cut off by ``size`` and is folded from its perfect
    parts; above it the remaining siblings are the perfect left neighbours.
    """
    fork = (index ^ (size - 1)).bit_length()  # 0 when index is the last leaf
    steps: list[tuple[NodeId, ...]] = [((lv, (index >> lv) ^ 1),) for lv in range(level, fork - 1)]
    if fork:
        steps.append(tuple(_range_ids(((index >> (fork - 1)) + 1) << (fork - 1), size)))
    for lv in range(max(fork, level), size.bit_length()):
        if (index >> lv) & 1:
            steps.append(((lv, (index >> lv) - 1),))
    return steps


def _range_ids(start: int, end: int) -> list[NodeId]:
    """Perfect nodes covering ``[start, end)``, left to right; ``start`` is aligned for them."""
    ids: list[NodeId] = []
    count = end - start
    for lv in range(count.bit_length() - 1, -1, -1):
        if (count >> lv) & 1:
            ids.append((lv, start >> lv))
            start += 1 << lv
    return ids


def _plan(steps: list[tuple[NodeId, ...]]) -> ProofPlan:
    ids = list(dict.fromkeys(node for step in steps for node in step))
    return ProofPlan(ids, tuple(steps))


def _stored(hashes_by_id: Mapping[NodeId, bytes], node: NodeId) -> bytes:
    try:
        value = hashes_by_id[node]
    except KeyError:
        raise ValidationError(
            f"the stored hash of node {node} (level, index) is needed for the proof but missing.",
            node=node,
        ) from None
    if len(value) != HASH_SIZE:
        raise ValidationError(f"the stored hash of node {node} is not {HASH_SIZE} bytes.")
    return value


def _check_count(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(f"{name} must be a non-negative integer.", field=name)


def _check_stored_hash(value: object, name: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ValidationError(f"{name} must be {HASH_SIZE} bytes.", field=name)


# --------------------------------------------------------------------------------------------
# Verification


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes:
    """Return the root that ``proof`` implies for ``leaf_hash`` at ``index`` in a tree of ``size``.

    Raises:
        ProofError: ``index >= size``, a hash is not 32 bytes, or the proof has the wrong length.
    """
    _require_count(index, "index")
    _require_count(size, "size")
    if index >= size:
        raise ProofError(
            f"leaf index {index} is not in a tree of {size} leaves.", index=index, size=size
        )
    _require_hash(leaf_hash, "the leaf hash")
    inner = (index ^ (size - 1)).bit_length()
    _require_proof(proof, inner + (index >> inner).bit_count(), f"leaf {index} of {size}")
    value = leaf_hash
    for level in range(inner):
        if (index >> level) & 1:
            value = _sha256(b"\x01" + proof[level] + value).digest()
        else:
            value = _sha256(b"\x01" + value + proof[level]).digest()
    for position in range(inner, len(proof)):
        value = _sha256(b"\x01" + proof[position] + value).digest()
    return value


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with ``root``.

    Raises:
        ProofError: the proof is malformed or leads to another root; ``details`` carries
            ``expected`` and ``computed``.
    """
    _require_hash(root, "the root")
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    _require_match("inclusion proof", root, computed)


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree of ``size1`` leaves with ``root1`` is a prefix of ``size2``/``root2``.

    Equal sizes need an empty proof and equal roots (compared as given, like transparency-dev).

    Raises:
        ProofError: ``size1`` is 0 or larger than ``size2``, the proof is malformed, or it does
            not lead to both roots; ``details`` carries ``expected`` and ``computed``.
    """
    _require_count(size1, "size1")
    _require_count(size2, "size2")
    if size1 == 0:
        raise ProofError("size1 is 0: a consistency proof from the empty tree proves nothing.")
    if size1 > size2:
        raise ProofError(
            f"size1 ({size1}) is larger than size2 ({size2}).", expected=size2, computed=size1
        )
    if size1 == size2:
        _require_proof(proof, 0, f"equal sizes {size1}")
        _require_match("consistency proof (equal sizes)", root2, root1)
        return
    _require_hash(root1, "root1")
    _require_hash(root2, "root2")
    level = (size1 & -size1).bit_length() - 1
    mask = (size1 - 1) >> level
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length() - level
    seeded = int(size1 != 1 << level)  # the seed is proof[0] unless it is root1 itself
    expected = seeded + inner + (mask >> inner).bit_count()
    _require_proof(proof, expected, f"sizes {size1} to {size2}")
    first = second = proof[0] if seeded else root1
    for position in range(seeded, expected):
        sibling = proof[position]
        step = position - seeded
        if step >= inner or (mask >> step) & 1:
            first = _sha256(b"\x01" + sibling + first).digest()
            second = _sha256(b"\x01" + sibling + second).digest()
        else:
            second = _sha256(b"\x01" + second + sibling).digest()
    _require_match("consistency proof (old root)", root1, first)
    _require_match("consistency proof (new root)", root2, second)


def _require_count(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProofError(f"{name} must be a non-negative integer.", field=name)


def _require_hash(value: object, name: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        length = len(value) if isinstance(value, bytes) else None
        raise ProofError(
            f"{name} must be {HASH_SIZE} bytes, not {length}.",
            expected=HASH_SIZE,
            computed=length,
        )


def _require_proof(proof: Sequence[bytes], length: int, what: str) -> None:
    if len(proof) != length:
        raise ProofError(
            f"the proof for {what} must have {length} hashes, not {len(proof)}.",
            expected=length,
            computed=len(proof),
        )
    for position, value in enumerate(proof):
        _require_hash(value, f"proof hash {position}")


def _require_match(what: str, expected: bytes, computed: bytes) -> None:
    if computed != expected:
        raise ProofError(
            f"the {what} leads to {computed.hex()}, not the expected {expected.hex()}.",
            expected=expected.hex(),
            computed=computed.hex(),
        )
