"""Process-wide settings for the processes that run the ledger: the CLI, server workers, audits.

Only the entry points call these (``ledger.cli.main``, each ``ledger serve`` worker, the audit's
benchmark child); the library itself never changes global interpreter state.
"""

from __future__ import annotations

import gc

GEN0_THRESHOLD = 50_000
_tuned = False


def tune_gc() -> None:
    """Collect garbage less often, and never rescan what start-up allocated.

    Appending or auditing a statement allocates a few hundred short-lived objects (parsed JSON,
    rows, domain objects) and almost no reference cycles, so CPython's default (a collection
    every 700 net allocations) runs the collector every few statements: measured here, a quarter
    of an HTTP batch submission's time. Freezing moves the objects alive now (modules, the app,
    caches) out of the collector's sight for good. Only the first call in a process does anything
    (a CLI command run in-process, as the tests do, must not freeze again and again).
    """
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()  # what is garbage now is collected, not frozen
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, 20, 20)
