"""Proof bundles built from the database verify offline, for every lot of the demo, on both
engines; what a bundle holds; ``--since`` against a kept checkpoint and against a forked log."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_ledger import load_demo
from sqlalchemy import Engine, select

from ledger import entries
from ledger.bundle import parse, verify
from ledger.custody.bundles import build_bundle, bundle_bytes
from ledger.custody.log import Ledger
from ledger.custody.models import LotRow
from ledger.db import make_engine
from ledger.demo import REVOKED_ATTESTATION, ROTATED_ACTOR, SHOWCASE_LOT, DemoSummary
from ledger.errors import NotFoundError, ValidationError
from ledger.migrate import upgrade

CHECKS = ["format", "checkpoint", "inclusion", "genesis", "signatures", "custody", "head"]


def _lots(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(LotRow.id).order_by(LotRow.id)).scalars())


def test_every_demo_lot_verifies(demo: tuple[Ledger, DemoSummary], engine: Engine) -> None:
    ledger, summary = demo
    lots = _lots(engine)
    assert len(lots) == summary.lots
    for lot in lots:
        verdict = verify(bundle_bytes(ledger, lot), ledger.verifier_key())
        assert verdict.ok, (lot, verdict.reasons)
        assert [c.name for c in verdict.checks] == CHECKS
        assert verdict.reasons == []


def test_the_showcase_bundle_holds_its_whole_provenance(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    bundle = build_bundle(ledger, SHOWCASE_LOT)
    statements = [entries.decode(e.data).statement for e in bundle.entries]
    types = {s.type for s in statements}
    assert {"genesis", "actor.register", "site.register", "lot.register", "lot.merge",
            "lot.process", "lot.dispatch", "lot.receive", "lot.export",
            "attestation", "actor.key.add", "actor.key.revoke"} <= types  # fmt: skip
    sites = {s.body["id"] for s in statements if s.type == "site.register"}
    assert sites == {"site-nyarusange", "site-gatare"}
    registered = {s.body["lot"] for s in statements if s.type == "lot.register"}
    assert registered == {f"NYR-SN-{i:03d}" for i in range(1, 7)} | {
        f"GTR-SN-{i:03d}" for i in range(1, 5)
    }
    assessed = {s.body["subject"]["id"] for s in statements if s.type == "attestation"}
    assert {"site-nyarusange", "site-gatare", "coop-kotwa", SHOWCASE_LOT} <= assessed
    assert ROTATED_ACTOR in {s.actor for s in statements}
    # nothing from the Congolese chains that never reached this lot
    assert not any(s.body.get("lot", "").startswith("KAN-") for s in statements)


def test_a_bundle_with_a_revoked_attestation_carries_the_revocation(
    demo: tuple[Ledger, DemoSummary],
) -> None:
    ledger, _ = demo
    verdict = verify(bundle_bytes(ledger, "KAN-SN-001"), ledger.verifier_key())
    assert verdict.ok, verdict.reasons
    revokes = [e.statement for e in verdict.entries if e.statement.type == "attestation.revoke"]
    assert [s.body["attestation"] for s in revokes] == [REVOKED_ATTESTATION]
    assert verdict.replay is not None
    flags = verdict.replay.flags
    assert [f.code for f in flags] == ["mass_discrepancy"]
    assert flags[0].subject == "lot:KAN-SN-004"


def test_unknown_and_malformed_lots_are_refused(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    with pytest.raises(NotFoundError, match="not registered"):
        build_bundle(ledger, "NO-SUCH-LOT")
    with pytest.raises(ValidationError, match="lot id"):
        build_bundle(ledger, "bad lot\n")


def test_since_proves_the_log_extends_a_kept_checkpoint(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    kept = ledger.sign_checkpoint(40, ledger.root_at(40))
    key = ledger.verifier_key()
    verdict = verify(bundle_bytes(ledger, SHOWCASE_LOT, since=40), key, since=kept)
    assert verdict.ok, verdict.reasons
    assert [c.name for c in verdict.checks][2] == "consistency"
    without = verify(bundle_bytes(ledger, SHOWCASE_LOT), key, since=kept)
    assert not without.ok
    assert any("?since=40" in reason for reason in without.reasons)
    wrong_size = verify(bundle_bytes(ledger, SHOWCASE_LOT, since=41), key, since=kept)
    assert not wrong_size.ok


def test_a_bundle_from_a_forked_log_fails_since(
    demo: tuple[Ledger, DemoSummary], tmp_path: Path
) -> None:
    ledger, _ = demo
    kept = ledger.sign_checkpoint(100, ledger.root_at(100))
    fork_engine = make_engine(f"sqlite:///{tmp_path / 'fork.db'}")
    upgrade(fork_engine)
    try:
        fork, _ = load_demo(fork_engine)  # same keys and statements, logged at other times
        assert fork.root_at(100) != ledger.root_at(100)
        forked = bundle_bytes(fork, SHOWCASE_LOT, since=100)
        alone = verify(forked, fork.verifier_key())
        assert alone.ok, alone.reasons  # on its own the fork looks fine
        verdict = verify(forked, fork.verifier_key(), since=kept)
    finally:
        fork_engine.dispose()
    assert not verdict.ok
    assert any(r.startswith("consistency:") and "forked" in r for r in verdict.reasons)


def test_the_bundle_bytes_parse_back(demo: tuple[Ledger, DemoSummary]) -> None:
    ledger, _ = demo
    bundle = build_bundle(ledger, SHOWCASE_LOT)
    assert parse(bundle_bytes(ledger, SHOWCASE_LOT)) == bundle
