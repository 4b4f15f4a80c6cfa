"""The checkpoints of this process's own commits: signed once a round, verified once a process.

Every receipt carries a checkpoint that verifies against the genesis entry's verifier key; the
callers of one group-commit round share one signature, and only the first note of a process is
verified (which shows that its operator key is the genesis key), the later ones only read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from api_helpers import api_submitter, app_config, assert_error, bearer, payload
from factories import World, signer
from flask import Flask
from flask.testing import FlaskClient

from api import create_app, dispose, proofs, state
from ledger.checkpoint import verify_checkpoint
from ledger.crypto import Ed25519Signer
from ledger.custody.log import Ledger

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class _Counting:
    """The operator's signer, counting its signatures; slow when asked, so that threads
    signing the same note at once would be seen doing it."""

    def __init__(self, inner: Ed25519Signer) -> None:
        self.inner, self.count, self.lock, self.pause = inner, 0, threading.Lock(), 0.0

    @property
    def public_key(self) -> bytes:
        return self.inner.public_key

    @property
    def key_id(self) -> str:
        return self.inner.key_id

    def sign(self, message: bytes) -> bytes:
        with self.lock:
            self.count += 1
        time.sleep(self.pause)
        return self.inner.sign(message)


@pytest.fixture
def counted(db_url: str, seeded: World) -> Iterator[tuple[Flask, _Counting]]:
    operator = _Counting(signer("operator"))
    app = create_app(app_config(db_url, OPERATOR_SIGNER=operator))
    yield app, operator
    dispose(app)


def _client(app: Flask, world: World) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(app, "coop-a")["Authorization"]
    world.submit = api_submitter(client)
    return client


@SQLITE_ONLY
def test_the_callers_of_a_round_share_one_signature(
    counted: tuple[Flask, _Counting], seeded: World
) -> None:
    app, operator = counted
    with app.app_context():
        ledger = state.ledger()
        result = ledger.append(seeded.register_lot("lot-1"))  # a round nobody asked about yet
        assert result.seq is not None
        operator.count, operator.pause = 0, 0.02
        with ThreadPoolExecutor(8) as pool:
            found = list(pool.map(lambda _: proofs.covering(ledger, result.seq), range(16)))
    assert operator.count == 1
    assert len({id(checkpoint) for checkpoint in found}) == 1
    assert found[0].size == result.seq + 1


@SQLITE_ONLY
def test_the_other_callers_of_a_round_do_not_ask_the_ledger(
    counted: tuple[Flask, _Counting], seeded: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = counted
    asked: list[int] = []
    last_checkpoint = Ledger.last_checkpoint

    def counting(ledger: Ledger) -> Any:
        asked.append(1)
        return last_checkpoint.fget(ledger)  # type: ignore[attr-defined]

    monkeypatch.setattr(Ledger, "last_checkpoint", property(counting))
    with app.app_context():
        ledger = state.ledger()
        first = ledger.append(seeded.register_lot("lot-1"))
        assert first.seq is not None
        checkpoints = {proofs.covering(ledger, first.seq).size for _ in range(5)}
        assert checkpoints == {first.seq + 1}
        assert len(asked) == 1  # the first caller asked; the others took its answer
        second = ledger.append(seeded.register_lot("lot-2"))  # the next round
        assert second.seq is not None
        assert proofs.covering(ledger, second.seq).size == second.seq + 1
        assert proofs.covering(ledger, first.seq).size == second.seq + 1  # a newer one is as good
        assert len(asked) == 2


def test_only_the_first_note_of_a_process_is_verified(
    counted: tuple[Flask, _Counting], seeded: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _ = counted
    client = _client(app, seeded)
    verified: list[str] = []

    def verify(note: Any, key: Any, origin: str) -> Any:
        verified.append(note)
        return verify_checkpoint(note, key, origin)

    monkeypatch.setattr(proofs, "verify_checkpoint", verify)
    receipts = [
        client.post("/v1/statements", json=payload(seeded.register_lot(f"lot-{i}"))).get_json()
        for i in range(4)
    ]
    assert len(verified) == 1
    with app.app_context():
        key, origin = state.ledger().verifier_key(), state.ledger().origin()
    for receipt in receipts:  # every one still verifies, and says what its note says
        checkpoint = verify_checkpoint(receipt["checkpoint"]["note"], key, origin)
        assert checkpoint.size == receipt["checkpoint"]["size"] > receipt["seq"]
        assert checkpoint.root.hex() == receipt["checkpoint"]["root"]
        assert receipt["checkpoint"]["origin"] == origin
    assert len({r["checkpoint"]["size"] for r in receipts}) == 4


@SQLITE_ONLY
def test_an_operator_key_that_is_not_the_genesis_key_is_never_trusted(
    db_url: str, seeded: World
) -> None:
    """A server started with another operator key answers 500 for every write, as before:
    its notes do not verify, so none is handed out."""
    app = create_app(app_config(db_url, OPERATOR_SIGNER=signer("not-the-operator")))
    try:
        client = _client(app, seeded)
        for lot in ("lot-1", "lot-2"):
            response = client.post("/v1/statements", json=payload(seeded.register_lot(lot)))
            assert_error(response, 500, "internal")
    finally:
        dispose(app)
