"""Site status from inspections: transitions, blue by age and by lapse, revocation, policy."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from factories import POLICY, MemoryLog, Reject, World

from ledger.bodies import check_body
from ledger.custody.sitestatus import GREEN_DAYS, status_at
from ledger.custody.types import SiteStatus
from ledger.errors import PolicyError, ValidationError
from ledger.state import DEFAULT_POLICY, Policy


def _status(log: MemoryLog, site: str = "site-a") -> SiteStatus:
    status = log.state.site_status(site)
    assert status is not None, site
    return status


def _history(log: MemoryLog, site: str = "site-a") -> list[tuple[str, str | None, str]]:
    return [(c.status, c.basis, c.reason) for c in log.state.appended("site_status_change")
            if c.site == site]  # fmt: skip


def _flags(log: MemoryLog) -> list[tuple[str, str]]:
    return [(f.code, f.subject) for f in log.flags()]


@pytest.fixture
def late() -> tuple[World, MemoryLog]:
    """A populated world whose log's clock is in 2028, so statements may be dated up to then."""
    log = MemoryLog(logged=datetime(2028, 1, 1, tzinfo=UTC))
    world = World(submit=log.submit)
    world.populate()
    return world, log


def _world_with(policy: dict[str, Any]) -> tuple[World, MemoryLog]:
    log = MemoryLog()
    world = World(submit=log.submit, policy={**POLICY, **policy})
    world.populate()
    return world, log


# -- the pure evaluation -------------------------------------------------------------------------

REG_GREEN = ("", "green", "2026-01-01", "2026-01-01", "9999-12-31")


@pytest.mark.parametrize(
    ("records", "on", "expected"),
    [
        ((), "2026-06-01", ("blue", None, None)),
        ((REG_GREEN,), "2026-06-01", ("green", None, "2026-01-01")),
        ((REG_GREEN,), "2027-01-01", ("green", None, "2026-01-01")),  # 365 days: still green
        ((REG_GREEN,), "2027-01-02", ("blue", None, "2026-01-01")),  # 366 days: blue by age
        ((("", "blue", "2026-01-01", "2026-01-01", "9999-12-31"),), "2026-02-01",
         ("blue", None, "2026-01-01")),
        ((REG_GREEN, ("i1", "yellow", "2026-02-01", "2026-02-01", "2026-03-01")), "2026-02-15",
         ("yellow", "i1", "2026-02-01")),
        ((REG_GREEN, ("i1", "yellow", "2026-02-01", "2026-02-01", "2026-03-01")), "2026-03-02",
         ("blue", "i1", "2026-02-01")),  # lapsed
        ((REG_GREEN, ("i1", "yellow", "2026-02-01", "2026-02-01", "2026-03-01")), "2026-01-15",
         ("green", None, "2026-01-01")),  # not yet in force
        ((REG_GREEN, ("i1", "red", "2026-02-01", "2026-02-01", "2026-03-01")), "2026-01-15",
         ("red", "i1", "2026-02-01")),  # red from the moment it is logged
        ((REG_GREEN, ("i1", "red", "2026-02-01", "2026-02-01", "2026-03-01")), "2027-05-01",
         ("red", "i1", "2026-02-01")),  # red never lapses
        ((("i1", "red", "2026-02-01", "2026-02-01", "2026-12-31"),
          ("i2", "green", "2026-03-01", "2026-03-01", "2026-12-31")), "2026-03-02",
         ("green", "i2", "2026-03-01")),  # a later inspection lifts it
    ],
    ids=["none", "registered", "day-365", "day-366", "registered-blue", "yellow", "lapsed",
         "future", "red-early", "red-lapsed", "red-lifted"],
)  # fmt: skip
def test_status_at(records: Any, on: str, expected: Any) -> None:
    assert status_at(records, on) == expected
    assert GREEN_DAYS == 365


# -- derived state ---------------------------------------------------------------------------------


def test_registration_records_the_initial_status(world: World, mlog: MemoryLog) -> None:
    assert (_status(mlog).status, _status(mlog).basis) == ("green", None)
    assert _status(mlog, "site-b").status == "yellow"
    assert _history(mlog) == [("green", None, "registered")]


