"""Submissions from several threads at once, as ``ledger serve``'s threaded workers make them."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from api_helpers import bearer, payload
from factories import World
from flask import Flask

from api import proofs, submissions
from ledger import merkle


def test_proofs_are_computed_a_few_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """However many callers wake at once, at most PROOF_SLOTS proofs (connections) at a time."""
    running, most = [0], [0]
    lock = threading.Lock()

    def slow_proof(*_args: Any) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return "proof"

    monkeypatch.setattr(proofs, "inclusion_in", slow_proof)
    with ThreadPoolExecutor(16) as pool:
        done = list(pool.map(lambda _: submissions._inclusion(None, 0, b"", None), range(32)))  # type: ignore[arg-type]
    assert done == ["proof"] * 32
    assert most[0] == submissions.PROOF_SLOTS


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
