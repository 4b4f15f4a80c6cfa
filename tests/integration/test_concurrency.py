"""Concurrent writers in separate processes: no fork, no gap, and no double spend."""

from __future__ import annotations

import multiprocessing

import workers
from factories import World
from sqlalchemy import select

from ledger import entries
from ledger.custody.audit import audit
from ledger.custody.log import ACCEPTED, Ledger
from ledger.custody.models import LogEntryRow

CTX = multiprocessing.get_context("spawn")
WRITERS, EACH, ROUNDS = 4, 25, 50


def test_four_processes_appending_leave_no_fork_and_no_gap(
    world: World, ledger: Ledger, db_url: str
) -> None:
    plans = []
    for p in range(WRITERS):
        coop = f"coop-p{p}"
        world.run(world.register_actor(coop, ("cooperative",)))
        world.run(world.register_site(f"site-p{p}", coop))
        plans.append(
            [world.register_lot(f"lot-p{p}-{i}", by=coop, site=f"site-p{p}") for i in range(EACH)]
        )
    base = ledger.size()
    barrier, outbox = CTX.Barrier(WRITERS), CTX.Queue()
    writers = [
        CTX.Process(target=workers.append_each, args=(db_url, plan, barrier, outbox))
        for plan in plans
    ]
    for writer in writers:
        writer.start()
    statuses = [outbox.get(timeout=120) for _ in writers]
    for writer in writers:
        writer.join(timeout=30)
    assert all(s == ACCEPTED for batch in statuses for s in batch)
    assert ledger.size() == base + WRITERS * EACH
    with ledger.engine.connect() as conn:
        rows = conn.execute(
            select(LogEntryRow.seq, LogEntryRow.data).order_by(LogEntryRow.seq)
        ).all()
    assert [r.seq for r in rows] == list(range(base + WRITERS * EACH))
    previous = None
    for row in rows:
        entry = entries.decode(bytes(row.data))
        assert entry.prev == previous, f"fork at entry {row.seq}"
        previous = entry.leaf_hash
    assert audit(ledger.engine, workers=2).clean
    ledger.check_startup()


def test_two_concurrent_dispatches_of_one_lot_exactly_one_wins(
    world: World, ledger: Ledger, db_url: str
) -> None:
    barrier = CTX.Barrier(2)
    inboxes, outbox = [CTX.Queue(), CTX.Queue()], CTX.Queue()
    racers = [
        CTX.Process(target=workers.race_loop, args=(db_url, q, outbox, barrier)) for q in inboxes
    ]
    for racer in racers:
        racer.start()
    outcomes = []
    try:
        for round_ in range(ROUNDS):
            lot = f"lot-race-{round_}"
            world.run(world.register_lot(lot))
            rivals = [world.dispatch(lot, by="coop-a", to=to) for to in ("trader-a", "trader-b")]
            for inbox, rival in zip(inboxes, rivals, strict=True):
                inbox.put(rival)
            outcomes.append(sorted([outbox.get(timeout=60), outbox.get(timeout=60)]))
    finally:
        for inbox in inboxes:
            inbox.put(None)
        for racer in racers:
            racer.join(timeout=30)
    winners = [sum(status == ACCEPTED for status, _ in pair) for pair in outcomes]
    assert winners == [1] * ROUNDS, outcomes
    losing_codes = {code for pair in outcomes for status, code in pair if status != ACCEPTED}
    assert losing_codes <= {"stale_after", "stale_counter"}
    assert audit(ledger.engine, workers=2).clean
