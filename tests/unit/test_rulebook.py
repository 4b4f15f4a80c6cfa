"""``evolve``: the rules' fast ``dataclasses.replace`` must give the very same objects."""

from __future__ import annotations

import dataclasses

import pytest

from ledger.custody.types import HELD, IN_TRANSIT, Lot
from ledger.registry.types import Key
from ledger.rulebook import evolve

LOT = Lot(
    id="lot-1",
    mineral="tin",
    form="ore",
    mass_g=1_000,
    initial_mass_g=1_000,
    grade_ppm=500_000,
    custodian="coop-a",
    status=HELD,
    tags=("T-1",),
    origins=("site-a",),
    created_seq=3,
    updated_seq=3,
)


def test_evolve_equals_dataclasses_replace() -> None:
    changes = {"status": IN_TRANSIT, "addressee": "trader-a", "updated_seq": 9}
    evolved = evolve(LOT, **changes)
    assert evolved == dataclasses.replace(LOT, **changes)
    assert type(evolved) is Lot
    assert LOT.status == HELD  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):
        evolved.status = HELD  # type: ignore[misc]


def test_evolve_refuses_an_unknown_field() -> None:
    with pytest.raises(TypeError, match="no field"):
        evolve(LOT, stauts=HELD)


def test_evolve_keeps_hash_and_equality_of_keys() -> None:
    key = Key(key_id="ab" * 32, actor="coop-a", public_key=b"\x01" * 32, added_seq=1)
    assert evolve(key, last_n=5) == dataclasses.replace(key, last_n=5)
    assert hash(evolve(key, last_n=5)) == hash(dataclasses.replace(key, last_n=5))


def test_evolve_refuses_types_it_cannot_copy_safely() -> None:
    @dataclasses.dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    with pytest.raises(TypeError, match=r"use dataclasses\.replace"):
        evolve(Checked(1), value=-1)
