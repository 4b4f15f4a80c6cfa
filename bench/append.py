"""Appending: batches of 1000 (figure 2) and one statement per call (figure 3).

Both start from a fresh ledger with the benchmark registry and a warm-up that fills the lot
pipeline, so every timed wave is the steady mix of register, dispatch and receive (see
:mod:`bench.workload`). Each wave is signed *before* its clock starts; only ``append_batch`` or
the ``append`` calls are timed.

- ``append-batch``: SQLite (``synchronous=FULL``); each timed batch is paired with a window of
  raw single-core Ed25519 verification just before it. Target: >= 0.6 x raw.
- ``append-single``: one ``Ledger.append`` per statement, sequentially, in one process, on SQLite
  and on PostgreSQL. Three variants take turns on the same database so that they share the
  machine's mood: as shipped; without checkpoint signing (``operator=None``); and without waiting
  for the disk (SQLite ``synchronous=OFF``, PostgreSQL ``synchronous_commit=off``). The raw limit
  is durable one-row commits per second on the same server. Target (SQLite, as shipped):
  >= 2,000 statements/s. A fourth variant, ``.concurrent``, has :data:`CALLERS` threads call
  ``Ledger.append`` at once (each thread the statements of its own keys, in order), which is
  what group commit is for; it is reported beside the sequential figure, not instead of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import ExitStack

from sqlalchemy import Engine

from bench.context import Context
from bench.ledgers import (
    BENCH_DIR,
    fresh_sqlite,
    open_ledger,
    populated,
    postgres_database,
    postgres_problem,
    remove_sqlite,
    without_fsync,
)
from bench.measure import Figure, RawPostgresCommit, RawSqliteCommit, ratio_figure
from bench.workload import Workload
from ledger.custody.log import MAX_BATCH, Ledger, Result
from ledger.db import make_engine

SINGLE_TARGET = 2_000.0
BATCH_TARGET = 0.6
CALLERS = 16


def batch(ctx: Context) -> list[Figure]:
    path = BENCH_DIR / "append-batch.db"
    engine = fresh_sqlite(path)
    try:
        ledger, workload = open_ledger(engine), Workload(pool=ctx.pool)
        populated(ledger, workload)
        rates, raws = [], []
        for _ in range(ctx.scale.batch_waves):
            wave = workload.wave(MAX_BATCH)
            raws.append(ctx.raw.rate(0.25))
            start = time.perf_counter()
            results = ledger.append_batch(wave)
            rates.append(len(wave) / (time.perf_counter() - start))
            workload.accept(results)
    finally:
        engine.dispose()
        remove_sqlite(path)
    figure = ratio_figure(
        "append.batch.sqlite",
        rates,
        raws,
        unit="statements/s",
        raw_unit="verify/s",
        minimum=BATCH_TARGET,
    )
    return [figure]


def single(ctx: Context) -> list[Figure]:
    figures = _single_sqlite(ctx)
    problem = postgres_problem()
    if problem is None:
        figures += _single_postgres(ctx)
    else:
        print(f"  PostgreSQL skipped: {problem}")
    return figures


def _single_sqlite(ctx: Context) -> list[Figure]:
    path, raw_path = BENCH_DIR / "append-single.db", BENCH_DIR / "raw-commit.db"
    with ExitStack() as stack:
        engine = fresh_sqlite(path)
        stack.callback(remove_sqlite, path)
        stack.callback(engine.dispose)
        relaxed = without_fsync(make_engine(engine.url.render_as_string(False)))
        stack.callback(relaxed.dispose)
        raw = RawSqliteCommit(raw_path)
        stack.callback(remove_sqlite, raw_path)
        stack.callback(raw.close)
        return _single_variants(ctx, "sqlite", engine, relaxed, raw.rate)


def _single_postgres(ctx: Context) -> list[Figure]:
    with ExitStack() as stack:
        url = stack.enter_context(postgres_database("single"))
        engine = make_engine(url)
        stack.callback(engine.dispose)
        relaxed = without_fsync(make_engine(url))
        stack.callback(relaxed.dispose)
        raw = RawPostgresCommit(engine)
        stack.callback(raw.close)
        return _single_variants(ctx, "postgresql", engine, relaxed, raw.rate)


def _single_variants(
    ctx: Context, where: str, engine: Engine, relaxed: Engine, raw_commit: Callable[[], float]
) -> list[Figure]:
    variants = {
        "": open_ledger(engine),
        ".no-checkpoint": open_ledger(engine, checkpoints=False),
        ".no-fsync": open_ledger(relaxed),
    }
    workload = Workload(pool=ctx.pool)
    populated(variants[""], workload, wave=ctx.scale.single_chunk)
    variants[".concurrent"] = variants[""]
    rates: dict[str, list[float]] = {name: [] for name in variants}
    raws: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(ctx.scale.single_rounds):
        for name, ledger in variants.items():
            raws[name].append(raw_commit())
            chunk = _concurrent_chunk if name == ".concurrent" else _single_chunk
            rates[name].append(chunk(ledger, workload, ctx.scale.single_chunk))
    figures = []
    for name in variants:
        figure = ratio_figure(
            f"append.single.{where}{name}",
            rates[name],
            raws[name],
            unit="statements/s",
            raw_unit="commit/s",
        )
        if where == "sqlite" and not name:
            figure.target = f">= {SINGLE_TARGET:,.0f}/s"
            figure.passed = figure.value >= SINGLE_TARGET
        figures.append(figure)
    return figures


def _single_chunk(ledger: Ledger, workload: Workload, size: int) -> float:
    """Append one signed wave statement by statement; statements per second of append time."""
    wave = workload.wave(size)
    results, elapsed = [], 0.0
    for submission in wave:
        start = time.perf_counter()
        results.append(ledger.append(submission))
        elapsed += time.perf_counter() - start
    workload.accept(results)
    return len(wave) / elapsed


def _concurrent_chunk(ledger: Ledger, workload: Workload, size: int) -> float:
    """Append one signed wave from :data:`CALLERS` threads at once; statements per second.

    A key's statements stay in one thread, in order (their counters must arrive in order); a
    wave never touches a lot twice, so the threads are otherwise independent.
    """
    wave = workload.wave(size)
    by_key: dict[str, list[int]] = {}
    for index, submission in enumerate(wave):
        by_key.setdefault(submission.envelope.statement.key, []).append(index)
    shares: list[list[int]] = [[] for _ in range(CALLERS)]
    for number, indexes in enumerate(by_key.values()):
        shares[number % CALLERS].extend(indexes)
    results: list[Result | None] = [None] * len(wave)
    barrier = threading.Barrier(CALLERS + 1)

    def call(share: list[int]) -> None:
        barrier.wait()
        for index in share:
            results[index] = ledger.append(wave[index])

    threads = [threading.Thread(target=call, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    workload.accept([r for r in results if r is not None])
    return len(wave) / elapsed


__all__ = ["batch", "single"]
