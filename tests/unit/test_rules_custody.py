"""Custody rules: lots from registration to export, mass and metal balance, attestations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from factories import MemoryLog, Reject, World

from ledger.custody import rules as custody_rules
from ledger.custody.types import CONSUMED, EXPORTED, HELD, IN_TRANSIT, Attestation, Flag, Lot
from ledger.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PolicyError,
    ValidationError,
)
from ledger.rulebook import Context


def _lot(log: MemoryLog, lot_id: str) -> Lot:
    lot = log.state.lot(lot_id)
    assert lot is not None, lot_id
    return lot


def _held(world: World, lot: str, holder: str, **register: Any) -> None:
    """Register ``lot`` (coop-a at site-a unless told otherwise) and move it to ``holder``."""
    by = register.pop("by", "coop-a")
    world.run(world.register_lot(lot, by=by, **register))
    if holder != by:
        world.transfer(lot, by=by, to=holder)


def _flags(log: MemoryLog) -> list[Flag]:
    return log.flags()


# -- lot.register ------------------------------------------------------------------------------


def test_register_a_lot(world: World, mlog: MemoryLog) -> None:
    submission = world.register_lot("lot-1", tags=["T-2", "T-1"], private={"price": 5})
    leaf = world.run(submission)
    seq = mlog.size - 1
    assert _lot(mlog, "lot-1") == Lot(
        id="lot-1",
        mineral="tin",
        form="ore",
        mass_g=100_000,
        initial_mass_g=100_000,
        grade_ppm=500_000,
        custodian="coop-a",
        status=HELD,
        tags=("T-1", "T-2"),
        origins=("site-a",),
        created_seq=seq,
        updated_seq=seq,
    )
    assert mlog.state.head("lot:lot-1") == leaf
    assert mlog.state.tag_lot("T-1") == mlog.state.tag_lot("T-2") == "lot-1"
    assert mlog.state.site_output("site-a", "2026-01") == 100_000


@pytest.mark.parametrize("by", ["trader-a", "registrar", "smelter-a"])
def test_only_cooperatives_register_lots(world: World, reject: Reject, by: str) -> None:
    reject(
        world.register_lot("lot-1", by=by),
        ForbiddenError,
        code="wrong_role",
        match="may not register lots",
    )


def test_register_at_unknown_site(world: World, reject: Reject) -> None:
    reject(
        world.register_lot("lot-1", site="site-z"),
        NotFoundError,
        code="unknown_site",
        match="site-z",
    )


def test_register_at_a_site_of_another_cooperative(world: World, reject: Reject) -> None:
    submission = world.register_lot("lot-1", by="coop-b", site="site-a")
    reject(
        submission,
        ForbiddenError,
        code="site_not_operated",
        match="coop-b does not operate site site-a",
    )


def test_register_a_mineral_the_site_does_not_produce(world: World, reject: Reject) -> None:
    submission = world.register_lot("lot-1", mineral="gold")
    reject(
        submission,
        PolicyError,
        code="mineral_not_at_site",
        match="licensed for tantalum, tin, not gold",
    )


def test_register_duplicate_lot(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1"))
    reject(
        world.register_lot("lot-1", tags=["fresh"]),
        ConflictError,
        code="duplicate_id",
        match="lot lot-1 already exists",
    )


def test_register_reused_tag(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1", tags=["T-1"]))
    submission = world.register_lot("lot-2", tags=["T-9", "T-1"])
    reject(
        submission, ConflictError, code="tag_reused", match="tag T-1 was already used on lot lot-1"
    )


def test_monthly_capacity(world: World, mlog: MemoryLog, reject: Reject) -> None:
    # site-b: gold, 50 000 g a month, capacity tolerance 0 ppm.
    def gold(lot: str, mass_g: int, extracted: str = "2026-01-05") -> Any:
        return world.register_lot(
            lot,
            by="coop-b",
            site="site-b",
            mineral="gold",
            mass_g=mass_g,
            grade_ppm=900_000,
            extracted=extracted,
        )

    world.run(gold("g-1", 30_000))
    world.run(gold("g-2", 20_000, extracted="2026-01-14"))  # exactly the capacity
    assert mlog.state.site_output("site-b", "2026-01") == 50_000
    error = reject(
        gold("g-3", 1, extracted="2026-01-10"),
        PolicyError,
        code="capacity_exceeded",
        match="50001 g for 2026-01",
    )
    assert "capacity of 50000 g" in error.message
    world.run(gold("g-4", 50_000, extracted="2025-12-20"))  # another month is independent
    assert mlog.state.site_output("site-b", "2026-01") == 50_000
    assert mlog.state.site_output("site-b", "2025-12") == 50_000
    assert mlog.state.site_output("site-a", "2026-01") == 0


def test_extraction_cannot_follow_registration(world: World, reject: Reject) -> None:
    """The extraction month decides which capacity a lot counts against: no dating ahead."""
    world.run(world.register_lot("lot-ok", extracted="2026-01-15"))  # the same day is fine
    reject(
        world.register_lot("lot-late", extracted="2026-01-16"),
        PolicyError,
        code="extracted_in_future",
        match="is after the statement's date 2026-01-15",
    )


def test_capacity_tolerance(log: MemoryLog) -> None:
    world = World(submit=log.submit, policy={**World().policy, "capacity_tolerance_ppm": 100_000})
    world.populate()
    world.run(world.register_lot("g-1", by="coop-b", site="site-b", mineral="gold", mass_g=55_000))
    with pytest.raises(PolicyError) as info:
        world.run(world.register_lot("g-2", by="coop-b", site="site-b", mineral="gold", mass_g=1))
    assert info.value.code == "capacity_exceeded"


# -- lot.dispatch and lot.receive ----------------------------------------------------------------


def test_custody_moves_only_on_receipt(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_lot("lot-1"))
    sent = world.run(world.dispatch("lot-1", by="coop-a", to="trader-a", private={"price": 9}))
    lot = _lot(mlog, "lot-1")
    assert (lot.status, lot.custodian, lot.addressee, lot.dispatched_mass_g) == (
        IN_TRANSIT,
        "coop-a",
        "trader-a",
        100_000,
    )
    assert lot.updated_seq == mlog.size - 1
    assert mlog.state.head("lot:lot-1") == sent

    received = world.run(world.receive("lot-1", by="trader-a", mass_g=99_600))
    lot = _lot(mlog, "lot-1")
    assert (lot.status, lot.custodian, lot.addressee, lot.dispatched_mass_g, lot.mass_g) == (
        HELD,
        "trader-a",
        None,
        None,
        99_600,
    )
    assert mlog.state.head("lot:lot-1") == received
    assert _flags(mlog) == []


@pytest.mark.parametrize(
    ("measured", "flagged"),
    [
        (100_000, False),
        (99_500, False),
        (100_500, False),
        (99_499, True),
        (100_501, True),
        (1, True),
    ],
)
def test_mass_discrepancy_flag(world: World, mlog: MemoryLog, measured: int, flagged: bool) -> None:
    # receipt tolerance 5 000 ppm of 100 000 g: 500 g either way.
    world.run(world.register_lot("lot-1"))
    world.transfer("lot-1", by="coop-a", to="trader-a", mass_g=measured)
    flags = [f for f in _flags(mlog) if f.code == "mass_discrepancy"]
    if not flagged:
        assert flags == []
        return
    assert len(flags) == 1
    flag = flags[0]
    assert (flag.code, flag.severity, flag.subject, flag.seq) == (
        "mass_discrepancy",
        "warning",
        "lot:lot-1",
        mlog.size - 1,
    )
    assert f"measured {measured} g" in flag.message
    assert _lot(mlog, "lot-1").custodian == "trader-a"  # a flag, not a refusal


def test_gains_within_tolerance_cannot_add_up(world: World, mlog: MemoryLog) -> None:
    """Each receipt +0.4% (inside the 0.5% receipt tolerance): the second one is flagged,
    because the lot would then weigh more than the 100 000 g it had when registered."""
    world.run(world.register_lot("lot-1"))
    world.transfer("lot-1", by="coop-a", to="trader-a", mass_g=100_400)
    assert _flags(mlog) == []
    world.transfer("lot-1", by="trader-a", to="trader-b", mass_g=100_800)
    flags = _flags(mlog)
    assert [(f.code, f.subject) for f in flags] == [("mass_gain", "lot:lot-1")]
    assert "more than the 100000 g it had when it was created" in flags[0].message


def test_dispatch_by_non_custodian(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1"))
    submission = world.dispatch("lot-1", by="trader-a", to="trader-b")
    reject(
        submission,
        ForbiddenError,
        code="not_custodian",
        match="trader-a is not the custodian of lot lot-1",
    )


def test_dispatch_while_in_transit(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    submission = world.dispatch("lot-1", by="coop-a", to="trader-b")
    reject(submission, PolicyError, code="lot_in_transit", match="is in transit")


def test_dispatch_to_self(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1"))
    submission = world.dispatch("lot-1", by="coop-a", to="coop-a")
    reject(submission, ValidationError, code="self_dispatch", match="its own custodian")


def test_dispatch_to_unknown_actor(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1"))
    submission = world.dispatch("lot-1", by="coop-a", to="ghost")
    reject(submission, NotFoundError, code="unknown_actor", match="addressee ghost")


@pytest.mark.parametrize("to", ["auditor-a", "inspector-a", "registrar", "operator"])
def test_dispatch_to_actor_without_custody_role(world: World, reject: Reject, to: str) -> None:
    world.run(world.register_lot("lot-1"))
    submission = world.dispatch("lot-1", by="coop-a", to=to)
    reject(submission, ForbiddenError, code="wrong_role", match="may not take custody of lots")


@pytest.mark.parametrize("mass_g", [99_999, 100_001])
def test_dispatch_mass_must_be_the_lots(world: World, reject: Reject, mass_g: int) -> None:
    world.run(world.register_lot("lot-1"))
    submission = world.dispatch("lot-1", by="coop-a", to="trader-a", mass_g=mass_g)
    reject(submission, PolicyError, code="mass_mismatch", match="split the lot first")


@pytest.mark.parametrize("tags", [[], ["T-lot-1", "T-x"], ["T-x"]])
def test_dispatch_tags_must_be_the_lots(world: World, reject: Reject, tags: list[str]) -> None:
    world.run(world.register_lot("lot-1"))
    submission = world.dispatch("lot-1", by="coop-a", to="trader-a", tags=tags)
    reject(submission, PolicyError, code="tag_mismatch", match="lot lot-1 carries")


def test_dispatch_tags_in_any_order(world: World) -> None:
    world.run(world.register_lot("lot-1", tags=["B", "A"]))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a", tags=["B", "A"]))


def test_receive_a_lot_not_in_transit(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1"))
    submission = world.receive("lot-1", by="coop-a")
    reject(submission, PolicyError, code="not_in_transit", match="it is held")


def test_receive_by_someone_else(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    for by in ("trader-b", "coop-a"):
        submission = world.receive("lot-1", by=by)
        reject(
            submission, ForbiddenError, code="not_addressee", match="dispatched to trader-a, not to"
        )


# -- lot.split -------------------------------------------------------------------------------------


def test_split(world: World, mlog: MemoryLog) -> None:
    _held(world, "lot-1", "trader-a")
    leaf = world.run(
        world.split(
            "lot-1", [("lot-1a", 60_000), ("lot-1b", 39_900, ["X-1", "X-2"])], by="trader-a"
        )
    )
    seq = mlog.size - 1
    parent = _lot(mlog, "lot-1")
    assert (parent.status, parent.updated_seq) == (CONSUMED, seq)
    a, b = _lot(mlog, "lot-1a"), _lot(mlog, "lot-1b")
    assert (a.mass_g, a.tags, b.mass_g, b.tags) == (60_000, ("T-lot-1a",), 39_900, ("X-1", "X-2"))
    for child in (a, b):
        assert (child.status, child.custodian, child.origins) == (HELD, "trader-a", ("site-a",))
        assert (child.mineral, child.form, child.grade_ppm) == ("tin", "ore", 500_000)
        assert child.created_seq == child.updated_seq == seq
        assert child.addressee is None
    for subject in ("lot:lot-1", "lot:lot-1a", "lot:lot-1b"):
        assert mlog.state.head(subject) == leaf
    assert sorted(mlog.edges()) == [("lot-1a", "lot-1", seq), ("lot-1b", "lot-1", seq)]
    assert mlog.state.tag_lot("X-2") == "lot-1b"


@pytest.mark.parametrize(
    ("masses", "ok"),
    [
        ((50_000, 50_000), True),
        ((50_000, 49_800), True),  # lighter by exactly 2 000 ppm
        ((50_000, 49_799), False),  # lighter beyond the tolerance
        ((50_000, 50_001), False),  # heavier, by any amount
        ((99_999, 1, 1), False),
    ],
)
def test_split_mass_balance(
    world: World, mlog: MemoryLog, reject: Reject, masses: Sequence[int], ok: bool
) -> None:
    _held(world, "lot-1", "trader-a")
    submission = world.split(
        "lot-1", [(f"out-{i}", m) for i, m in enumerate(masses)], by="trader-a"
    )
    if ok:
        world.run(submission)
        assert _lot(mlog, "lot-1").status == CONSUMED
    else:
        reject(submission, PolicyError, code="mass_balance", match=f"weigh {sum(masses)} g in all")


def test_split_by_non_custodian(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    submission = world.split("lot-1", [("a", 50_000), ("b", 50_000)], by="trader-b")
    reject(submission, ForbiddenError, code="not_custodian")


def test_split_consumed_lot(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    world.run(world.split("lot-1", [("a", 50_000), ("b", 50_000)], by="trader-a"))
    submission = world.split("lot-1", [("c", 50_000), ("d", 50_000)], by="trader-a")
    reject(submission, PolicyError, code="lot_consumed", match="was consumed")
    reject(world.dispatch("lot-1", by="trader-a", to="trader-b"), PolicyError, code="lot_consumed")


def test_split_output_tags_are_single_use(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    world.run(world.register_lot("lot-2", tags=["USED"]))
    reused = world.split("lot-1", [("a", 50_000, ["USED"]), ("b", 50_000)], by="trader-a")
    reject(reused, ConflictError, code="tag_reused", match="tag USED was already used on lot lot-2")
    parent_tag = world.split("lot-1", [("a", 50_000, ["T-lot-1"]), ("b", 50_000)], by="trader-a")
    reject(parent_tag, ConflictError, code="tag_reused", match="already used on lot lot-1")
    shared = world.split("lot-1", [("a", 50_000, ["S"]), ("b", 50_000, ["S"])], by="trader-a")
    reject(shared, ConflictError, code="tag_reused", match="tag S was already used on lot a")


def test_split_output_ids_are_new(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    world.run(world.register_lot("lot-2"))
    for outputs in (
        [("lot-2", 50_000), ("b", 50_000)],
        [("lot-1", 50_000), ("b", 50_000)],
        [("a", 50_000, ["A"]), ("a", 50_000, ["B"])],
    ):
        submission = world.split("lot-1", outputs, by="trader-a")
        reject(submission, ConflictError, code="duplicate_id", match="already exists")


# -- lot.merge -------------------------------------------------------------------------------------


def _two_tin_lots(world: World, holder: str = "trader-a") -> None:
    world.run(world.register_site("site-c", "coop-b", minerals=("tin",)))
    _held(world, "lot-1", holder)
    _held(world, "lot-2", holder, by="coop-b", site="site-c", grade_ppm=300_000)


def test_merge(world: World, mlog: MemoryLog) -> None:
    _two_tin_lots(world)
    leaf = world.run(
        world.merge(["lot-1", "lot-2"], "lot-3", by="trader-a", mass_g=200_000, grade_ppm=400_000)
    )
    seq = mlog.size - 1
    merged = _lot(mlog, "lot-3")
    assert merged == Lot(
        id="lot-3",
        mineral="tin",
        form="ore",
        mass_g=200_000,
        initial_mass_g=200_000,
        grade_ppm=400_000,
        custodian="trader-a",
        status=HELD,
        tags=("T-lot-3",),
        origins=("site-a", "site-c"),
        created_seq=seq,
        updated_seq=seq,
    )
    for lot_id in ("lot-1", "lot-2"):
        assert _lot(mlog, lot_id).status == CONSUMED
        assert mlog.state.head(f"lot:{lot_id}") == leaf
    assert mlog.state.head("lot:lot-3") == leaf
    assert sorted(mlog.edges()) == [("lot-3", "lot-1", seq), ("lot-3", "lot-2", seq)]


def test_merge_mixed_minerals(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    _held(world, "lot-2", "trader-a", mineral="tantalum")
    submission = world.merge(
        ["lot-1", "lot-2"], "lot-3", by="trader-a", mass_g=200_000, grade_ppm=1
    )
    reject(submission, PolicyError, code="mixed_inputs", match="one mineral and form")


def test_merge_mixed_forms(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    _held(world, "lot-2", "trader-a", form="concentrate")
    submission = world.merge(
        ["lot-1", "lot-2"], "lot-3", by="trader-a", mass_g=200_000, grade_ppm=1
    )
    reject(submission, PolicyError, code="mixed_inputs")


@pytest.mark.parametrize(
    ("mass_g", "ok"), [(200_000, True), (199_600, True), (199_599, False), (200_001, False)]
)
def test_merge_mass_balance(world: World, reject: Reject, mass_g: int, ok: bool) -> None:
    _two_tin_lots(world)
    submission = world.merge(
        ["lot-1", "lot-2"], "lot-3", by="trader-a", mass_g=mass_g, grade_ppm=100_000
    )
    if ok:
        world.run(submission)
    else:
        reject(submission, PolicyError, code="mass_balance", match="its inputs weigh 200000 g")


@pytest.mark.parametrize(("grade_ppm", "ok"), [(400_000, True), (400_001, False), (400_800, False)])
def test_merge_metal_balance(world: World, reject: Reject, grade_ppm: int, ok: bool) -> None:
    # metal in: 100 000 g x 50 % + 100 000 g x 30 % = 80 000 g. The merge tolerance admits lost
    # mass only: the output may never hold more metal than the inputs, not even by 1 ppm.
    _two_tin_lots(world)
    submission = world.merge(
        ["lot-1", "lot-2"], "lot-3", by="trader-a", mass_g=200_000, grade_ppm=grade_ppm
    )
    if ok:
        world.run(submission)
    else:
        reject(submission, PolicyError, code="metal_balance", match="more metal than its inputs")


def test_merge_needs_custody_of_every_input(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    _held(world, "lot-2", "trader-b")
    submission = world.merge(
        ["lot-1", "lot-2"], "lot-3", by="trader-a", mass_g=200_000, grade_ppm=1
    )
    reject(submission, ForbiddenError, code="not_custodian", match="custodian of lot lot-2")


def test_merge_input_in_transit(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    _held(world, "lot-2", "trader-a")
    world.run(world.dispatch("lot-2", by="trader-a", to="trader-b"))
    submission = world.merge(
        ["lot-1", "lot-2"], "lot-3", by="trader-a", mass_g=200_000, grade_ppm=1
    )
    reject(submission, PolicyError, code="lot_in_transit", match="lot lot-2 is in transit")


def test_merge_output_tag_and_id(world: World, reject: Reject) -> None:
    _two_tin_lots(world)
    reused = world.merge(
        ["lot-1", "lot-2"], "lot-3", by="trader-a", mass_g=200_000, grade_ppm=1, tags=["T-lot-2"]
    )
    reject(reused, ConflictError, code="tag_reused", match="tag T-lot-2")
    same_id = world.merge(["lot-1", "lot-2"], "lot-1", by="trader-a", mass_g=200_000, grade_ppm=1)
    reject(same_id, ConflictError, code="duplicate_id", match="lot lot-1 already exists")


# -- lot.process -----------------------------------------------------------------------------------


def _ore(world: World, holder: str = "smelter-a") -> None:
    """lot-1: 100 kg tin ore at 50 % (50 kg Sn); lot-2: 100 kg tantalum ore at 30 % (30 kg Ta)."""
    _held(world, "lot-1", holder)
    _held(world, "lot-2", holder, mineral="tantalum", grade_ppm=300_000)


def _out(lot: str, mineral: str, mass_g: int, grade_ppm: int, **more: Any) -> dict[str, Any]:
    return {"lot": lot, "mineral": mineral, "mass_g": mass_g, "grade_ppm": grade_ppm, **more}


@pytest.mark.parametrize("by", ["smelter-a", "refiner-a"])
def test_process(world: World, mlog: MemoryLog, by: str) -> None:
    _ore(world, by)
    outputs = [
        _out("sn-1", "tin", 50_000, 1_000_000, form="metal", tags=["INGOT-1"]),
        _out("ta-1", "tantalum", 60_000, 500_000),
    ]
    leaf = world.run(world.process(["lot-1", "lot-2"], outputs, by=by))
    seq = mlog.size - 1
    tin, tantalum = _lot(mlog, "sn-1"), _lot(mlog, "ta-1")
    assert (tin.mineral, tin.form, tin.mass_g, tin.grade_ppm, tin.tags) == (
        "tin",
        "metal",
        50_000,
        1_000_000,
        ("INGOT-1",),
    )
    assert (tantalum.mineral, tantalum.form) == ("tantalum", "concentrate")
    for out in (tin, tantalum):
        assert (out.custodian, out.status, out.origins, out.created_seq) == (
            by,
            HELD,
            ("site-a",),
            seq,
        )
    for subject in ("lot:lot-1", "lot:lot-2", "lot:sn-1", "lot:ta-1"):
        assert mlog.state.head(subject) == leaf
    assert _lot(mlog, "lot-1").status == _lot(mlog, "lot-2").status == CONSUMED
    assert sorted(mlog.edges()) == sorted(
        (o, i, seq) for o in ("sn-1", "ta-1") for i in ("lot-1", "lot-2")
    )


@pytest.mark.parametrize("by", ["trader-a", "exporter-a", "coop-a"])
def test_process_needs_a_processor(world: World, reject: Reject, by: str) -> None:
    _ore(world, by)
    submission = world.process(["lot-1"], [_out("sn-1", "tin", 10, 1)], by=by)
    reject(submission, ForbiddenError, code="wrong_role", match="may not process lots")


def test_process_mass_balance(world: World, reject: Reject) -> None:
    _ore(world)
    submission = world.process(
        ["lot-1", "lot-2"],
        [_out("sn-1", "tin", 100_000, 100), _out("x-1", "tantalum", 100_001, 0)],
        by="smelter-a",
    )
    reject(submission, PolicyError, code="mass_balance", match="more mass than went in")


@pytest.mark.parametrize(
    ("outputs", "ok"),
    [
        ([_out("sn-1", "tin", 50_000, 1_000_000)], True),
        ([_out("sn-1", "tin", 50_001, 1_000_000)], False),
        ([_out("sn-1", "tin", 25_000, 1_000_000), _out("sn-2", "tin", 50_000, 500_001)], False),
        (
            [_out("sn-1", "tin", 50_000, 1_000_000), _out("ta-1", "tantalum", 30_001, 1_000_000)],
            False,
        ),
        (
            [_out("sn-1", "tin", 40_000, 1_000_000), _out("ta-1", "tantalum", 30_000, 1_000_000)],
            True,
        ),
    ],
    ids=["all-tin", "tin+1g", "two-outputs", "tantalum+1g", "both-minerals"],
)
def test_process_metal_balance_per_mineral(
    world: World, reject: Reject, outputs: list[dict[str, Any]], ok: bool
) -> None:
    _ore(world)
    submission = world.process(["lot-1", "lot-2"], outputs, by="smelter-a")
    if ok:
        world.run(submission)
    else:
        reject(
            submission, PolicyError, code="metal_balance", match="processing cannot create metal"
        )


def test_process_metal_balance_names_the_mineral(world: World, reject: Reject) -> None:
    _ore(world)
    submission = world.process(["lot-1"], [_out("sn-1", "tin", 100_000, 600_000)], by="smelter-a")
    error = reject(submission, PolicyError, code="metal_balance")
    assert "60000 g of tin but the inputs only 50000 g" in error.message


@pytest.mark.parametrize("grade_ppm", [1, 0], ids=["some-gold", "zero-grade"])
def test_process_output_of_a_mineral_no_input_contains(
    world: World, reject: Reject, grade_ppm: int
) -> None:
    """Gold cannot come out of tin ore, even declared at grade 0 (it would start a gold lot)."""
    _ore(world)
    submission = world.process(["lot-1"], [_out("au-1", "gold", 10, grade_ppm)], by="smelter-a")
    reject(submission, PolicyError, code="mineral_not_in_inputs", match="an output is gold")


def test_process_output_tags_and_ids(world: World, reject: Reject) -> None:
    _ore(world)
    reused = world.process(
        ["lot-1"], [_out("sn-1", "tin", 10, 1, tags=["T-lot-2"])], by="smelter-a"
    )
    reject(reused, ConflictError, code="tag_reused")
    existing = world.process(["lot-1"], [_out("lot-2", "tin", 10, 1)], by="smelter-a")
    reject(existing, ConflictError, code="duplicate_id", match="lot lot-2 already exists")


def test_process_needs_custody(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "refiner-a")
    submission = world.process(["lot-1"], [_out("sn-1", "tin", 10, 1)], by="smelter-a")
    reject(submission, ForbiddenError, code="not_custodian")


# -- lot.export ------------------------------------------------------------------------------------


def test_export(world: World, mlog: MemoryLog, reject: Reject) -> None:
    _held(world, "lot-1", "exporter-a")
    leaf = world.run(world.export("lot-1", private={"price": 1, "invoice": "I-9"}))
    lot = _lot(mlog, "lot-1")
    assert (lot.status, lot.custodian, lot.updated_seq) == (EXPORTED, "exporter-a", mlog.size - 1)
    assert mlog.state.head("lot:lot-1") == leaf
    reject(world.export("lot-1"), PolicyError, code="lot_exported", match="has been exported")
    reject(
        world.dispatch("lot-1", by="exporter-a", to="trader-a"), PolicyError, code="lot_exported"
    )
    reject(
        world.split("lot-1", [("a", 50_000), ("b", 50_000)], by="exporter-a"),
        PolicyError,
        code="lot_exported",
    )


@pytest.mark.parametrize("holder", ["trader-a", "coop-a", "smelter-a"])
def test_export_needs_an_exporter(world: World, reject: Reject, holder: str) -> None:
    _held(world, "lot-1", holder)
    reject(
        world.export("lot-1", by=holder),
        ForbiddenError,
        code="wrong_role",
        match="may not export lots",
    )


def test_export_needs_custody(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    reject(world.export("lot-1"), ForbiddenError, code="not_custodian")


def test_export_in_transit(world: World, reject: Reject) -> None:
    _held(world, "lot-1", "trader-a")
    world.run(world.dispatch("lot-1", by="trader-a", to="exporter-a"))
    reject(world.export("lot-1"), PolicyError, code="lot_in_transit")


# -- a whole journey ------------------------------------------------------------------------------


def test_mine_to_export(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_lot("lot-1", mass_g=120_000, tags=["ITSCI-0001"]))
    world.transfer("lot-1", by="coop-a", to="trader-a", mass_g=119_900)
    world.run(world.split("lot-1", [("lot-1a", 80_000), ("lot-1b", 39_900)], by="trader-a"))
    world.transfer("lot-1a", by="trader-a", to="smelter-a")
    world.run(
        world.process(
            ["lot-1a"], [_out("sn-1", "tin", 39_000, 1_000_000, form="metal")], by="smelter-a"
        )
    )
    world.transfer("sn-1", by="smelter-a", to="exporter-a")
    world.run(world.export("sn-1"))
    assert _lot(mlog, "sn-1").status == EXPORTED
    assert _lot(mlog, "sn-1").origins == ("site-a",)
    assert _lot(mlog, "lot-1b").custodian == "trader-a"
    parents = {child: parent for child, parent, _ in mlog.edges()}
    assert parents == {"lot-1a": "lot-1", "lot-1b": "lot-1", "sn-1": "lot-1a"}
    for subject, head in world.heads.items():
        assert mlog.state.head(subject) == head


# -- attestations ----------------------------------------------------------------------------------


def test_attest(world: World, mlog: MemoryLog) -> None:
    leaf = world.run(world.attest("att-1", claim="mercury_free", evidence=["ab" * 32]))
    assert mlog.state.attestation("att-1") == Attestation(
        id="att-1",
        claim="mercury_free",
        subject_kind="site",
        subject_id="site-a",
        attestor="auditor-a",
        valid_from="2026-01-01",
        valid_until="2026-12-31",
        result=None,
        seq=mlog.size - 1,
    )
    assert mlog.state.head("attestation:att-1") == leaf


@pytest.mark.parametrize(
    ("kind", "subject"), [("site", "site-b"), ("actor", "coop-a"), ("lot", "lot-1")]
)
def test_attest_each_kind_of_subject(
    world: World, mlog: MemoryLog, kind: str, subject: str
) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.attest("att-1", by="inspector-a", kind=kind, subject=subject, result="pass"))
    attestation = mlog.state.attestation("att-1")
    assert attestation is not None
    assert (attestation.subject_kind, attestation.subject_id, attestation.result) == (
        kind,
        subject,
        "pass",
    )


@pytest.mark.parametrize("result", ["green", "yellow", "red"])
def test_site_inspection(world: World, mlog: MemoryLog, result: str) -> None:
    world.run(world.attest("insp-1", by="inspector-a", claim="site.inspection", result=result))
    assert mlog.state.attestation("insp-1").result == result  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kind", "subject", "result"),
    [
        ("site", "site-a", None),
        ("site", "site-a", "blue"),
        ("site", "site-a", "Green"),
        ("actor", "coop-a", "green"),
    ],
    ids=["no-result", "blue", "capitalised", "not-a-site"],
)
def test_site_inspection_checks(
    world: World, reject: Reject, kind: str, subject: str, result: str | None
) -> None:
    submission = world.attest(
        "insp-1",
        by="inspector-a",
        claim="site.inspection",
        kind=kind,
        subject=subject,
        result=result,
    )
    error = reject(submission, ValidationError, code="bad_claim", match="green, yellow or red")
    assert error.details["field"] == "body.result"


@pytest.mark.parametrize("by", ["trader-a", "coop-a", "registrar", "buyer-a"])
def test_only_auditors_and_inspectors_attest(world: World, reject: Reject, by: str) -> None:
    reject(
        world.attest("att-1", by=by),
        ForbiddenError,
        code="wrong_role",
        match="may not sign attestations",
    )


def test_attestation_id_is_unique(world: World, reject: Reject) -> None:
    world.run(world.attest("att-1"))
    reject(
        world.attest("att-1", by="inspector-a"),
        ConflictError,
        code="duplicate_id",
        match="attestation att-1",
    )


@pytest.mark.parametrize(
    ("kind", "subject"), [("site", "site-z"), ("actor", "ghost"), ("lot", "lot-z")]
)
def test_attestation_subject_must_exist(
    world: World, reject: Reject, kind: str, subject: str
) -> None:
    submission = world.attest("att-1", kind=kind, subject=subject)
    reject(
        submission,
        NotFoundError,
        code="unknown_subject",
        match=f"{kind} {subject} is not registered",
    )


def test_attestation_validity_period(world: World, reject: Reject) -> None:
    submission = world.attest("att-1", valid_from="2026-06-01", valid_until="2026-05-31")
    error = reject(submission, ValidationError, code="invalid", match="must not be before")
    assert error.details["field"] == "body.valid_until"


def test_revoke_attestation(world: World, mlog: MemoryLog) -> None:
    world.run(world.attest("att-1"))
    leaf = world.run(world.revoke_attestation("att-1"))
    attestation = mlog.state.attestation("att-1")
    assert attestation is not None
    assert attestation.revoked_seq == mlog.size - 1
    assert mlog.state.head("attestation:att-1") == leaf


def test_registrar_revokes_attestation(world: World, mlog: MemoryLog) -> None:
    world.run(world.attest("att-1"))
    world.run(world.revoke_attestation("att-1", by="registrar"))
    assert mlog.state.attestation("att-1").revoked_seq is not None  # type: ignore[union-attr]


@pytest.mark.parametrize("by", ["inspector-a", "coop-a"])
def test_only_the_attestor_revokes(world: World, reject: Reject, by: str) -> None:
    world.run(world.attest("att-1"))
    submission = world.revoke_attestation("att-1", by=by)
    reject(submission, ForbiddenError, code="wrong_role", match="only auditor-a, who signed it")


def test_revoke_twice(world: World, reject: Reject) -> None:
    world.run(world.attest("att-1"))
    world.run(world.revoke_attestation("att-1"))
    reject(
        world.revoke_attestation("att-1"),
        ConflictError,
        code="already_revoked",
        match="already revoked",
    )


def test_revoke_unknown_attestation(world: World, reject: Reject) -> None:
    reject(world.revoke_attestation("att-z"), NotFoundError, code="unknown_subject")


# -- defensive checks the ``after`` check normally pre-empts -----------------------------------


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("lot.dispatch", {"lot": "lot-z", "to": "trader-a", "mass_g": 1, "tags": []}),
        ("lot.receive", {"lot": "lot-z", "mass_g": 1}),
        ("lot.export", {"lot": "lot-z", "certificate": "C", "destination": "MY"}),
        (
            "lot.merge",
            {
                "inputs": ["lot-z", "lot-y"],
                "output": {"lot": "o", "mass_g": 1, "grade_ppm": 1, "tags": []},
            },
        ),
    ],
)
def test_handlers_refuse_unknown_lots(
    world: World, mlog: MemoryLog, kind: str, body: dict[str, Any]
) -> None:
    # ledger.rules checks ``after`` first, so an unknown lot is normally unknown_subject; the
    # handlers must still not act on a lot that does not exist if they are called another way.
    by = "exporter-a" if kind == "lot.export" else "trader-a"
    statement = world.sign(by, kind, body, after={}).envelope.statement
    ctx = Context(mlog.size, bytes(32), mlog.logged)
    with pytest.raises(NotFoundError, match="lot lot-z is not registered") as info:
        custody_rules.HANDLERS[kind].apply(mlog.state, statement, ctx)
    assert info.value.code == "unknown_lot"
    mlog.state.drop()
