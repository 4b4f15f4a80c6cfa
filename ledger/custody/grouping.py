"""Group commit for the sequencer: concurrent single appends in one process share a transaction."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ledger.statements import Submission

if TYPE_CHECKING:
    from ledger.custody.log import Ledger, Result
    from ledger.custody.verifying import Vouch

MAX_ROUND = 1000  # statements per transaction (the sequencer's batch limit)


@dataclass(eq=False)
class _Call:
    """One caller's statement, its answer, and the one event that wakes that caller."""

    submission: Submission
    vouch: Vouch | None
    future: Future[Result] = field(default_factory=Future)
    wake: threading.Event = field(default_factory=threading.Event)
    leads: bool = False


class GroupCommit:
    """Leader/follower group commit: no background thread.

    A caller that finds nobody appending becomes the leader: it appends everything queued (up to
    :data:`MAX_ROUND` at a time, in arrival order) with one ``append_batch`` per round and hands
    each caller its result as soon as its round has committed. Once its own statement is done the
    leader steps down and returns, handing the lead to the first caller still queued, so nobody's
    answer waits for rounds that came after its own. One caller alone simply appends its own
    statement. Each caller sleeps on its own event: a round wakes exactly its own callers, and a
    hand-over exactly the next leader (a shared condition would wake every waiting thread each
    time, and they would all fight for the GIL only to sleep again).
    """

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._lock = threading.Lock()
        self._queue: list[_Call] = []
        self._leading = False

    def append(self, submission: Submission, vouch: Vouch | None = None) -> Result:
        """Append ``submission`` (with the ledger's :class:`Vouch` for its signature, if any)."""
        call = _Call(submission, vouch)
        with self._lock:
            self._queue.append(call)
            if not self._leading:
                self._leading = call.leads = True
        if not call.leads:
            call.wake.wait()  # answered, or handed the lead
            if not call.leads:
                return call.future.result()
        try:
            self._lead(call)
        finally:
            self._hand_over()
        return call.future.result()

    def _hand_over(self) -> None:
        with self._lock:
            following = self._queue[0] if self._queue else None
            if following is None:
                self._leading = False
            else:
                following.leads = True
        if following is not None:
            following.wake.set()

    def _lead(self, own: _Call) -> None:
        while not own.future.done():
            with self._lock:
                batch, self._queue = self._queue[:MAX_ROUND], self._queue[MAX_ROUND:]
            try:
                vouched = {i: c.vouch for i, c in enumerate(batch) if c.vouch is not None}
                results = self._ledger.append_round([call.submission for call in batch], vouched)
            except Exception as exc:  # a database failure: every caller of the round sees it
                self._settle(batch, exc=exc)
                continue
            except BaseException as exc:  # interrupted: nobody may be left waiting
                self._abandon(batch, exc)
                raise
            self._settle(batch, results=results)

    @staticmethod
    def _settle(
        batch: list[_Call], *, results: list[Result] | None = None, exc: Exception | None = None
    ) -> None:
        for index, call in enumerate(batch):
            if results is not None:
                call.future.set_result(results[index])
            else:
                assert exc is not None
                call.future.set_exception(exc)
            call.wake.set()  # the round's callers return

    def _abandon(self, batch: list[_Call], exc: BaseException) -> None:
        with self._lock:
            waiting, self._queue = batch + self._queue, []
        for call in waiting:
            call.future.set_exception(exc)
            call.wake.set()
