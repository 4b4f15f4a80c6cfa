"""Run one ``ledger audit`` (``audit(engine, workers=2)``) and print what it cost, as JSON.

Started by :mod:`bench.audit` in a subprocess of its own, so that its memory high-water marks are
the audit's alone: ``ru_maxrss`` of this process (RUSAGE_SELF), in KiB. RUSAGE_CHILDREN is
recorded too but stays 0: the verification workers are children of the multiprocessing
forkserver, which reaps them, not of this process. That is why the parent samples the resident
set of the whole process tree; its peak is the memory figure.

Usage: ``python -m bench.audit_child SQLALCHEMY_URL SCRATCH_DIR``
"""

from __future__ import annotations

import json
import resource
import sys
import time

from ledger.custody.audit import audit
from ledger.db import make_engine
from ledger.runtime import tune_gc

WINDOW = 16  # chunks of 1024 entries per rate window


def main(url: str, scratch: str) -> None:
    tune_gc()  # as the `ledger` command does
    engine = make_engine(url)
    marks: list[tuple[float, int]] = []
    start = time.perf_counter()
    report = audit(
        engine,
        workers=2,
        progress=lambda n: marks.append((time.perf_counter(), n)),
        scratch_dir=scratch,
    )
    seconds = time.perf_counter() - start
    engine.dispose()
    result = {
        "size": report.size,
        "clean": report.clean,
        "divergence": None if report.clean else str(report.divergence),
        "seconds": seconds,
        "window_rates": _window_rates(start, marks),
        "maxrss_self_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "maxrss_children_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }
    print(json.dumps(result))


def _window_rates(start: float, marks: list[tuple[float, int]]) -> list[float]:
    """Entries per second over consecutive windows of WINDOW chunks (the replay phase only)."""
    rates, last, count = [], start, 0
    for i, (moment, entries) in enumerate(marks, 1):
        count += entries
        if i % WINDOW == 0:
            rates.append(count / (moment - last))
            last, count = moment, 0
    return rates


if __name__ == "__main__":
    main(*sys.argv[1:3])
