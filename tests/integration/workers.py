"""Code that runs in child processes of the concurrency and crash tests (must be importable)."""

from __future__ import annotations

import os
from typing import Any

from ledgers import make_ledger

from ledger.db import make_engine


def append_each(url: str, submissions: list[Any], barrier: Any, outbox: Any) -> None:
    """Wait for the others, then append one statement per transaction; report the statuses."""
    ledger = make_ledger(make_engine(url))
    barrier.wait()
    outbox.put([ledger.append_batch([s])[0].status for s in submissions])


def race_loop(url: str, inbox: Any, outbox: Any, barrier: Any) -> None:
    """Append what arrives in ``inbox`` as soon as the rival is ready too; report the outcome."""
    ledger = make_ledger(make_engine(url))
    while (submission := inbox.get()) is not None:
        barrier.wait()
        result = ledger.append_batch([submission])[0]
        outbox.put((result.status, None if result.error is None else result.error.code))


def append_batches_until_killed(url: str, batches: list[list[Any]], acks: Any) -> None:
    """Append batch after batch; announce each start and acknowledge each commit."""
    ledger = make_ledger(make_engine(url))
    for number, batch in enumerate(batches):
        acks.send(("start", number))
        results = ledger.append_batch(batch)
        acks.send(("ack", [(r.status, r.seq) for r in results]))
    acks.send(("done", os.getpid()))
