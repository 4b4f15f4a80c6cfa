"""Submissions from several threads at once, as ``ledger serve``'s threaded workers make them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from api_helpers import bearer, payload
from factories import World
from flask import Flask

from api import proofs
from ledger import merkle


class _OneReader:
    """A Ledger stand-in whose proof reads are slow, counting how many run at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.reads: list[list[int]] = []

    def inclusion_proofs(self, seqs: list[int], size: int) -> list[list[bytes]]:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.reads.append(list(seqs))
        time.sleep(0.02)
        with self.lock:
            self.running -= 1
        return [[seq.to_bytes(32, "big")] for seq in seqs]


def test_proofs_wanted_at_once_are_read_by_one_reader() -> None:
    """However many callers wake at once, their proofs are read on one connection at a time,
    each read answering every caller waiting for it."""
    ledger = _OneReader()
    checkpoint = proofs.SignedCheckpoint("o", 100, bytes(32), "note")
    with ThreadPoolExecutor(16) as pool:
        found = list(
            pool.map(
                lambda seq: proofs.inclusion_in(ledger, seq, b"", checkpoint),  # type: ignore[arg-type]
                range(32),
            )
        )
    assert [proof.proof for proof in found] == [[seq.to_bytes(32, "big")] for seq in range(32)]
    assert ledger.most == 1
    assert sorted(seq for read in ledger.reads for seq in read) == list(range(32))
    assert len(ledger.reads) < 32


def test_concurrent_submissions_each_get_a_proof_that_verifies(app: Flask, seeded: World) -> None:
    """Two signers, five statements each, sent from two threads at once (group commit)."""
    chains = {
        "coop-a": [seeded.register_lot(f"a-{i}") for i in range(5)],
        "coop-b": [
            seeded.register_lot(f"b-{i}", by="coop-b", site="site-b", mineral="gold", mass_g=100)
            for i in range(5)
        ],
    }
    headers = {actor: bearer(app, actor) for actor in chains}

    def send(actor: str) -> list[Any]:
        client = app.test_client()
        found = []
        for submission in chains[actor]:
            response = client.post(
                "/v1/statements", json=payload(submission), headers=headers[actor]
            )
            assert response.status_code == 201, response.get_json()
            found.append(response.get_json())
        return found

    with ThreadPoolExecutor(2) as pool:
        receipts = [r for found in pool.map(send, chains) for r in found]
    assert len({r["seq"] for r in receipts}) == 10
    for receipt in receipts:
        inclusion, checkpoint = receipt["inclusion"], receipt["checkpoint"]
        assert inclusion["tree_size"] == checkpoint["size"]
        merkle.verify_inclusion(
            bytes.fromhex(receipt["leaf_hash"]),
            receipt["seq"],
            checkpoint["size"],
            [bytes.fromhex(h) for h in inclusion["proof"]],
            bytes.fromhex(checkpoint["root"]),
        )
