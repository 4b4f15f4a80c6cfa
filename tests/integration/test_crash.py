"""A writer killed with SIGKILL mid-batch leaves a ledger that audits clean and keeps every
statement it acknowledged."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from typing import Any

import workers
from factories import World
from sqlalchemy import select

from ledger.custody.audit import audit
from ledger.custody.log import ACCEPTED, Ledger
from ledger.custody.models import LogEntryRow

CTX = multiprocessing.get_context("spawn")
BATCH, BATCHES = 100, 30


def _kill_mid_batch(db_url: str, batches: list, rng: random.Random) -> list[int]:
    """Run the writer, kill it a little after a batch starts; the acknowledged seqs."""
    parent, child = CTX.Pipe()
    writer = CTX.Process(target=workers.append_batches_until_killed, args=(db_url, batches, child))
    writer.start()
    child.close()  # so that a writer that dies makes recv() fail instead of waiting forever
    acked: list[int] = []
    starts, kill_after = 0, rng.randint(2, 5)
    while True:
        kind, payload = _receive(parent, writer)
        if kind == "ack":
            assert all(status == ACCEPTED for status, _ in payload)
            acked.extend(seq for _, seq in payload)
        elif kind == "start":
            starts += 1
            if starts > kill_after:
                time.sleep(rng.uniform(0.0, 0.04))  # a batch takes tens of milliseconds
                os.kill(writer.pid, signal.SIGKILL)
                break
        else:
            raise AssertionError("the writer finished before it could be killed")
    writer.join()
    while parent.poll():  # an acknowledgement sent just before the kill still counts
        try:
            kind, payload = parent.recv()
        except EOFError:
            break
        if kind == "ack":
            acked.extend(seq for _, seq in payload)
    assert writer.exitcode == -signal.SIGKILL
    return acked


def _receive(parent: Any, writer: Any) -> tuple[str, Any]:
    if not parent.poll(120):
        writer.kill()
        raise AssertionError("the writer sent nothing for two minutes")
    try:
        return parent.recv()  # type: ignore[no-any-return]
    except EOFError as exc:
        writer.join()
        raise AssertionError(f"the writer died on its own (exit code {writer.exitcode})") from exc


def test_sigkill_mid_batch_loses_nothing_acknowledged(
    world: World, ledger: Ledger, db_url: str
) -> None:
    rng = random.Random(20261122)
    for attempt in range(2):
        # Small lots, so that the site's monthly capacity is never what stops the writer.
        lots = [
            world.register_lot(f"lot-{attempt}-{i}", mass_g=500) for i in range(BATCH * BATCHES)
        ]
        batches = [lots[i : i + BATCH] for i in range(0, len(lots), BATCH)]
        acked = _kill_mid_batch(db_url, batches, rng)
        assert acked, "the writer acknowledged nothing before it was killed"
        report = audit(ledger.engine, workers=2)
        assert report.clean, report.divergence
        with ledger.engine.connect() as conn:
            stored = set(conn.execute(select(LogEntryRow.seq)).scalars())
        assert set(acked) <= stored
        size = ledger.size()
        assert size % BATCH == 14 % BATCH  # whole batches only: populate wrote 14 entries
        ledger.check_startup()
