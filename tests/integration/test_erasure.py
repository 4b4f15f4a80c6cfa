"""Erasing a miner's personal data: the values are gone, the log and its audit are untouched."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

import pytest
from factories import World
from ledgers import DATA_KEY
from sqlalchemy import Engine, text

from ledger.custody.audit import audit
from ledger.custody.disclosure_store import DisclosureReader, erase_miner
from ledger.custody.log import Ledger
from ledger.errors import NotFoundError
from ledger.registry.access import Caller
from ledger.sealing import Sealer

PERSON = {
    "name": "Furaha Mugisho",
    "national_id": "CD-1234-5678",
    "phone": "+243 990 000 111",
    "sex": "F",
    "birth_year": 1991,
}
WHEN = datetime(2026, 6, 1, 9, 30, 0, 123456, tzinfo=UTC)
AUDITOR = Caller("auditor-a", frozenset({"auditor"}))


def _dump(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


@pytest.fixture
def miner_seq(world: World, ledger: Ledger) -> int:
    world.run(world.register_miner("miner-9", "coop-a", "site-a", private=PERSON))
    seq = ledger.size() - 1
    world.run(world.register_lot("lot-1", private={"price": 1_000, "miners": ["miner-9"]}))
    return seq


@pytest.fixture
def reader(engine: Engine) -> Iterator[Callable[..., DisclosureReader]]:
    """Readers for a caller (default: an auditor), on connections closed after the test."""
    with ExitStack() as stack:

        def make(caller: Caller = AUDITOR) -> DisclosureReader:
            conn = stack.enter_context(engine.connect())
            return DisclosureReader(conn, Sealer(DATA_KEY), caller)

        yield make


def test_erasure_drops_the_values_and_keeps_the_digests(
    miner_seq: int, engine: Engine, reader: Callable[..., DisclosureReader]
) -> None:
    before = reader().of_miner("miner-9")
    assert {r.name: r.disclosure.value for r in before.disclosures if r.disclosure} == PERSON
    log = _dump(engine, "SELECT seq, data FROM log_entries ORDER BY seq")
    erasure = erase_miner(engine, "miner-9", now=WHEN)
    assert (erasure.miner, erasure.seq, erasure.time) == ("miner-9", miner_seq,
                                                          "2026-06-01T09:30:00Z")  # fmt: skip
    assert sorted(erasure.erased) == sorted(r.digest for r in before.disclosures)
    rows = _dump(
        engine, f"SELECT digest, ciphertext, erased FROM disclosures WHERE seq = {miner_seq}"
    )
    assert sorted(row[0] for row in rows) == sorted(erasure.erased)
    assert all(row[1] is None and row[2] == erasure.time for row in rows)
    others = _dump(engine, f"SELECT ciphertext FROM disclosures WHERE seq != {miner_seq}")
    assert others and all(row[0] is not None for row in others)  # the lot's price is kept
    assert _dump(engine, "SELECT seq, data FROM log_entries ORDER BY seq") == log
    after = reader().of_miner("miner-9")
    assert [(r.digest, r.name) for r in after.disclosures] == [
        (r.digest, r.name) for r in before.disclosures
    ]
    assert all(r.disclosure is None and r.erased == erasure.time for r in after.disclosures)
    assert audit(engine, workers=1).clean


def test_erasure_is_idempotent(miner_seq: int, engine: Engine) -> None:
    first = erase_miner(engine, "miner-9", now=WHEN)
    again = erase_miner(engine, "miner-9")
    assert len(first.erased) == len(PERSON) and again.erased == []
    rows = _dump(engine, f"SELECT DISTINCT erased FROM disclosures WHERE seq = {miner_seq}")
    assert rows == [(first.time,)]  # the first erasure's time stands


def test_a_miner_without_personal_data_has_nothing_to_erase(world: World, engine: Engine) -> None:
    assert erase_miner(engine, "miner-1").erased == []


@pytest.mark.parametrize("miner", ["ghost", "", "a b", "x" * 65])
def test_an_unknown_miner_is_not_found(world: World, engine: Engine, miner: str) -> None:
    with pytest.raises(NotFoundError) as caught:
        erase_miner(engine, miner)
    assert caught.value.code == "unknown_miner"


def test_readers_see_erased_fields_as_erased(
    miner_seq: int, engine: Engine, reader: Callable[..., DisclosureReader]
) -> None:
    erase_miner(engine, "miner-9", now=WHEN)
    coop = reader(Caller("coop-a", frozenset({"cooperative"})))
    entry = coop.of_entry(miner_seq)
    assert len(entry.disclosures) == len(PERSON) and entry.withheld == 0
    revealed, _ = coop.one(miner_seq, entry.disclosures[0].digest)
    assert revealed.disclosure is None and revealed.erased == "2026-06-01T09:30:00Z"
