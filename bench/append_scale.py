"""Appending at scale (issue 5): batched appends to the 1M-entry ledger against the 10k one.

Both start from copies of the cached ledgers (:mod:`bench.build`) and continue the very
workload that built them (its state is saved beside each snapshot), after an untimed set-up that
brings the due-diligence rules into play: an inspector and an auditor are registered, one site is
inspected (yellow) and an open incident is reported about another, so every lot registered there
from then on is tainted and flagged, beside the mass-discrepancy flag on every 50th lot and the
transit watch every statement runs. Timed waves of 1000 alternate between the two ledgers, each
paired with a window of raw single-core Ed25519 verification just before it, so that both sizes
share the machine's mood; the figure is the larger of two ratios of the sizes' times per
statement relative to raw: the median of the wave pairs, and the ratio of the total times (which
keeps the waves that pay for a WAL checkpoint).
Target: appending at 1M stays within 1.2 x the time at 10k (the rules read a bounded number of
rows, never the log).
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

from sqlalchemy import Engine

from bench.build import workload_path
from bench.context import Context
from bench.ledgers import BENCH_DIR, open_ledger, remove_sqlite
from bench.measure import Figure, ratio_figure, size_name
from bench.workload import Workload, actor_body
from ledger.custody.log import MAX_BATCH, Ledger
from ledger.db import make_engine

GROWTH = 1.2
WARM_WAVES = 2


def run(ctx: Context) -> list[Figure]:
    small, large = ctx.scale.small, ctx.scale.large
    opened: dict[int, tuple[Engine, Ledger, Workload, Path]] = {}
    rates: dict[int, list[float]] = {small: [], large: []}
    raws: dict[int, list[float]] = {small: [], large: []}
    try:
        for size in (small, large):
            opened[size] = _open_copy(ctx, size)
        for wave_number in range(WARM_WAVES + ctx.scale.batch_waves):
            for size in (small, large):
                _engine, ledger, workload, _path = opened[size]
                wave = workload.wave(MAX_BATCH)
                raw = ctx.raw.rate(0.25)
                start = time.perf_counter()
                results = ledger.append_batch(wave)
                rate = len(wave) / (time.perf_counter() - start)
                workload.accept(results)
                if wave_number >= WARM_WAVES:
                    rates[size].append(rate)
                    raws[size].append(raw)
        flags = {size: _flags_raised(opened[size][0]) for size in (small, large)}
    finally:
        for engine, _ledger, _workload, path in opened.values():
            engine.dispose()
            remove_sqlite(path)
    at = {
        size: ratio_figure(
            f"append.scale.{size_name(size)}",
            rates[size],
            raws[size],
            unit="statements/s",
            raw_unit="verify/s",
            extra={"flags_raised": flags[size]},
        )
        for size in (small, large)
    }
    slowdown = median(
        (r_small / v_small) / (r_large / v_large)
        for r_small, v_small, r_large, v_large in zip(
            rates[small], raws[small], rates[large], raws[large], strict=True
        )
    )

    # The median of pairs leaves out the few waves that pay for a WAL checkpoint; the ratio of
    # the total times (each wave's time scaled by its raw window) keeps them. Both must hold.
    def total(size: int) -> float:
        return sum(raw / rate for rate, raw in zip(rates[size], raws[size], strict=True))

    overall = total(large) / total(small)
    worst = max(slowdown, overall)
    growth = Figure(
        f"append.scale.{size_name(large)}-vs-{size_name(small)}",
        worst,
        "x time/stmt",
        raw=at[small].value,
        raw_unit=f"stmt/s at {size_name(small)}",
        ratio=worst,
        target=f"<= {GROWTH:g} x",
        passed=worst <= GROWTH,
        samples=len(rates[large]),
        extra={"flags": flags, "median_of_pairs": slowdown, "ratio_of_totals": overall},
    )
    return [at[small], at[large], growth]


def _open_copy(ctx: Context, size: int) -> tuple[Engine, Ledger, Workload, Path]:
    """A writable copy of the cached ledger of ``size``, its workload, and the set-up appended."""
    cached = ctx.ledgers[size]
    path = BENCH_DIR / f"append-scale-{size}.db"
    remove_sqlite(path)
    shutil.copyfile(cached, path)
    engine = make_engine(f"sqlite:///{path}")  # synchronous=FULL, as shipped
    ledger = open_ledger(engine)
    workload = Workload.from_json(json.loads(workload_path(cached).read_text()), ctx.pool)
    for batch in _due_diligence(workload):
        workload_results = ledger.append_batch(batch)
        refused = [r.error for r in workload_results if r.status != "accepted"]
        if refused:
            raise RuntimeError(f"the ledger refused the set-up: {refused[0]}")
    return engine, ledger, workload, path


def _due_diligence(workload: Workload) -> list[list]:  # type: ignore[type-arg]
    today = datetime.now(UTC).date()
    until = (today + timedelta(days=365)).isoformat()
    register = [
        workload.sign_one("registrar", "actor.register", actor_body(actor, role))
        for actor, role in (("inspector-0", "inspector"), ("auditor-0", "auditor"))
    ]
    inspection = {
        "id": "bench-inspection-001",
        "claim": "site.inspection",
        "subject": {"kind": "site", "id": "site-001"},
        "result": "yellow",
        "valid_from": today.isoformat(),
        "valid_until": until,
        "evidence": [],
        "vocabulary": 1,
        "fields": {"inspector": "B. Inspector", "agency": "CEEC", "date": today.isoformat()},
    }
    incident = {
        "id": "bench-incident-002",
        "category": "serious_abuses",
        "severity": "high",
        "subject": {"kind": "site", "id": "site-002"},
        "observed": today.isoformat(),
    }
    return [
        register,
        [
            workload.sign_one("inspector-0", "attestation", inspection),
            workload.sign_one("auditor-0", "incident", incident),
        ],
    ]


def _flags_raised(engine: Engine) -> dict[str, int]:
    """Flags by code raised since the set-up (shows the rules did fire at both sizes)."""
    with engine.connect() as conn:
        start = conn.exec_driver_sql(
            "SELECT seq FROM log_entries WHERE type = 'incident' ORDER BY seq DESC LIMIT 1"
        ).scalar_one()
        rows = conn.exec_driver_sql(
            "SELECT code, count(*) FROM flags WHERE seq > ? GROUP BY code ORDER BY code", (start,)
        ).all()
    return {code: int(count) for code, count in rows}
