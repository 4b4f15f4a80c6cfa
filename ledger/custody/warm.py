"""Derived-state rows carried from one append transaction to the next.

After a commit at log size ``n`` the sequencer knows exactly which rows of derived state it read
and wrote, as they now stand in the database. Only the sequencer writes derived state, and every
write advances the log. So when the next transaction, holding the write lock, finds the log still
at size ``n``, nobody else has written in between and those rows are still exact: the registry
rows (keys, actors, sites) and the lots just touched need not be read again. If the size differs
(another process appended), the rows are dropped and read afresh. The rows are immutable domain
objects, so handing the same dict to the next transaction shares nothing mutable with the last.
"""

from __future__ import annotations

import threading
from typing import Any

MAX_ROWS = 100_000  # beyond this the rows are dropped and the cache starts again (memory bound)

Rows = dict[tuple[str, str], Any]


class WarmCache:
    """Hands the rows of the last committed transaction to the next, if the log has not moved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: tuple[int, Rows] | None = None

    def take(self, size: int) -> Rows | None:
        """The rows as of log size ``size``, or None; call only while holding the write lock.

        Taking empties the cache, so two transactions of one process never share the rows.
        """
        with self._lock:
            found, self._rows = self._rows, None
        if found is None or found[0] != size:
            return None
        return found[1]

    def give(self, size: int, rows: Rows) -> None:
        """Keep ``rows``, which are exact as of the committed log size ``size``."""
        if len(rows) > MAX_ROWS:
            return
        with self._lock:
            self._rows = (size, rows)

    def clear(self) -> None:
        with self._lock:
            self._rows = None
