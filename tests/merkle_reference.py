"""A naive Merkle tree straight from RFC 6962 section 2.1, used only to check ``ledger.merkle``.

Every function takes the full list of leaf *inputs* ``D[n]`` and recurses exactly as the RFC
writes it, so it is obviously right and deliberately slow. It shares no code with
``ledger.merkle``: the hashing is spelled out again here.

``subtree_consistency_proof`` is not RFC 6962: it is the test-only reference of the Merkle Tree
Certificates draft (transparency-dev/merkle ``refSubtreeConsistencyProof``), needed only to
reproduce the accumulated subtree digests whose lines with ``start > 0`` go beyond RFC 6962.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(bytes([0]) + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(bytes([1]) + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (RFC 6962: k < n <= 2k)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(entries: Sequence[bytes]) -> bytes:
    """MTH(D[n]): the Merkle Tree Hash of the leaf inputs."""
    return _mth(tuple(entries))


@functools.lru_cache(maxsize=1 << 16)  # memoised only so the sweeps finish; same recursion
def _mth(entries: tuple[bytes, ...]) -> bytes:
    n = len(entries)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return _leaf(entries[0])
    k = _split(n)
    return _node(_mth(entries[:k]), _mth(entries[k:]))


def path(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf ``m``, leaf side first."""
    d = tuple(entries)
    n = len(d)
    if not 0 <= m < n:
        raise ValueError("m must be in [0, n)")
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return [*path(m, d[:k]), _mth(d[k:])]
    return [*path(m - k, d[k:]), _mth(d[:k])]


def proof(m: int, entries: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) = SUBPROOF(m, D[n], true), for 0 < m <= n."""
    d = tuple(entries)
    if not 0 < m <= len(d):
        raise ValueError("m must be in (0, n]")
    return _subproof(m, d, True)


def _subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [_mth(d)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, d[:k], b), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


def subtree_consistency_proof(
    start: int, end: int, entries: Sequence[bytes], have_root: bool = True
) -> list[bytes]:
    """Draft MTC subtree consistency proof of ``[start, end)`` in ``entries`` (not RFC 6962)."""
    d = tuple(entries)
    size = len(d)
    if start >= end or end > size:
        return []
    if start == 0 and end == size:
        return [] if have_root else [_mth(d)]
    k = _split(size)
    if end <= k:
        return [*subtree_consistency_proof(start, end, d[:k], have_root), _mth(d[k:])]
    if k <= start:
        return [*subtree_consistency_proof(start - k, end - k, d[k:], have_root), _mth(d[:k])]
    return [*subtree_consistency_proof(0, end - k, d[k:], False), _mth(d[:k])]
