"""Checkpoints and Merkle proofs as the API hands them out.

A checkpoint leaves the server only after it verifies against the operator's verifier key (the
one in the genesis entry), and every inclusion proof in a response is computed for exactly the
size of the checkpoint it is sent with, so that a client can check it with
:func:`ledger.merkle.verify_inclusion` against the root of that checkpoint and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger import merkle
from ledger.checkpoint import verify_checkpoint
from ledger.custody.log import Ledger
from ledger.errors import IntegrityError


@dataclass(frozen=True)
class SignedCheckpoint:
    origin: str
    size: int
    root: bytes
    note: str


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    proof: list[bytes]


@dataclass(frozen=True)
class ConsistencyProof:
    old: int
    new: int
    old_root: bytes
    new_root: bytes
    proof: list[bytes]


def signed(ledger: Ledger, note: str) -> SignedCheckpoint:
    """Verify one of the ledger's own notes and describe it."""
    checkpoint = verify_checkpoint(note, ledger.verifier_key(), ledger.origin())
    return SignedCheckpoint(checkpoint.origin, checkpoint.size, checkpoint.root, note)


def latest(ledger: Ledger) -> SignedCheckpoint:
    """A checkpoint of the log's current size (signed now if need be)."""
    return signed(ledger, ledger.latest_checkpoint())


def covering(ledger: Ledger, seq: int) -> SignedCheckpoint:
    """A signed checkpoint whose tree includes entry ``seq``.

    After an append, the checkpoint this process signed for it; otherwise (a duplicate, or an
    entry appended by another worker) the latest one.
    """
    last = ledger.last_checkpoint
    checkpoint = signed(ledger, last[1]) if last and last[0] > seq else latest(ledger)
    if checkpoint.size <= seq:
        raise IntegrityError(
            f"the latest checkpoint (size {checkpoint.size}) does not cover entry {seq}."
        )
    return checkpoint


def inclusion_in(
    ledger: Ledger, seq: int, leaf_hash: bytes, checkpoint: SignedCheckpoint
) -> InclusionProof:
    """The inclusion proof of entry ``seq`` in the tree of ``checkpoint``."""
    size, path = ledger.inclusion_proof(seq, checkpoint.size)
    return InclusionProof(seq, size, leaf_hash, checkpoint.root, path)


def inclusion(ledger: Ledger, seq: int, size: int | None) -> InclusionProof:
    """The inclusion proof of entry ``seq`` in the tree of ``size`` entries (default: current)."""
    tree_size, path = ledger.inclusion_proof(seq, size)
    leaf_hash = merkle.leaf_hash(ledger.entry_bytes(seq))
    return InclusionProof(seq, tree_size, leaf_hash, ledger.root_at(tree_size), path)


def consistency(ledger: Ledger, old: int, new: int) -> ConsistencyProof:
    """The consistency proof between the trees of ``old`` and ``new`` entries."""
    path = ledger.consistency_proof(old, new)
    return ConsistencyProof(old, new, ledger.root_at(old), ledger.root_at(new), path)
