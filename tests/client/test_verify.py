"""What the client checks before it believes a receipt or a checkpoint (pure; no server).

A small log is built on the pure core (:class:`MemoryLog`) and its proofs with the naive RFC 6962
reference, so every check is exercised against independently computed values, and each broken
variant must be refused.
"""

from __future__ import annotations

from dataclasses import replace

import merkle_reference as ref
import pytest
from factories import ORIGIN, MemoryLog, populated, signer

from ledger import entries, merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.client.errors import ForkError, RollbackError
from ledger.client.server import InclusionProof
from ledger.client.verify import SeenCheckpoint, check_consistency, check_receipt
from ledger.errors import ProofError
from ledger.statements import Envelope


def _seen(log: MemoryLog, size: int) -> SeenCheckpoint:
    data = [e.data for e in log.entries[:size]]
    checkpoint = Checkpoint(ORIGIN, size, ref.mth(data))
    return SeenCheckpoint(checkpoint, sign_checkpoint(checkpoint, ORIGIN, signer("operator")))


@pytest.fixture
def log() -> MemoryLog:
    world, log = populated()
    for lot in ("lot-1", "lot-2", "lot-3"):
        world.run(world.register_lot(lot))
    return log


def _receipt(log: MemoryLog, seq: int) -> tuple[Envelope, InclusionProof, bytes, Checkpoint]:
    entry = log.entries[seq]
    seen = _seen(log, log.size)
    path = tuple(ref.path(seq, [e.data for e in log.entries]))
    inclusion = InclusionProof(seq, log.size, entry.leaf_hash, seen.root, path)
    return entry.envelope, inclusion, entry.data, seen.checkpoint


def test_a_genuine_receipt_verifies(log: MemoryLog) -> None:
    for seq in (0, 5, log.size - 1):
        envelope, inclusion, entry, checkpoint = _receipt(log, seq)
        check_receipt(envelope, seq, inclusion.leaf_hash, inclusion, entry, checkpoint)


def _flip(data: bytes, at: int = -1) -> bytes:
    changed = bytearray(data)
    changed[at] ^= 1
    return bytes(changed)


BROKEN = {
    "a bit flipped in the audit path": lambda e, i, d, c, s: (
        e, replace(i, proof=(_flip(i.proof[0]), *i.proof[1:])), d, c, s),
    "a path one hash short": lambda e, i, d, c, s: (e, replace(i, proof=i.proof[:-1]), d, c, s),
    "another leaf hash": lambda e, i, d, c, s: (
        e, replace(i, leaf_hash=_flip(i.leaf_hash)), d, c, s),
    "another sequence number": lambda e, i, d, c, s: (e, replace(i, seq=s - 1), d, c, s),
    "a proof for another tree size": lambda e, i, d, c, s: (
        e, replace(i, tree_size=i.tree_size - 1), d, c, s),
    "a checkpoint of another root": lambda e, i, d, c, s: (
        e, i, d, replace(c, root=_flip(c.root)), s),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_receipt_is_refused(log: MemoryLog, case: str) -> None:
    seq = 7
    envelope, inclusion, entry, checkpoint = _receipt(log, seq)
    envelope, inclusion, entry, checkpoint, seq = BROKEN[case](
        envelope, inclusion, entry, checkpoint, seq
    )
    with pytest.raises(ProofError):
        check_receipt(envelope, seq, inclusion.leaf_hash, inclusion, entry, checkpoint)


def test_the_leaf_must_be_the_hash_of_the_entry_bytes(log: MemoryLog) -> None:
    envelope, inclusion, entry, checkpoint = _receipt(log, 7)
    with pytest.raises(ProofError, match="hash of the entry bytes"):
        check_receipt(envelope, 7, inclusion.leaf_hash, inclusion, _flip(entry, 30), checkpoint)


def test_a_proven_entry_must_hold_our_statement(log: MemoryLog) -> None:
    """A server proving *some* entry is not enough: it must hold the bytes we signed."""
    _envelope, inclusion, entry, checkpoint = _receipt(log, 7)
    other = log.entries[8].envelope
    with pytest.raises(ProofError, match=r"signature|does not hold"):
        check_receipt(other, 7, inclusion.leaf_hash, inclusion, entry, checkpoint)
    same_sig = Envelope(other.statement, log.entries[7].envelope.sig, other.statement_bytes)
    with pytest.raises(ProofError, match="does not hold the statement"):
        check_receipt(same_sig, 7, inclusion.leaf_hash, inclusion, entry, checkpoint)


def test_an_entry_for_another_position_is_refused(log: MemoryLog) -> None:
    """Entry bytes name their own seq; a proof of the same bytes at another index fails."""
    envelope, inclusion, entry, checkpoint = _receipt(log, 7)
    assert entries.split(entry)[0] == 7
    data = [e.data for e in log.entries]
    moved = replace(inclusion, seq=6, proof=tuple(ref.path(6, data)))
    with pytest.raises(ProofError):
        check_receipt(envelope, 6, inclusion.leaf_hash, moved, entry, checkpoint)


# -- consistency --------------------------------------------------------------------------------
def _proof(log: MemoryLog, old: int, new: int) -> list[bytes]:
    return ref.proof(old, [e.data for e in log.entries[:new]])


def test_a_growing_log_is_consistent(log: MemoryLog) -> None:
    old, new = _seen(log, 5), _seen(log, log.size)
    check_consistency(old, new, _proof(log, 5, log.size), latest=True)
    check_consistency(old, old, None, latest=True)


def test_an_older_receipt_checkpoint_is_fine_when_consistent(log: MemoryLog) -> None:
    newest, older = _seen(log, log.size), _seen(log, 5)
    check_consistency(newest, older, _proof(log, 5, log.size), latest=False)


def test_a_smaller_latest_checkpoint_is_a_rollback(log: MemoryLog) -> None:
    newest, older = _seen(log, log.size), _seen(log, 5)
    with pytest.raises(RollbackError, match="rolled back") as caught:
        check_consistency(newest, older, _proof(log, 5, log.size), latest=True)
    assert (caught.value.seen_note, caught.value.new_note) == (newest.note, older.note)
    assert caught.value.code == "rollback"


def test_two_roots_for_one_size_are_a_fork(log: MemoryLog) -> None:
    seen = _seen(log, log.size)
    other = Checkpoint(ORIGIN, log.size, merkle.leaf_hash(b"another history"))
    forked = SeenCheckpoint(other, sign_checkpoint(other, ORIGIN, signer("operator")))
    with pytest.raises(ForkError, match="two different roots") as caught:
        check_consistency(seen, forked, None, latest=True)
    assert caught.value.seen_note == seen.note
    assert caught.value.new_note == forked.note
    assert seen.note in caught.value.evidence() and forked.note in caught.value.evidence()


def test_a_bad_or_missing_consistency_proof_is_a_fork(log: MemoryLog) -> None:
    old, new = _seen(log, 5), _seen(log, log.size)
    proof = _proof(log, 5, log.size)
    with pytest.raises(ForkError, match="consistency proof fails"):
        check_consistency(old, new, [_flip(proof[0]), *proof[1:]], latest=True)
    with pytest.raises(ForkError, match="cannot prove"):
        check_consistency(old, new, None, latest=True)
    other = replace(old, checkpoint=replace(old.checkpoint, root=_flip(old.root)))
    with pytest.raises(ForkError):
        check_consistency(other, new, proof, latest=True)
