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

    A caller that finds nobody appending becomes the leader: it appends everything queued (up to
    :data:`MAX_ROUND` at a time, in arrival order) with one ``append_batch`` per round and hands
    each caller its result as soon as its round has committed. Once its own statement is done the
    leader steps down and returns, and a caller still waiting takes over, so nobody's answer waits
    for rounds that came after its own. One caller alone simply appends its own statement.
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._cond = threading.Condition()
        self._queue: list[tuple[Submission, Future[Result]]] = []
        self._leading = False

    def append(self, submission: Submission) -> Result:
        future: Future[Result] = Future()
        with self._cond:
            self._queue.append((submission, future))
            while not future.done() and self._leading:
                self._cond.wait()
            if future.done():
                return future.result()
            self._leading = True
        try:
            self._lead(future)
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()  # a caller still queued takes over
        return future.result()

    def _lead(self, own: Future[Result]) -> None:
        while not own.done():
            with self._cond:
                batch, self._queue = self._queue[:MAX_ROUND], self._queue[MAX_ROUND:]
            try:
                results = self._ledger.append_batch([submission for submission, _ in batch])
            except Exception as exc:  # a database failure: every caller of the round sees it
                self._settle(batch, exc=exc)
                continue
            except BaseException as exc:  # interrupted: nobody may be left waiting
                self._abandon(batch, exc)
                raise
            self._settle(batch, results=results)

    def _settle(
        self,
        batch: list[tuple[Submission, Future[Result]]],
        *,
        results: list[Result] | None = None,
        exc: Exception | None = None,
    ) -> None:
        for index, (_, future) in enumerate(batch):
            if results is not None:
                future.set_result(results[index])
            else:
                assert exc is not None
                future.set_exception(exc)
        with self._cond:
            self._cond.notify_all()  # the round's callers return

    def _abandon(self, batch: list[tuple[Submission, Future[Result]]], exc: BaseException) -> None:
        with self._cond:
            waiting, self._queue = batch + self._queue, []
            self._cond.notify_all()
        for _, future in waiting:
            future.set_exception(exc)
