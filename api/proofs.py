"""Checkpoints and Merkle proofs as the API hands them out.

A checkpoint leaves the server only after it verifies against the operator's verifier key (the
one in the genesis entry), and every inclusion proof in a response is computed for exactly the
size of the checkpoint it is sent with, so that a client can check it with
:func:`ledger.merkle.verify_inclusion` against the root of that checkpoint and nothing else.

The checkpoints of this process's own commits are signed once per commit and verified once per
process (:class:`OwnCheckpoints`); inclusion proofs asked for at about the same time in a
process are read together (:class:`ProofGroup`): the callers of one group commit wake together,
each wanting its checkpoint and its proof.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

from ledger import merkle
from ledger.checkpoint import note_checkpoint, verify_checkpoint
from ledger.custody.log import Ledger
from ledger.errors import IntegrityError, LedgerError


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

    After an append, the checkpoint of this process's newest commit; otherwise (a duplicate, or
    an entry appended by another worker) the latest one.
    """
    checkpoint = own_checkpoints(ledger).covering(seq) or latest(ledger)
    if checkpoint.size <= seq:
        raise IntegrityError(
            f"the latest checkpoint (size {checkpoint.size}) does not cover entry {seq}."
        )
    return checkpoint


# -- the checkpoints of this process's commits -----------------------------------------------


class OwnCheckpoints:
    """The checkpoint of the newest commit of this process's Ledger, for its receipts.

    Every caller of a group-commit round is answered with the checkpoint of that round, which
    :attr:`Ledger.last_checkpoint` signs when first asked for. Here only a caller whose entry the
    last checkpoint described does not include asks, one at a time, so that the callers of a
    round do not each sign it. And rather than verifying every note
    (parsing it and one Ed25519 verification apiece), the first is verified against the genesis
    entry's verifier key like any checkpoint the API hands out, which shows that this process's
    operator key is that key; each later note was signed by the same key over a commit of this
    process, so it is only parsed (:func:`ledger.checkpoint.note_checkpoint`), not verified.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self._last: SignedCheckpoint | None = None
        self._key_checked = False

    def covering(self, seq: int) -> SignedCheckpoint | None:
        """The checkpoint of this process's newest commit if it includes entry ``seq``.

        Once the first caller of a round has it, the others of that round take it as it is,
        without waiting for one another or asking the Ledger (any checkpoint that includes
        their entry is as good an answer, and this is the one of their own commit).
        """
        last = self._last
        if last is not None and last.size > seq:
            return last
        with self._lock:
            found = self._ledger.last_checkpoint  # signs it, the first time it is asked for
            if found is None or found[0] <= seq:
                return None
            size, note = found
            if self._last is None or self._last.note != note:
                self._last = self._describe(size, note)
            return self._last

    def _describe(self, size: int, note: str) -> SignedCheckpoint:
        if not self._key_checked:
            checkpoint = signed(self._ledger, note)  # raises ProofError for a key not genesis's
            self._key_checked = True
            return checkpoint
        try:
            read = note_checkpoint(note)  # parsed strictly, not verified: the same key signed it
        except LedgerError:
            return signed(self._ledger, note)
        if read.size != size or read.origin != self._ledger.origin():
            return signed(self._ledger, note)  # not what this Ledger signed: verify it
        return SignedCheckpoint(read.origin, read.size, read.root, note)


def inclusion_in(
    ledger: Ledger, seq: int, leaf_hash: bytes, checkpoint: SignedCheckpoint
) -> InclusionProof:
    """The inclusion proof of entry ``seq`` in the tree of ``checkpoint`` (read together with
    the proofs other threads of this process want at the same moment)."""
    path = proof_group(ledger).path(seq, checkpoint.size)
    return InclusionProof(seq, checkpoint.size, leaf_hash, checkpoint.root, path)


def inclusion(ledger: Ledger, seq: int, size: int | None) -> InclusionProof:
    """The inclusion proof of entry ``seq`` in the tree of ``size`` entries (default: current)."""
    tree_size, path = ledger.inclusion_proof(seq, size)
    leaf_hash = merkle.leaf_hash(ledger.entry_bytes(seq))
    return InclusionProof(seq, tree_size, leaf_hash, ledger.root_at(tree_size), path)


def consistency(ledger: Ledger, old: int, new: int) -> ConsistencyProof:
    """The consistency proof between the trees of ``old`` and ``new`` entries."""
    path = ledger.consistency_proof(old, new)
    return ConsistencyProof(old, new, ledger.root_at(old), ledger.root_at(new), path)


# -- reading proofs together ------------------------------------------------------------------
MAX_PROOF_ROUND = 200  # proofs per read of a ProofGroup


class _Wanted:
    """One caller's proof: what it asked for, then its answer, or its turn to read."""

    __slots__ = ("_latch", "done", "error", "lead", "path", "seq", "size")

    def __init__(self, seq: int, size: int) -> None:
        self.seq, self.size = seq, size
        self.path: list[bytes] | None = None
        self.error: BaseException | None = None
        self.done = self.lead = False
        self._latch = threading.Lock()  # held until the caller may go on: a one-shot latch
        self._latch.acquire()

    def wait(self) -> None:
        self._latch.acquire()

    def answer(self, path: list[bytes] | None = None, error: BaseException | None = None) -> None:
        self.path, self.error, self.done = path, error, True
        self._latch.release()

    def call(self) -> None:
        """Wake this caller to read the next round itself."""
        self.lead = True
        self._latch.release()

    def result(self) -> list[bytes]:
        if self.error is not None:
            raise self.error
        assert self.path is not None
        return self.path


