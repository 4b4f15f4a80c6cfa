"""Incidents and taint: through a split, a merge and a processing step; export blocked, then
cleared on resolution; lots derived before and after the incident opened."""

from __future__ import annotations

from typing import Any

import pytest
from factories import MemoryLog, Reject, World

from ledger.bodies import check_body
from ledger.custody.incidents import descendants
from ledger.custody.types import Incident
from ledger.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PolicyError,
    ValidationError,
)


def _tainted(log: MemoryLog) -> list[str]:
    return [f.subject for f in log.flags() if f.code == "tainted"]


def _to_exporter(world: World, lot: str, by: str) -> None:
    world.transfer(lot, by=by, to="exporter-a")


def _chain(world: World) -> None:
    """lot-1 (site-a) split by trader-a into lot-1a and lot-1b; lot-1a merged with lot-2 into
    lot-m; lot-m processed by smelter-a into sn-1."""
    world.split_and_merge()
    world.transfer("lot-m", by="trader-a", to="smelter-a")
    outputs = [
        {"lot": "sn-1", "mineral": "tin", "mass_g": 70_000, "grade_ppm": 990_000, "form": "metal"}
    ]
    world.run(world.process(["lot-m"], outputs, by="smelter-a"))


# -- incident ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("by", "kind", "subject"),
    [("trader-a", "lot", "lot-1"), ("coop-b", "site", "site-a"), ("buyer-a", "actor", "coop-a")],
)
def test_any_registered_actor_reports(
    world: World, mlog: MemoryLog, by: str, kind: str, subject: str
) -> None:
    world.run(world.register_lot("lot-1"))
    private = {"details": "armed men collect a fee at the shaft", "witnesses": ["W. One"]}
    leaf = world.run(
        world.report_incident(
            "inc-1",
            by=by,
            kind=kind,
            subject=subject,
            category="non_state_armed_groups",
            private=private,
        )
    )
    seq = mlog.size - 1
    assert mlog.state.incident("inc-1") == Incident(
        "inc-1", "non_state_armed_groups", "high", kind, subject, by, "2026-01-14", seq
    )
    assert mlog.state.open_incidents(f"{kind}:{subject}") == ("inc-1",)
    assert mlog.state.head("incident:inc-1") == leaf
    assert len(mlog.entries[-1].envelope.statement.sd) == 2  # details stay private


def test_incident_checks(world: World, reject: Reject) -> None:
    world.run(world.report_incident("inc-1", kind="site", subject="site-a"))
    reject(
        world.report_incident("inc-1", kind="site", subject="site-a"),
        ConflictError,
        code="duplicate_id",
        match="incident inc-1 already exists",
    )
    reject(
        world.report_incident("inc-2"),
        NotFoundError,
        code="unknown_subject",
        match="lot lot-1 is not registered",
    )
    error = reject(
        world.report_incident("inc-2", kind="site", subject="site-a", observed="2026-02-01"),
        ValidationError,
        code="observed_in_future",
        match="after the statement's date",
    )
    assert error.details["field"] == "body.observed"
    reject(
        world.report_incident("inc-2", kind="site", subject="site-a", private={"price": 1}),
        ValidationError,
        code="invalid",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("category", "tax_evasion_maybe", "must be one of bribery_fraudulent_origin"),
        ("severity", "extreme", "must be one of critical, high, low, medium"),
        ("subject", {"kind": "miner", "id": "m-1"}, "must be one of actor, lot, site"),
        ("observed", "2026-13-01", "is not a real date"),
        ("summary", "", "text of 1 to 200"),
    ],
)
def test_incident_body(field: str, value: Any, message: str) -> None:
    body = {
        "id": "inc-1",
        "category": "money_laundering",
        "severity": "low",
        "subject": {"kind": "lot", "id": "lot-1"},
        "observed": "2026-01-01",
        field: value,
    }
    with pytest.raises(ValidationError, match=message):
        check_body("incident", body)


# -- incident.resolve --------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["auditor-a", "registrar"])
def test_resolve(world: World, mlog: MemoryLog, by: str) -> None:
    world.run(world.report_incident("inc-1", kind="site", subject="site-a"))
    world.run(world.resolve_incident("inc-1", by=by))
    incident = mlog.state.incident("inc-1")
    assert incident is not None
    assert (incident.resolved_seq, incident.resolved_by) == (mlog.size - 1, by)
    assert mlog.state.open_incidents("site:site-a") == ()


@pytest.mark.parametrize("by", ["inspector-a", "trader-a", "coop-a"])
def test_only_auditors_and_registrars_resolve(world: World, reject: Reject, by: str) -> None:
    world.run(world.report_incident("inc-1", kind="site", subject="site-a"))
    reject(
        world.resolve_incident("inc-1", by=by),
        ForbiddenError,
        code="wrong_role",
        match="may not resolve incidents",
    )


def test_resolve_twice_or_unknown(world: World, reject: Reject) -> None:
    world.run(world.report_incident("inc-1", kind="site", subject="site-a"))
    world.run(world.resolve_incident("inc-1"))
    reject(
        world.resolve_incident("inc-1"),
        ConflictError,
        code="already_resolved",
        match="already resolved",
    )
    reject(world.resolve_incident("inc-z"), NotFoundError, code="unknown_subject")


# -- taint ---------------------------------------------------------------------------------------


