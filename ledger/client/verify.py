"""What the client checks before it believes the server: pure functions over values and bytes.

* :func:`check_receipt`: an accepted or duplicate statement's receipt is a proof, not a promise:
  the inclusion proof leads from the leaf hash to the root of a checkpoint the operator signed,
  and the leaf hash is the hash of entry bytes that hold exactly the statement bytes and the
  signature the client sent, at the sequence number the server named.
* :func:`check_consistency`: a newly seen checkpoint and the one seen before can both be true of
  one append-only log; otherwise :class:`~ledger.client.errors.ForkError` (or
  :class:`~ledger.client.errors.RollbackError`) carries both signed notes as evidence.

No I/O: the client fetches proofs and entries and hands them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger import entries, merkle
from ledger.checkpoint import Checkpoint
from ledger.client.errors import ForkError, RollbackError
from ledger.client.server import InclusionProof
from ledger.errors import LedgerError, ProofError
from ledger.statements import Envelope


@dataclass(frozen=True)
class SeenCheckpoint:
    """A verified checkpoint and the signed note it came in."""

    checkpoint: Checkpoint
    note: str

    @property
    def size(self) -> int:
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        return self.checkpoint.root


def check_receipt(
    envelope: Envelope,
    seq: int,
    leaf_hash: bytes,
    inclusion: InclusionProof,
    entry: bytes,
    checkpoint: Checkpoint,
) -> None:
    """Check that ``envelope`` is entry ``seq`` with ``leaf_hash`` in the tree of ``checkpoint``.

    Raises:
        ProofError: any of the checks fails; ``details`` name what was expected and found.
    """
    _same("the proof's sequence number", seq, inclusion.seq)
    _same("the proof's leaf hash", leaf_hash.hex(), inclusion.leaf_hash.hex())
    _same("the proof's tree size", checkpoint.size, inclusion.tree_size)
    _same("the proof's root", checkpoint.root.hex(), inclusion.root.hex())
    merkle.verify_inclusion(leaf_hash, seq, checkpoint.size, inclusion.proof, checkpoint.root)
    _same("the hash of the entry bytes", leaf_hash.hex(), merkle.leaf_hash(entry).hex())
    try:
        entry_seq, _prev, _logged, sig, statement_bytes = entries.split(entry)
    except LedgerError as exc:
        raise ProofError(f"entry {seq} is not a well-formed ledger entry.") from exc
    _same("the entry's sequence number", seq, entry_seq)
    _same("the entry's signature", envelope.sig.hex(), sig.hex())
    if statement_bytes != envelope.statement_bytes:
        raise ProofError(
            f"entry {seq} does not hold the statement this client signed.",
            code="wrong_statement",
            seq=seq,
        )


def check_consistency(
    seen: SeenCheckpoint,
    new: SeenCheckpoint,
    proof: Sequence[bytes] | None,
    *,
    latest: bool,
) -> None:
    """Check that ``seen`` and ``new`` are checkpoints of one append-only log.

    Args:
        seen: the newest checkpoint verified so far.
        new: the checkpoint just received (its signature already verified).
        proof: the consistency proof from the smaller tree to the larger one (``None`` when the
            sizes are equal, or when the server could not produce one).
        latest: ``new`` was served as the log's latest checkpoint, so it may not be smaller
            than ``seen`` (a receipt's checkpoint may be older than one seen since).

    Raises:
        RollbackError: ``latest`` and ``new`` is smaller than ``seen``.
        ForkError: equal sizes with different roots, or no valid consistency proof.
    """
    if new.size == seen.size:
        if new.root != seen.root:
            raise _fork("two different roots for the same tree size", seen, new)
        return
    if latest and new.size < seen.size:
        raise RollbackError(
            f"the server's latest checkpoint has {new.size} entries, but it signed one with "
            f"{seen.size} before: the log was rolled back.",
            seen_note=seen.note,
            new_note=new.note,
        )
    older, newer = (seen, new) if seen.size < new.size else (new, seen)
    if older.size == 0:
        return  # the empty tree is a prefix of every tree
    if proof is None:
        raise _fork("the server cannot prove that one extends the other", seen, new)
    try:
        merkle.verify_consistency(older.size, newer.size, proof, older.root, newer.root)
    except ProofError as exc:
        raise _fork(f"the consistency proof fails ({exc.message})", seen, new) from exc


def _fork(reason: str, seen: SeenCheckpoint, new: SeenCheckpoint) -> ForkError:
    return ForkError(
        f"the server forked the log: checkpoints of sizes {seen.size} and {new.size} are "
        f"inconsistent ({reason}).",
        seen_note=seen.note,
        new_note=new.note,
    )


def _same(what: str, expected: object, found: object) -> None:
    if expected != found:
        raise ProofError(
            f"{what} is {found!r}, not the expected {expected!r}.",
            expected=expected,
            computed=found,
        )
