"""Automatic red flags: each raised by a scenario built for it, none in a clean chain."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from factories import POLICY, MemoryLog, World, signer

from ledger.bodies import check_body
from ledger.errors import LedgerError, ValidationError
from ledger.state import DEFAULT_POLICY, Changes, MemoryState, OverlayState, Policy


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


def test_a_lot_never_received_is_flagged_once_when_the_log_passes_the_limit() -> None:
    world, log = _world(max_transit_days=10)
    world.run(world.register_lot("lot-1"))
    world.run(world.register_lot("lot-2"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))  # 2026-01-15, never received
    world.run(world.dispatch("lot-2", by="coop-a", to="trader-a"))
    world.run(world.receive("lot-2", by="trader-a"))  # received the same day: never overdue
    register = world.register_lot("lot-3").envelope.statement.body
    world.run(world.sign("coop-a", "lot.register", register, time="2026-01-25T09:00:00Z"))
    assert _codes(log) == []  # ten days is the limit, not beyond it
    register = world.register_lot("lot-4").envelope.statement.body
    world.run(world.sign("coop-a", "lot.register", register, time="2026-01-26T09:00:00Z"))
    assert _codes(log) == [("transit_overdue", "lot:lot-1")]
    flag = log.flags()[0]
    assert flag.seq == log.size - 1 and flag.severity == "warning"
    assert "lot lot-1 was dispatched on 2026-01-15 and had not been received by 2026-01-26 " \
        f"(entry {flag.seq}): more than the 10 days in transit" in flag.message  # fmt: skip
    register = world.register_lot("lot-5").envelope.statement.body
    world.run(world.sign("coop-a", "lot.register", register, time="2026-02-20T09:00:00Z"))
    assert _codes(log) == [("transit_overdue", "lot:lot-1")]  # once, not at every entry
    receive = world.receive("lot-1", by="trader-a").envelope.statement.body
    world.run(world.sign("trader-a", "lot.receive", receive, time="2026-02-21T09:00:00Z"))
    assert _codes(log)[1] == ("transit_too_long", "lot:lot-1")  # its receipt says how long


def test_overdue_lots_are_flagged_in_dispatch_order_and_a_new_dispatch_is_watched() -> None:
    world, log = _world(max_transit_days=10)
    for lot in ("lot-b", "lot-a", "lot-c"):
        world.run(world.register_lot(lot))
    for lot, day in (("lot-b", "2026-01-16"), ("lot-a", "2026-01-16"), ("lot-c", "2026-01-20")):
        body = world.dispatch(lot, by="coop-a", to="trader-a").envelope.statement.body
        world.run(world.sign("coop-a", "lot.dispatch", body, time=f"{day}T09:00:00Z"))
    register = world.register_lot("lot-x").envelope.statement.body
    world.run(world.sign("coop-a", "lot.register", register, time="2026-01-27T09:00:00Z"))
    assert _codes(log) == [("transit_overdue", "lot:lot-a"), ("transit_overdue", "lot:lot-b")]
    register = world.register_lot("lot-y").envelope.statement.body
    world.run(world.sign("coop-a", "lot.register", register, time="2026-01-31T09:00:00Z"))
    assert _codes(log)[2:] == [("transit_overdue", "lot:lot-c")]


def test_a_rejected_statement_does_not_hide_an_overdue_lot() -> None:
    world, log = _world(max_transit_days=10)
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    late = world.register_lot("lot-2").envelope.statement.body
    with pytest.raises(LedgerError):  # a trader may not register lots: dropped whole
        world.run(world.sign("trader-a", "lot.register", late, time="2026-02-01T09:00:00Z"))
    assert _codes(log) == []
    world.run(world.sign("coop-a", "lot.register", late, time="2026-02-01T09:00:00Z"))
    assert _codes(log) == [("transit_overdue", "lot:lot-1")]


def test_a_key_revoked_before_statements_it_signed_flags_the_actor() -> None:
    world, log = _world()
    world.run(world.register_lot("lot-1"))  # coop-a's key signs at 2026-01-15T08:00:0xZ
    signed_at = log.entries[-1].seq
    key = signer("coop-a").key_id
    body = {"actor": "coop-a", "key": key, "effective": "2026-01-15T00:00:00Z",
            "reason": "the phone was stolen on the 14th"}  # fmt: skip
    world.run(world.sign("registrar", "actor.key.revoke", body))
    assert _codes(log) == [("key_revoked_backdated", "actor:coop-a")]
    flag = log.flags()[0]
    assert flag.severity == "critical" and flag.seq == log.size - 1
    assert f"revoked at entry {flag.seq} with effect from 2026-01-15T00:00:00Z, but it had " \
        f"signed statements dated after that, the latest at entry {signed_at}" \
        in flag.message  # fmt: skip


def test_a_key_revoked_after_its_last_statement_raises_no_flag() -> None:
    world, log = _world()
    world.run(world.register_lot("lot-1"))
    world.run(world.revoke_key("coop-a", signer("coop-a").key_id, by="registrar"))
    assert _codes(log) == []
    # revoking one's own key with a time before the revocation itself: only what the key
    # signed earlier counts, and that was before the effective time
    world.run(world.add_key("trader-a", signer("trader-a/2").public_key))
    world.run(world.revoke_key("trader-a", signer("trader-a").key_id))
    assert _codes(log) == []


def test_the_latest_dated_statement_is_what_a_revocation_is_judged_by() -> None:
    world, log = _world()
    register = world.register_lot("lot-1").envelope.statement.body
    world.run(world.sign("coop-a", "lot.register", register, time="2026-01-20T09:00:00Z"))
    world.run(world.register_lot("lot-2"))  # signed later, dated earlier (2026-01-15)
    key = log.state.key(signer("coop-a").key_id)
    assert key is not None and key.last_time == "2026-01-20T09:00:00Z"
    body = {"actor": "coop-a", "key": key.key_id, "effective": "2026-01-18T00:00:00Z",
            "reason": "lost"}  # fmt: skip
    world.run(world.sign("registrar", "actor.key.revoke", body))
    assert _codes(log) == [("key_revoked_backdated", "actor:coop-a")]


def test_the_overlay_forgets_a_dropped_statements_view_of_the_transits() -> None:
    # A statement can be dropped after its rules ran (its disclosures fail to seal, say): the
    # lots it found overdue must be found again by the next statement.
    state = MemoryState()
    state.set_dispatched("lot-1", "2026-01-15T08:00:00Z")
    state.keep()
    assert state.overdue_transits("2026-01-16") == [("lot-1", "2026-01-15T08:00:00Z")]
    state.end_transit("lot-1")
    assert state.overdue_transits("2026-01-17") == []
    state.drop()
    assert state.overdue_transits("2026-01-17") == [("lot-1", "2026-01-15T08:00:00Z")]
    state.end_transit("lot-1")
    state.keep()
    state.flush()  # into the backing store: still ended
    assert state.overdue_transits("2026-02-01") == []
    state.set_dispatched("lot-1", "2026-01-20T08:00:00Z")  # dispatched again: watched again
    assert state.overdue_transits("2026-01-20") == []
    assert state.overdue_transits("2026-01-21") == [("lot-1", "2026-01-20T08:00:00Z")]


def test_a_fraction_of_a_second_later_is_later() -> None:
    # "09:00:00.5Z" sorts before "09:00:00Z" as text; the key must still remember it as latest
    world, log = _world()
    for lot, time in (("lot-1", "2026-01-20T09:00:00Z"), ("lot-2", "2026-01-20T09:00:00.5Z")):
        body = world.register_lot(lot).envelope.statement.body
        world.run(world.sign("coop-a", "lot.register", body, time=time))
    key = log.state.key(signer("coop-a").key_id)
    assert key is not None and key.last_time == "2026-01-20T09:00:00.5Z"
    assert key.last_seq == log.size - 1


class _CountingBacking:
    """An in-memory store that counts how often the pending transits are read."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], object] = {}
        self.reads = 0

    def load(self, kind: str, key: str) -> object:
        return self.rows.get((kind, key))

    def load_many(self, wanted: dict[str, list[str]]) -> dict[str, dict[str, object]]:
        return {}

    def flush(self, changes: Changes) -> None:
        for kind, table in changes.rows.items():
            for key, (value, _new) in table.items():
                self.rows[(kind, key)] = value

    def pending_transits(self, low: str, high: str | None, limit: int | None) -> list:  # type: ignore[type-arg]
        self.reads += 1
        found = sorted(
            (value[0], key)  # type: ignore[index]
            for (kind, key), value in self.rows.items()
            if kind == "transit" and value[1] and value[0] >= low  # type: ignore[index]
            and (high is None or value[0] < high)  # type: ignore[index]
        )  # fmt: skip
        return [(lot, time) for time, lot in found[:limit]]


def test_the_transit_bound_travels_with_the_warm_rows() -> None:
    backing = _CountingBacking()
    first = OverlayState(backing)
    first.set_dispatched("lot-1", "2026-01-15T08:00:00Z")
    assert first.overdue_transits("2026-01-10") == []
    first.flush()
    reads = backing.reads
    second = OverlayState(backing, first.cache)  # the next transaction, the log unmoved
    assert second.overdue_transits("2026-01-12") == []
    assert backing.reads == reads  # answered by the bound, without reading the store
    assert second.overdue_transits("2026-01-16") == [("lot-1", "2026-01-15T08:00:00Z")]
    cold = OverlayState(backing)  # another process appended: no rows carried, the store read
    assert cold.overdue_transits("2026-01-16") == [("lot-1", "2026-01-15T08:00:00Z")]
