"""Inclusion proofs wanted at the same moment are read together, each caller getting its own."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask

from api import proofs, state
from ledger import merkle
from ledger.errors import NotFoundError


class _SlowLedger:
    """A Ledger stand-in whose proof reads wait until released, and are recorded."""

    def __init__(self, fail: set[int] | None = None) -> None:
        self.reads: list[list[int]] = []
        self.release = threading.Event()
        self.fail = fail or set()

    def inclusion_proofs(self, seqs: list[int], size: int) -> list[list[bytes]]:
        self.reads.append(list(seqs))
        self.release.wait(5)
        if self.fail & set(seqs):
            raise NotFoundError(f"no entry in {sorted(self.fail & set(seqs))}.", code="no_entry")
        return [[seq.to_bytes(32, "big"), size.to_bytes(32, "big")] for seq in seqs]


def _wait_for(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError("timed out")


def test_callers_waiting_behind_a_read_share_the_next_one() -> None:
    ledger = _SlowLedger()
    group = proofs.ProofGroup(ledger)  # type: ignore[arg-type]
    with ThreadPoolExecutor(8) as pool:
        first = pool.submit(group.path, 0, 10)
        _wait_for(lambda: ledger.reads == [[0]])  # the leader is reading its own proof
        rest = [pool.submit(group.path, seq, 10) for seq in range(1, 8)]
        _wait_for(lambda: len(group._queue) == 7)
        ledger.release.set()
        paths = [first.result(), *(f.result() for f in rest)]
    assert ledger.reads[0] == [0]
    assert sorted(ledger.reads[1]) == list(range(1, 8))  # one read for all who waited
    assert len(ledger.reads) == 2
    assert paths == [[seq.to_bytes(32, "big"), (10).to_bytes(32, "big")] for seq in range(8)]


def test_a_failing_proof_fails_only_its_own_caller() -> None:
    ledger = _SlowLedger(fail={3})
    group = proofs.ProofGroup(ledger)  # type: ignore[arg-type]
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(group.path, 0, 10)
        _wait_for(lambda: ledger.reads == [[0]])
        rest = {seq: pool.submit(group.path, seq, 10) for seq in (1, 2, 3, 4)}
        _wait_for(lambda: len(group._queue) == 4)
        ledger.release.set()
        assert first.result()[0] == (0).to_bytes(32, "big")
        with pytest.raises(NotFoundError, match=r"no entry in \[3\]"):
            rest[3].result()
        for seq in (1, 2, 4):
            assert rest[seq].result()[0] == seq.to_bytes(32, "big")


def test_proofs_of_different_sizes_are_read_per_size() -> None:
    ledger = _SlowLedger()
    ledger.release.set()
    group = proofs.ProofGroup(ledger)  # type: ignore[arg-type]
    assert group.path(2, 5)[1] == (5).to_bytes(32, "big")
    assert group.path(2, 7)[1] == (7).to_bytes(32, "big")


def test_grouped_proofs_equal_the_ledgers_own(app: Flask) -> None:
    with app.app_context():
        ledger = state.ledger()
        checkpoint = proofs.latest(ledger)
        seqs = list(range(checkpoint.size))
        with ThreadPoolExecutor(8) as pool:
            found = list(
                pool.map(lambda s: proofs.proof_group(ledger).path(s, checkpoint.size), seqs)
            )
        for seq, path in zip(seqs, found, strict=True):
            assert path == ledger.inclusion_proof(seq, checkpoint.size)[1]
            leaf = merkle.leaf_hash(ledger.entry_bytes(seq))
            merkle.verify_inclusion(leaf, seq, checkpoint.size, path, checkpoint.root)
        assert proofs.proof_group(ledger) is proofs.proof_group(ledger)
