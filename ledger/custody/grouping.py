"""Group commit for the sequencer: concurrent single appends in one process share a transaction."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING

from ledger.statements import Submission

if TYPE_CHECKING:
    from ledger.custody.log import Ledger, Result

MAX_ROUND = 1000  # statements per transaction (the sequencer's batch limit)


class GroupCommit:
    """Leader/follower group commit: no background thread.

    The first caller to find nobody appending becomes the leader: it appends everything queued
    (up to :data:`MAX_ROUND` at a time, in arrival order) with one ``append_batch`` per round,
    hands each caller its result, and stops when the queue is empty. The others wait for their
    result. One caller alone simply appends its own statement.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self._queue: list[tuple[Submission, Future[Result]]] = []
        self._leading = False

    def append(self, submission: Submission) -> Result:
        future: Future[Result] = Future()
        with self._lock:
            self._queue.append((submission, future))
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        return future.result()

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue[:MAX_ROUND], self._queue[MAX_ROUND:]
                if not batch:
                    self._leading = False
                    return
            try:
                results = self._ledger.append_batch([submission for submission, _ in batch])
            except Exception as exc:  # a database failure: every caller of the round sees it
                for _, future in batch:
                    future.set_exception(exc)
                continue
            except BaseException as exc:  # interrupted: nobody may be left waiting
                self._abandon(batch, exc)
                raise
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)

    def _abandon(self, batch: list[tuple[Submission, Future[Result]]], exc: BaseException) -> None:
        with self._lock:
            waiting, self._queue, self._leading = batch + self._queue, [], False
        for _, future in waiting:
            future.set_exception(exc)