def test_transitions_and_history(world: World, mlog: MemoryLog) -> None:
    world.run(world.inspect("insp-1", "yellow"))
    assert (_status(mlog).status, _status(mlog).basis) == ("yellow", "insp-1")
    world.run(world.inspect("insp-2", "red"))
    world.run(world.inspect("insp-3", "green"))
    world.run(world.inspect("insp-4", "green"))  # same status, new basis: a history row too
    assert _history(mlog) == [
        ("green", None, "registered"),
        ("yellow", "insp-1", "inspection insp-1"),
        ("red", "insp-2", "inspection insp-2"),
        ("green", "insp-3", "inspection insp-3"),
        ("green", "insp-4", "inspection insp-4"),
    ]
    assert [r[0] for r in _status(mlog).records] == ["", "insp-1", "insp-2", "insp-3", "insp-4"]


def test_a_red_site_refuses_lots(world: World, mlog: MemoryLog, reject: Reject) -> None:
    world.run(world.inspect("insp-1", "red"))
    reject(
        world.register_lot("lot-1"),
        PolicyError,
        code="site_status_refused",
        match="site site-a is red \\(inspection insp-1 of 2026-01-10\\); this ledger's policy "
        "refuses lots from red sites",
    )
    world.run(world.inspect("insp-2", "green"))
    world.run(world.register_lot("lot-1"))
    assert _flags(mlog) == []


def test_revoking_the_red_inspection_restores_the_earlier_status(
    world: World, mlog: MemoryLog
) -> None:
    world.run(world.inspect("insp-1", "yellow"))
    world.run(world.inspect("insp-2", "red"))
    world.run(world.revoke_attestation("insp-2", by="inspector-a"))
    assert (_status(mlog).status, _status(mlog).basis) == ("yellow", "insp-1")
    assert _history(mlog)[-1] == ("yellow", "insp-1", "revocation of insp-2")
    world.run(world.register_lot("lot-1"))  # yellow is accepted without a flag by default
    assert _flags(mlog) == []


def test_revoking_another_claim_leaves_the_status(world: World, mlog: MemoryLog) -> None:
    world.run(world.attest("clf-1"))
    world.run(world.revoke_attestation("clf-1"))
    assert _history(mlog) == [("green", None, "registered")]


def test_version_0_inspections_count_from_valid_from(world: World, mlog: MemoryLog) -> None:
    world.run(world.attest("insp-0", by="inspector-a", claim="site.inspection", result="yellow",
                           valid_from="2026-01-05"))  # fmt: skip
    assert (_status(mlog).status, _status(mlog).since) == ("yellow", "2026-01-05")


def test_blue_by_age_flags_the_lot(late: tuple[World, MemoryLog]) -> None:
    world, log = late
    world.run(world.inspect("insp-1", "green", date="2026-01-10", valid_until="2027-12-31"))
    world.run(world.register_lot("lot-1", time="2027-01-10T09:00:00Z", extracted="2027-01-09"))
    assert _flags(log) == []
    world.run(world.register_lot("lot-2", time="2027-01-11T09:00:00Z", extracted="2027-01-09"))
    assert _flags(log) == [("origin_site_blue", "lot:lot-2")]
    message = log.flags()[0].message
    assert message == "lot lot-2 comes from site site-a, which is blue (inspection insp-1 of " \
        "2026-01-10)."  # fmt: skip
    assert _history(log)[-1] == ("blue", "insp-1", "observed at lot registration")


def test_a_registered_green_ages_too(late: tuple[World, MemoryLog]) -> None:
    world, log = late
    world.run(world.register_lot("lot-1", time="2027-01-16T09:00:00Z", extracted="2027-01-09"))
    assert _flags(log) == [("origin_site_blue", "lot:lot-1")]
    assert "as recorded at its registration on 2026-01-15" in log.flags()[0].message


def test_a_lapsed_inspection_is_blue(late: tuple[World, MemoryLog]) -> None:
    world, log = late
    world.run(world.inspect("insp-1", "yellow", valid_until="2026-03-01"))
    world.run(world.register_lot("lot-1", time="2026-03-02T09:00:00Z", extracted="2026-03-01"))
    assert _flags(log) == [("origin_site_blue", "lot:lot-1")]


