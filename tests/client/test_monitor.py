"""Checkpoint monitoring: each new checkpoint is proven consistent with the newest one seen; a
server that forks its log or rolls it back is caught, with both signed notes as evidence.

The forked server is a second, real ledger (an SQLite file) with the same operator key, origin
and cast, whose history diverges from the first one's: what a compromised operator could serve
to some clients and not others.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from client_helpers import Faulty, Rewriting, lot_body
from conftest import MakeClient
from factories import ORIGIN, World, signer
from flask import Flask
from ledgers import DATA_KEY, make_ledger, submitter

from api import create_app, dispose
from ledger.checkpoint import VerifierKey, verify_checkpoint
from ledger.client.errors import ForkError, RollbackError
from ledger.db import make_engine
from ledger.migrate import upgrade
from ledger.registry import tokens
from ledger.sealing import Sealer


class Other:
    """A second ledger with the same operator key: a fork of the first."""

    def __init__(self, path: Path) -> None:
        self.url = f"sqlite:///{path}"
        self.engine = make_engine(self.url)
        upgrade(self.engine)
        self.world = World(submit=submitter(make_ledger(self.engine)))
        self.world.populate()
        self.app: Flask | None = None

    def grow(self, count: int) -> None:
        """Append ``count`` attestations (signed by auditor-a, whom no test client plays)."""
        for i in range(count):
            self.world.run(self.world.attest(f"fork-{i}"))

    def transport(self) -> httpx.BaseTransport:
        if self.app is None:
            self.app = create_app(
                {
                    "DATABASE_URL": self.url,
                    "TESTING": True,
                    "OPERATOR_SIGNER": signer("operator"),
                    "SEALER": Sealer(DATA_KEY),
                }
            )
        return httpx.WSGITransport(app=self.app)

    def close(self) -> None:
        if self.app is not None:
            dispose(self.app)
        self.engine.dispose()


@pytest.fixture
def other(tmp_path: Path) -> Iterator[Other]:
    fork = Other(tmp_path / "other.db")
    yield fork
    fork.close()


def _grow(world: World, count: int, prefix: str = "lot") -> None:
    for i in range(count):
        world.run(world.register_lot(f"{prefix}-{i}"))


def _assert_evidence(error: ForkError, operator_key: VerifierKey) -> tuple[int, int]:
    """Both notes verify under the operator key; returns their sizes (seen, new)."""
    seen = verify_checkpoint(error.seen_note, operator_key, ORIGIN)
    new = verify_checkpoint(error.new_note, operator_key, ORIGIN)
    assert error.seen_note in error.evidence()
    assert error.new_note in error.evidence()
    return seen.size, new.size


def test_an_honest_growing_log_is_followed(make_client: MakeClient, world: World) -> None:
    client = make_client("buyer-a")
    first = client.check()
    _grow(world, 3)
    second = client.check()
    assert second.size == first.size + 3
    newest = client.journal.newest_checkpoint()
    assert newest == second
    assert client.journal.checkpoint(first.size) == first
    assert client.check() == second  # the same checkpoint again is fine


def test_a_larger_forked_log_is_caught(
    make_client: MakeClient, other: Other, operator_key: VerifierKey
) -> None:
    honest = make_client("buyer-a")
    seen = honest.check()
    other.grow(3)
    forked = make_client("buyer-a", journal=honest.journal, transport=other.transport())
    with pytest.raises(ForkError, match="forked the log") as caught:
        forked.check()
    assert type(caught.value) is ForkError
    assert caught.value.code == "fork"
    assert caught.value.seen_note == seen.note
    assert _assert_evidence(caught.value, operator_key) == (seen.size, seen.size + 3)
    assert honest.journal.newest_checkpoint() == seen  # the forked one is not kept


def test_a_fork_of_the_same_size_is_caught(
    make_client: MakeClient, other: Other, operator_key: VerifierKey
) -> None:
    honest = make_client("buyer-a")
    seen = honest.check()
    forked = make_client("buyer-a", journal=honest.journal, transport=other.transport())
    with pytest.raises(ForkError, match="two different roots") as caught:
        forked.check()
    assert _assert_evidence(caught.value, operator_key) == (seen.size, seen.size)


def test_a_rolled_back_log_is_caught(
    make_client: MakeClient, world: World, other: Other, operator_key: VerifierKey
) -> None:
    honest = make_client("buyer-a")
    _grow(world, 3)
    seen = honest.check()
    rolled_back = make_client("buyer-a", journal=honest.journal, transport=other.transport())
    with pytest.raises(RollbackError, match="rolled back") as caught:
        rolled_back.check()
    assert caught.value.code == "rollback"
    assert _assert_evidence(caught.value, operator_key) == (seen.size, seen.size - 3)


def test_an_old_checkpoint_served_as_the_latest_is_a_rollback(
    make_client: MakeClient, world: World, network: Faulty
) -> None:
    honest = make_client("buyer-a")
    old = honest.check()
    _grow(world, 2)
    new = honest.check()

    def stale(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "size": old.size, "root": old.root.hex(), "note": old.note}

    replaying = make_client(
        "buyer-a", journal=honest.journal, transport=Rewriting(network, "/v1/checkpoint", stale)
    )
    with pytest.raises(RollbackError) as caught:
        replaying.check()
    assert (caught.value.seen_note, caught.value.new_note) == (new.note, old.note)


def test_a_server_that_cannot_prove_consistency_is_reported(
    make_client: MakeClient, world: World, network: Faulty
) -> None:
    honest = make_client("buyer-a")
    honest.check()
    _grow(world, 2)

    def refuse(body: dict[str, Any]) -> dict[str, Any]:
        return {"code": "not_found", "status": 404, "message": "no", "errors": {}}

    evasive = make_client(
        "buyer-a",
        journal=honest.journal,
        transport=Rewriting(network, "/v1/proofs/consistency", refuse, status=404),
    )
    with pytest.raises(ForkError, match="cannot prove"):
        evasive.check()


def test_a_fork_is_caught_during_sync_and_nothing_is_stored(
    make_client: MakeClient, other: Other, operator_key: VerifierKey
) -> None:
    coop = make_client("coop-a")
    coop.submit("lot.register", lot_body("lot-0"))
    seen = coop.journal.newest_checkpoint()
    assert seen is not None
    item = coop.sign("lot.register", lot_body("lot-1"), offline=True)
    other.grow(2)
    token, _info = tokens.issue(other.engine, "coop-a")
    forked = make_client("coop-a", journal=coop.journal, transport=other.transport(), token=token)
    with pytest.raises(ForkError) as caught:
        forked.sync()
    assert caught.value.seen_note == seen.note
    _assert_evidence(caught.value, operator_key)
    assert coop.journal.item(item.id).status == "pending"
    assert coop.journal.receipt(item.id) is None
    assert coop.sync().accepted == 1  # the honest server then takes it
