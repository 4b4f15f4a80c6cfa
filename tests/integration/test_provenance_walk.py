"""A lot's history is walked through ``entry_links`` (derived rows that locate each signed
``after`` link by seq). Every step must still be the entry the statement signed: a link moved to
another entry, even one the walk has reached already, stops the walk instead of cutting the
history short."""

from __future__ import annotations

import pytest
from factories import World
from sqlalchemy import Engine, text

from ledger.custody.log import Ledger
from ledger.custody.provenance import lot_head_entry, lot_provenance
from ledger.errors import IntegrityError


def _merge_links(engine: Engine) -> tuple[int, dict[str, int]]:
    with engine.connect() as conn:
        _, merge_seq = lot_head_entry(conn, "lot-m")
        rows = conn.execute(
            text("SELECT subject, after_entry FROM entry_links WHERE seq = :s"), {"s": merge_seq}
        )
        return merge_seq, {subject: int(after) for subject, after in rows}


def _history(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [(e.seq, e.statement.type) for e in lot_provenance(conn, "lot-m")]


def test_a_merged_lot_s_history_reaches_every_input(world: World, ledger: Ledger) -> None:
    world.split_and_merge()
    history = _history(ledger.engine)
    assert [kind for _, kind in history] == [
        "lot.register", "lot.register",
        "lot.dispatch", "lot.receive", "lot.dispatch", "lot.receive",
        "lot.split", "lot.merge",
    ]  # fmt: skip
    seqs = [seq for seq, _ in history]
    assert seqs == sorted(set(seqs))
    merge_seq, links = _merge_links(ledger.engine)
    assert set(links) == {"lot:lot-1a", "lot:lot-2"}
    assert seqs[-1] == merge_seq and links["lot:lot-1a"] == seqs[-2]


@pytest.mark.parametrize(
    "redirect",
    ["itself", "the other input's entry", "genesis"],
)
def test_a_redirected_link_stops_the_walk(world: World, ledger: Ledger, redirect: str) -> None:
    world.split_and_merge()
    merge_seq, links = _merge_links(ledger.engine)
    subject, target = {
        "itself": ("lot:lot-1a", merge_seq),  # reached already: the walk started there
        "the other input's entry": ("lot:lot-2", links["lot:lot-1a"]),  # same generation
        "genesis": ("lot:lot-2", 0),  # not reached: read and checked against its hash
    }[redirect]
    with ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE entry_links SET after_entry = :t WHERE seq = :s AND subject = :j"),
            {"t": target, "s": merge_seq, "j": subject},
        )
    with pytest.raises(IntegrityError, match="ledger audit"):
        _history(ledger.engine)