def test_a_lot_dated_back_cannot_slip_under_a_red(world: World, reject: Reject) -> None:
    world.run(world.inspect("insp-1", "red", date="2026-01-14"))
    submission = world.register_lot("lot-1", time="2026-01-12T09:00:00Z", extracted="2026-01-10")
    reject(submission, PolicyError, code="site_status_refused", match="is red")


def test_never_inspected_blue_site(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_site("site-c", "coop-a", status="blue"))
    world.run(world.register_lot("lot-1", site="site-c"))
    assert _flags(mlog) == [("origin_site_blue", "lot:lot-1")]
    assert "which is blue (never inspected)" not in mlog.flags()[0].message  # it was recorded
    assert "as recorded at its registration" in mlog.flags()[0].message


def test_a_clean_chain_raises_no_origin_flags(world: World, mlog: MemoryLog) -> None:
    world.run(world.inspect("insp-1", "green"))
    world.run(world.register_lot("lot-1"))
    world.run(world.register_lot("lot-2", by="coop-b", site="site-b", mineral="gold",
                                 mass_g=1_000))  # fmt: skip
    assert _flags(mlog) == []


def test_licence_expired_flag(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_site("site-c", "coop-a", licence_expires="2026-01-14"))
    world.run(world.register_lot("lot-1", site="site-c"))
    assert _flags(mlog) == [("origin_licence_expired", "lot:lot-1")]
    assert "after its licence PE-site-c expired on 2026-01-14" in mlog.flags()[0].message


# -- the policy knobs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("knobs", "site", "status", "outcome"),
    [
        ({"yellow": "flag"}, "site-b", "yellow", "flag"),
        ({"yellow": "refuse"}, "site-b", "yellow", "refuse"),
        ({"red": "flag"}, "site-a", "red", "flag"),
        ({"red": "accept"}, "site-a", "red", "accept"),
        ({"blue": "refuse"}, "site-c", "blue", "refuse"),
        ({"blue": "accept"}, "site-c", "blue", "accept"),
    ],
)
def test_policy_decides_what_each_status_allows(
    knobs: dict[str, str], site: str, status: str, outcome: str
) -> None:
    world, log = _world_with({"site_status": knobs})
    world.run(world.register_site("site-c", "coop-a", status="blue"))
    if status == "red":
        world.run(world.inspect("insp-1", "red"))
    mineral, mass = ("gold", 1_000) if site == "site-b" else ("tin", 100_000)
    by = "coop-b" if site == "site-b" else "coop-a"
    submission = world.register_lot("lot-1", by=by, site=site, mineral=mineral, mass_g=mass)
    if outcome == "refuse":
        with pytest.raises(PolicyError, match=f"refuses lots from {status} sites"):
            world.run(submission)
        return
    world.run(submission)
    expected = [(f"origin_site_{status}", "lot:lot-1")] if outcome == "flag" else []
    assert _flags(log) == expected


def test_policy_json_omits_the_default_site_status() -> None:
    assert "site_status" not in DEFAULT_POLICY.to_json()
    policy = Policy.from_json({**DEFAULT_POLICY.to_json(), "site_status": {"yellow": "flag"}})
    assert policy.to_json()["site_status"] == {"yellow": "flag", "blue": "flag", "red": "refuse"}
    assert Policy.from_json(policy.to_json()) == policy
    assert Policy.from_json(DEFAULT_POLICY.to_json()) == DEFAULT_POLICY
    assert [DEFAULT_POLICY.site_effect(s) for s in ("green", "yellow", "blue", "red")] == [
        "accept", "accept", "flag", "refuse"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("site_status", "message"),
    [
        ({"yellow": "warn"}, "must be one of accept, flag, refuse"),
        ({"green": "refuse"}, "body.policy.site_status.green is not a field"),
        ("refuse", "body.policy.site_status must be an object"),
    ],
)
def test_policy_site_status_is_checked(site_status: Any, message: str) -> None:
    world = World()
    body = world.genesis().envelope.statement.body
    body = {**body, "policy": {**body["policy"], "site_status": site_status}}
    with pytest.raises(ValidationError, match=message):
        check_body("genesis", body)
