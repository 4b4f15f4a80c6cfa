"""The subjects a statement's entry becomes the head of, as the client derives them, agree with
what the rule engine actually sets; and the ``after`` subjects come from the rule engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from factories import World, populated, signer

from ledger.client.subjects import after_subjects, touched
from ledger.errors import ValidationError
from ledger.rules import HANDLERS
from ledger.statements import Statement, Submission


def scenario(world: World) -> Iterator[Submission]:
    """One statement of every type an actor signs (the genesis and registry came first)."""
    yield world.register_actor("coop-c", ["cooperative"])
    yield world.add_key("coop-c", signer("coop-c/2").public_key)
    yield world.revoke_key("coop-c", signer("coop-c/2").key_id)
    yield world.register_site("site-c", "coop-c")
    yield world.register_miner("miner-2", "coop-a", "site-a")
    for lot in ("lot-1", "lot-2", "lot-3"):
        yield world.register_lot(lot)
    yield world.split("lot-1", [("lot-1a", 50_000), ("lot-1b", 50_000)], by="coop-a")
    yield world.merge(["lot-2", "lot-3"], "lot-23", by="coop-a", mass_g=200_000, grade_ppm=500_000)
    yield world.dispatch("lot-23", by="coop-a", to="smelter-a")
    yield world.receive("lot-23", by="smelter-a")
    yield world.process(
        ["lot-23"],
        [{"lot": "ingot-1", "mineral": "tin", "mass_g": 90_000, "grade_ppm": 990_000}],
        by="smelter-a",
    )
    yield world.dispatch("lot-1a", by="coop-a", to="exporter-a")
    yield world.receive("lot-1a", by="exporter-a")
    yield world.export("lot-1a")
    yield world.attest("att-1")
    yield world.revoke_attestation("att-1")
    yield world.report_incident("inc-1", kind="site", subject="site-a")
    yield world.resolve_incident("inc-1")


def test_touched_subjects_are_exactly_those_the_rule_engine_moves() -> None:
    world, log = populated()
    moved: list[str] = []
    set_head = log.state.set_head

    def recording(subject: str, leaf_hash: bytes, seq: int) -> None:
        moved.append(subject)
        set_head(subject, leaf_hash, seq)

    log.state.set_head = recording  # type: ignore[method-assign]
    types = set()
    for submission in scenario(world):
        moved.clear()
        world.run(submission)
        statement = submission.envelope.statement
        types.add(statement.type)
        assert touched(statement) == tuple(sorted(set(moved))), statement.type
    assert types == set(HANDLERS)  # every type an actor signs


def test_after_subjects_come_from_the_rule_engine() -> None:
    world, _log = populated()
    dispatch = world.dispatch("lot-1", by="coop-a", to="trader-a").envelope.statement
    assert after_subjects(dispatch) == ("lot:lot-1",)
    merge = world.merge(["a", "b"], "c", by="coop-a", mass_g=1, grade_ppm=1).envelope.statement
    assert after_subjects(merge) == ("lot:a", "lot:b")
    assert after_subjects(world.register_lot("lot-9").envelope.statement) == ()


def _probe(statement_type: str, body: dict[str, Any]) -> Statement:
    return Statement("o", statement_type, "coop-a", "0" * 64, 1, "2026-01-15T08:00:00Z", body=body)


@pytest.mark.parametrize("statement_type", ["genesis", "lot.teleport"])
def test_only_types_an_actor_signs_are_accepted(statement_type: str) -> None:
    with pytest.raises(ValidationError, match="not a statement type an actor can sign"):
        after_subjects(_probe(statement_type, {}))


def test_a_malformed_body_is_refused_before_anything_else() -> None:
    with pytest.raises(ValidationError, match="body"):
        after_subjects(_probe("lot.dispatch", {"to": "trader-a"}))
