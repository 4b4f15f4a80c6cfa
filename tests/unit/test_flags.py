"""Automatic red flags: each raised by a scenario built for it, none in a clean chain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories import POLICY, MemoryLog, World

from ledger.bodies import check_body
from ledger.errors import ValidationError
from ledger.state import DEFAULT_POLICY, Policy


def _codes(log: MemoryLog) -> list[tuple[str, str]]:
    return [(f.code, f.subject) for f in log.flags()]


def _world(**policy: object) -> tuple[World, MemoryLog]:
    log = MemoryLog(logged=datetime(2027, 1, 1, tzinfo=UTC))
    world = World(submit=log.submit, policy={**POLICY, **policy})
    world.populate()
    return world, log


def test_over_capacity_within_the_tolerance() -> None:
    world, log = _world(capacity_tolerance_ppm=100_000)  # 10 %
    world.run(world.register_lot("lot-1", mass_g=10_000_000))  # exactly the capacity
    assert _codes(log) == []
    world.run(world.register_lot("lot-2", mass_g=500_000))
    assert _codes(log) == [("site_over_capacity", "lot:lot-2")]
    assert "registered 10500000 g for 2026-01 with lot lot-2, above its capacity of " \
        "10000000 g" in log.flags()[0].message  # fmt: skip


def test_transit_too_long() -> None:
    world, log = _world(max_transit_days=10)
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    world.run(world.receive("lot-1", by="trader-a"))  # the same day
    world.run(world.dispatch("lot-1", by="trader-a", to="exporter-a"))
    late = world.receive("lot-1", by="exporter-a")
    statement = late.envelope.statement
    assert statement.time.startswith("2026-01-15")
    world.run(world.sign("exporter-a", "lot.receive", statement.body,
                         time="2026-01-26T09:00:00Z"))  # fmt: skip
    assert _codes(log) == [("transit_too_long", "lot:lot-1")]
    assert "in transit for 11 days (dispatched 2026-01-15, received 2026-01-26); the policy " \
        "allows 10" in log.flags()[0].message  # fmt: skip


def test_transit_of_exactly_the_limit_is_not_flagged() -> None:
    world, log = _world(max_transit_days=11)
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    body = {"lot": "lot-1", "mass_g": 100_000}
    world.run(world.sign("trader-a", "lot.receive", body, time="2026-01-26T09:00:00Z"))
    assert _codes(log) == []


def test_attestation_revoked_on_a_lot_flags_it_at_once(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.attest("assay-1", kind="lot", subject="lot-1", claim="assay"))
    world.run(world.revoke_attestation("assay-1"))
    assert _codes(mlog) == [("attestation_revoked", "lot:lot-1")]
    assert "assay assay-1 about lot lot-1, revoked at entry" in mlog.flags()[0].message


def test_export_flags_revoked_and_expired_attestations_it_relies_on() -> None:
    world, log = _world()
    world.run(world.attest("clf-1", claim="child_labour_free"))  # site-a, until 2026-12-31
    world.run(world.attest("hg-1", claim="mercury_free", valid_until="2026-01-31"))
    world.run(world.register_lot("lot-1"))
    world.transfer("lot-1", by="coop-a", to="exporter-a")
    world.run(world.revoke_attestation("clf-1"))
    export = world.export("lot-1")
    body = export.envelope.statement.body
    world.run(world.sign("exporter-a", "lot.export", body, time="2026-02-02T09:00:00Z"))
    assert _codes(log) == [
        ("attestation_revoked", "lot:lot-1"),
        ("attestation_expired", "lot:lot-1"),
    ]
    assert "mercury_free hg-1 about site site-a, valid until 2026-01-31" in log.flags()[1].message


def test_a_newer_attestation_of_the_claim_replaces_the_revoked_one(
    world: World, mlog: MemoryLog
) -> None:
    world.run(world.attest("clf-1"))
    world.run(world.revoke_attestation("clf-1"))
    world.run(world.attest("clf-2"))
    assert mlog.state.subject_attestations("site:site-a") == ("clf-2",)
    world.run(world.register_lot("lot-1"))
    world.transfer("lot-1", by="coop-a", to="exporter-a")
    world.run(world.export("lot-1"))
    assert _codes(mlog) == []


def test_a_clean_chain_raises_no_flag(world: World, mlog: MemoryLog) -> None:
    world.run(world.inspect("insp-1", "green"))
    world.run(world.attest("clf-1"))
    world.run(world.register_lot("lot-1"))
    world.run(world.attest("assay-1", kind="lot", subject="lot-1", claim="assay"))
    world.transfer("lot-1", by="coop-a", to="trader-a")
    world.run(world.split("lot-1", [("lot-1a", 50_000), ("lot-1b", 50_000)], by="trader-a"))
    world.transfer("lot-1a", by="trader-a", to="exporter-a")
    world.run(world.export("lot-1a"))
    assert _codes(mlog) == []


def test_max_transit_days_in_the_policy() -> None:
    assert "max_transit_days" not in DEFAULT_POLICY.to_json()
    assert DEFAULT_POLICY.max_transit_days == 30
    policy = Policy.from_json({**POLICY, "max_transit_days": 5})
    assert policy.to_json()["max_transit_days"] == 5
    genesis = World().genesis().envelope.statement.body
    for bad in (0, 3651, "5"):
        body = {**genesis, "policy": {**genesis["policy"], "max_transit_days": bad}}
        with pytest.raises(ValidationError, match="max_transit_days must be an integer"):
            check_body("genesis", body)
