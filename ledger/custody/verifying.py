"""Signature checks ahead of sequencing, in worker processes.

A batch's signatures are cut into chunks and checked by a small pool of worker processes while
the sequencer, in the calling process, applies the rules to the statements already verified and
writes them. The sequencer asks for each statement's result in order and waits only if its chunk
is not done yet, so verification (the largest single cost of an append) overlaps everything else.

Why processes and not threads: ``cryptography`` does release the GIL inside OpenSSL, but a
verification thread must take the GIL back between signatures, and while the sequencer runs
Python it gets it only every ``sys.getswitchinterval()`` (5 ms): measured here, one thread then
verifies about 1,600 signatures a second instead of 16,000.

What is verified here is only a head start: a statement whose key is not registered yet (it is
registered earlier in the same batch), or whose signature fails, is checked again inside the
transaction, where the failure is reported. Nothing here decides acceptance. Small batches are
verified in the calling process, where a hand-off would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from itertools import pairwise

from ledger.crypto import Verifier
from ledger.errors import LedgerError
from ledger.statements import Envelope, signing_input

FIRST_CHUNK = 10  # statements in the first task; each next one twice the last ...
MAX_CHUNK = 200  # ... up to this many (see _cuts)
INLINE_BELOW = 100  # smaller batches are verified in the calling process

Job = tuple[int, bytes, Envelope]  # (index in the batch, public key, envelope)


class Vouch:
    """A ledger's word that it verified ``envelope``'s signature with ``public_key``.

    Made only by the :class:`~ledger.custody.log.Ledger` that verified it, which marks it with a
    seal object of its own and honours it only for that very envelope object: a vouch made
    anywhere else, or handed in beside another statement, is ignored and the signature is
    checked again.
    """

    __slots__ = ("envelope", "public_key", "seal")

    def __init__(self, envelope: Envelope, public_key: bytes, seal: object) -> None:
        self.envelope = envelope
        self.public_key = public_key
        self.seal = seal


_Wire = tuple[int, bytes, bytes, bytes]  # (index, public key, signature, signed message)


class Preverified:
    """The outcome of :meth:`Preverifier.start`: which statements verified, with which key."""

    def __init__(self, chunks: list[tuple[int, Future[list[int]]]], keys: dict[int, bytes]):
        self._chunks = chunks  # (batch index of the chunk's first job, future), in batch order
        self._keys = keys  # every job's public key, by batch index
        self._done: set[int] = set()

    def key(self, index: int) -> bytes | None:
        """The public key statement ``index`` verified with, or None (check it again)."""
        while self._chunks and self._chunks[0][0] <= index:
            self._done.update(_outcome(self._chunks.pop(0)[1]))
        return self._keys[index] if index in self._done else None

    def vouch(self, verified: dict[int, bytes]) -> None:
        """Statements the caller has verified already, with the keys they verified with."""
        self._keys.update(verified)
        self._done.update(verified)

    def wait(self) -> None:
        """Wait for every chunk (a caller that stops early must not leave work behind)."""
        for _, future in self._chunks:
            _outcome(future)


class Preverifier:
    """Starts signature checks; its worker processes are started on first use.

    Args:
        verifier: the :class:`Verifier` used for batches checked in the calling process.
        processes: worker processes (0: always verify in the calling process).
    """

    def __init__(self, verifier: Verifier, processes: int = 2) -> None:
        self._verifier = verifier
        self._processes = processes

    def start(self, jobs: Sequence[Job]) -> Preverified:
        """Begin verifying ``jobs`` (in batch order); small batches are done before returning."""
        keys = {index: public_key for index, public_key, _ in jobs}
        if len(jobs) < INLINE_BELOW or self._processes <= 0:
            done: Future[list[int]] = Future()
            done.set_result(_verify([_wire(job) for job in jobs], self._verifier))
            return Preverified([(jobs[0][0], done)] if jobs else [], keys)
        pool = _pool(self._processes)
        cuts = _cuts(len(jobs))
        chunks = [jobs[a:b] for a, b in pairwise(cuts) if a < b]
        return Preverified(
            [
                (chunk[0][0], pool.submit(_verify, [_wire(job) for job in chunk]))
                for chunk in chunks
            ],
            keys,
        )


def _cuts(count: int) -> list[int]:
    """Where the chunks of ``count`` jobs start (and the last ends): :data:`FIRST_CHUNK`, then
    each chunk twice the last, up to :data:`MAX_CHUNK`.

    A short first chunk lets sequencing start after a few signatures. Growing chunks keep the
    workers ahead of the sequencer with few hand-offs: each hand-off needs the pool's manager
    thread, which waits for the GIL while the sequencer runs Python (up to the 5 ms switch
    interval), so a stream of small chunks left the workers idle between them. Measured on 1000
    statements: fixed chunks of 50, 0.55-0.58 x the raw verification rate; doubling to 200,
    0.61-0.62 x; to 400, 0.58 x.
    """
    cuts, size = [0], FIRST_CHUNK
    while cuts[-1] + size < count:
        cuts.append(cuts[-1] + size)
        size = min(size * 2, MAX_CHUNK)
    cuts.append(count)
    return cuts


def _wire(job: Job) -> _Wire:
    index, public_key, envelope = job
    return index, public_key, envelope.sig, signing_input(envelope.statement_bytes)


def _outcome(future: Future[list[int]]) -> list[int]:
    """A chunk's verified indexes; a pool that broke (a worker killed) verifies nothing, so the
    sequencer checks those statements itself."""
    try:
        return future.result()
    except Exception:  # BrokenProcessPool and the like: fall back, never fail the append
        _reset_pool()
        return []


_VERIFIER = Verifier()  # in a worker process: its own key cache


def _verify(jobs: Sequence[_Wire], verifier: Verifier | None = None) -> list[int]:
    verifier = verifier or _VERIFIER
    verified = []
    for index, public_key, sig, message in jobs:
        try:
            verifier.verify(public_key, sig, message)
        except LedgerError:
            continue  # re-checked, and reported, inside the transaction
        verified.append(index)
    return verified


# One pool per process, shared by every Ledger in it, re-created after a fork (a pool's
# processes and threads belong to the process that started them).
_LOCK = threading.Lock()
_POOL: tuple[int, ProcessPoolExecutor] | None = None


def _pool(processes: int) -> ProcessPoolExecutor:
    global _POOL
    with _LOCK:
        if _POOL is None or _POOL[0] != os.getpid():
            context = multiprocessing.get_context("forkserver")
            _POOL = (os.getpid(), ProcessPoolExecutor(processes, mp_context=context))
        return _POOL[1]


def _reset_pool() -> None:
    global _POOL
    with _LOCK:
        if _POOL is not None and _POOL[0] == os.getpid():
            _POOL[1].shutdown(wait=False, cancel_futures=True)
        _POOL = None