class ProofGroup:
    """Inclusion proofs asked for at about the same time in one process, read together.

    Read one by one, each proof checks out a pooled connection and reads the head and its nodes
    (on PostgreSQL a ping and two queries: three round trips). Here, as in the Ledger's group
    commit, a caller that finds nobody reading becomes the leader: it reads every proof queued so
    far with one :meth:`Ledger.inclusion_proofs` per tree size, hands each caller its own, and
    steps down once its own is done, waking the first caller still waiting to lead the next
    read. Each caller waits on its own latch, so an answer wakes only the caller it is for. When
    a read of several proofs fails, each is read again alone, so that each caller gets its own
    answer or its own error.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self._queue: list[_Wanted] = []
        self._leading = False

    def path(self, seq: int, size: int) -> list[bytes]:
        """The audit path of entry ``seq`` in the tree of ``size`` entries."""
        wanted = _Wanted(seq, size)
        with self._lock:
            self._queue.append(wanted)
            lead, self._leading = not self._leading, True
        if not lead:
            wanted.wait()  # for its answer, or its turn to read
            if not wanted.lead:
                return wanted.result()
        try:
            while not wanted.done:
                with self._lock:
                    round_ = self._queue[:MAX_PROOF_ROUND]
                    del self._queue[:MAX_PROOF_ROUND]
                self._read(round_)
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].call()  # still leading: the next read is theirs
                else:
                    self._leading = False
        return wanted.result()

    def _read(self, round_: list[_Wanted]) -> None:
        by_size: dict[int, list[_Wanted]] = {}
        for wanted in round_:
            by_size.setdefault(wanted.size, []).append(wanted)
        try:
            for size, waiting in by_size.items():
                self._answer(size, waiting)
        except BaseException as exc:  # interrupted: nobody may be left waiting
            for wanted in round_:
                if not wanted.done:
                    wanted.answer(error=exc)
            raise

    def _answer(self, size: int, waiting: list[_Wanted]) -> None:
        try:
            paths = self._ledger.inclusion_proofs([wanted.seq for wanted in waiting], size)
        except Exception as exc:
            if len(waiting) == 1:
                waiting[0].answer(error=exc)
                return
            for one in waiting:
                self._answer(size, [one])
            return
        for wanted, path in zip(waiting, paths, strict=True):
            wanted.answer(path)


_groups: weakref.WeakKeyDictionary[Ledger, ProofGroup] = weakref.WeakKeyDictionary()
_own: weakref.WeakKeyDictionary[Ledger, OwnCheckpoints] = weakref.WeakKeyDictionary()
_made = threading.Lock()


def proof_group(ledger: Ledger) -> ProofGroup:
    """The :class:`ProofGroup` of ``ledger``: one per Ledger, made on first use."""
    with _made:
        return _groups.get(ledger) or _groups.setdefault(ledger, ProofGroup(ledger))


def own_checkpoints(ledger: Ledger) -> OwnCheckpoints:
    """The :class:`OwnCheckpoints` of ``ledger``: one per Ledger, made on first use."""
    with _made:
        return _own.get(ledger) or _own.setdefault(ledger, OwnCheckpoints(ledger))