def test_taint_flows_through_split_merge_and_process(
    world: World, mlog: MemoryLog, reject: Reject
) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.report_incident("inc-1", subject="lot-1"))
    assert _tainted(mlog) == ["lot:lot-1"]
    _chain_after_register(world)
    for lot in ("lot-1", "lot-1a", "lot-1b", "lot-m", "sn-1"):
        assert mlog.state.lot_taint(lot) == ("inc-1",), lot
    assert mlog.state.lot_taint("lot-2") == ()
    assert _tainted(mlog) == ["lot:lot-1", "lot:lot-1a", "lot:lot-1b", "lot:lot-m", "lot:sn-1"]
    _to_exporter(world, "sn-1", "smelter-a")
    reject(
        world.export("sn-1"),
        PolicyError,
        code="lot_tainted",
        match="lot sn-1 is tainted by open incident inc-1 upstream",
    )
    world.run(world.resolve_incident("inc-1"))
    for lot in ("lot-1", "lot-1a", "lot-1b", "lot-m", "sn-1"):
        assert mlog.state.lot_taint(lot) == (), lot
    world.run(world.export("sn-1"))


def _chain_after_register(world: World) -> None:
    world.run(world.register_lot("lot-2"))
    world.transfer("lot-1", by="coop-a", to="trader-a")
    world.transfer("lot-2", by="coop-a", to="trader-a")
    world.run(world.split("lot-1", [("lot-1a", 60_000), ("lot-1b", 40_000)], by="trader-a"))
    world.run(
        world.merge(["lot-1a", "lot-2"], "lot-m", by="trader-a", mass_g=160_000, grade_ppm=500_000)
    )
    world.transfer("lot-m", by="trader-a", to="smelter-a")
    outputs = [
        {"lot": "sn-1", "mineral": "tin", "mass_g": 70_000, "grade_ppm": 990_000, "form": "metal"}
    ]
    world.run(world.process(["lot-m"], outputs, by="smelter-a"))


def test_lots_derived_before_the_incident_are_tainted(
    world: World, mlog: MemoryLog, reject: Reject
) -> None:
    _chain(world)
    assert descendants(mlog.state, "lot-1") == ["lot-1", "lot-1a", "lot-1b", "lot-m", "sn-1"]
    world.run(world.report_incident("inc-1", by="smelter-a", subject="lot-1a"))
    assert _tainted(mlog) == ["lot:lot-1a", "lot:lot-m", "lot:sn-1"]
    assert mlog.state.lot_taint("lot-1b") == ()
    _to_exporter(world, "sn-1", "smelter-a")
    reject(world.export("sn-1"), PolicyError, code="lot_tainted", match="inc-1")
    world.run(world.resolve_incident("inc-1"))
    world.run(world.export("sn-1"))


def test_two_incidents_must_both_be_resolved(world: World, mlog: MemoryLog) -> None:
    _chain(world)
    world.run(world.report_incident("inc-1", by="smelter-a", subject="lot-1"))
    world.run(world.report_incident("inc-2", by="smelter-a", subject="lot-m"))
    assert mlog.state.lot_taint("sn-1") == ("inc-1", "inc-2")
    world.run(world.resolve_incident("inc-1"))
    assert mlog.state.lot_taint("sn-1") == ("inc-2",)
    assert mlog.state.lot_taint("lot-1b") == ()


def test_a_site_incident_taints_every_lot_from_the_site(
    world: World, mlog: MemoryLog, reject: Reject
) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(
        world.report_incident("inc-1", kind="site", subject="site-a", category="security_forces")
    )
    assert _tainted(mlog) == ["lot:lot-1"]  # the lot already from the site, by the incident
    world.run(world.register_lot("lot-2"))
    assert _tainted(mlog) == ["lot:lot-1", "lot:lot-2"]  # a new lot, as it is registered
    _to_exporter(world, "lot-1", "coop-a")
    reject(world.export("lot-1"), PolicyError, code="lot_tainted", match="inc-1")
    world.run(world.split("lot-1", [("lot-1a", 50_000), ("lot-1b", 50_000)], by="exporter-a"))
    assert _tainted(mlog) == ["lot:lot-1", "lot:lot-2", "lot:lot-1a", "lot:lot-1b"]
    reject(world.export("lot-1a"), PolicyError, code="lot_tainted", match="inc-1")
    world.run(world.resolve_incident("inc-1", by="registrar"))
    world.run(world.export("lot-1a"))


def test_an_actor_incident_taints_nothing(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(
        world.report_incident(
            "inc-1", kind="actor", subject="coop-a", category="taxes_fees_royalties"
        )
    )
    _to_exporter(world, "lot-1", "coop-a")
    world.run(world.export("lot-1"))
    assert _tainted(mlog) == []


def test_a_clean_chain_is_never_tainted(world: World, mlog: MemoryLog) -> None:
    _chain(world)
    _to_exporter(world, "sn-1", "smelter-a")
    world.run(world.export("sn-1"))
    assert [f.code for f in mlog.flags()] == []


def test_a_site_incident_flags_what_was_already_made_from_the_site(
    world: World, mlog: MemoryLog
) -> None:
    world.run(world.register_lot("lot-1"))  # site-a
    world.run(world.register_lot("lot-b", site="site-b", by="coop-b", mineral="gold",
                                 mass_g=40_000))  # fmt: skip
    world.transfer("lot-1", by="coop-a", to="trader-a")
    world.run(world.split("lot-1", [("lot-1a", 60_000), ("lot-1b", 40_000)], by="trader-a"))
    world.run(
        world.merge(["lot-1a", "lot-1b"], "lot-m", by="trader-a", mass_g=100_000,
                    grade_ppm=500_000)
    )  # fmt: skip
    world.run(world.report_incident("inc-1", kind="site", subject="site-a", severity="high"))
    flagged = [f for f in mlog.flags() if f.code == "tainted"]
    assert [f.subject for f in flagged] == ["lot:lot-1", "lot:lot-1a", "lot:lot-1b", "lot:lot-m"]
    assert {f.seq for f in flagged} == {mlog.size - 1}  # all by the incident's entry
    assert "lot-b" not in {f.subject[4:] for f in flagged}  # the other site's gold
