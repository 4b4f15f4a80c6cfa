"""Figure 5: ``Ledger.inclusion_proof`` at the large (1M) ledger against the small (10k) one.

Both cached ledgers are opened in this process; each is warmed with a few hundred proofs (each
checked against the stored root), then blocks of random leaf indexes (a fixed seed) are timed
call by call, alternating between the two ledgers block by block so that both see the same
machine, until each has the scale's number of samples or its time budget runs out. The figure is the
median time of one call at 1M; its raw limit is the median at 10k measured in the same run.

Targets: median < 2 ms at 1M, and <= 1.5 x the median at 10k.
"""

from __future__ import annotations

import random
import time

from bench.context import Context
from bench.ledgers import sqlite_url
from bench.measure import Figure, median, size_name
from ledger.custody.log import Ledger
from ledger.db import make_engine
from ledger.merkle import leaf_hash, verify_inclusion

LIMIT_MS = 2.0
GROWTH = 1.5
BLOCK = 100
WARMUP = 20


def run(ctx: Context) -> list[Figure]:
    small, large = ctx.scale.small, ctx.scale.large
    paths = ctx.ledgers
    engines = {size: make_engine(sqlite_url(paths[size])) for size in (small, large)}
    try:
        ledgers = {size: Ledger(engine) for size, engine in engines.items()}
        times = _sample(ledgers, ctx.scale.proof_samples, ctx.scale.proof_seconds)
    finally:
        for engine in engines.values():
            engine.dispose()
    at_small, at_large = median(times[small]) * 1e3, median(times[large]) * 1e3
    return [
        Figure(f"proof.inclusion.{size_name(small)}", at_small, "ms", samples=len(times[small])),
        Figure(
            f"proof.inclusion.{size_name(large)}",
            at_large,
            "ms",
            raw=at_small,
            raw_unit=f"ms at {small:,}",
            ratio=at_large / at_small,
            target=f"< {LIMIT_MS:g} ms, <= {GROWTH:g} x",
            passed=at_large < LIMIT_MS and at_large <= GROWTH * at_small,
            samples=len(times[large]),
            extra={"p90_ms": sorted(times[large])[int(0.9 * len(times[large]))] * 1e3},
        ),
    ]


def _sample(ledgers: dict[int, Ledger], samples: int, seconds: float) -> dict[int, list[float]]:
    """Per-call times, block by block in turn, until ``samples`` each or ``seconds`` are up."""
    rng = random.Random(2026)
    for size, ledger in ledgers.items():
        for _ in range(WARMUP):
            _check(ledger, rng.randrange(size), size)
    times: dict[int, list[float]] = {size: [] for size in ledgers}
    deadline = time.perf_counter() + seconds
    while min(map(len, times.values())) < samples and time.perf_counter() < deadline:
        for size, ledger in ledgers.items():
            for seq in [rng.randrange(size) for _ in range(BLOCK)]:
                start = time.perf_counter()
                ledger.inclusion_proof(seq)
                times[size].append(time.perf_counter() - start)
    return times


def _check(ledger: Ledger, seq: int, size: int) -> None:
    """A proof the benchmark times must be a proof: verify one against the stored root."""
    tree_size, proof = ledger.inclusion_proof(seq)
    leaf = leaf_hash(ledger.entry_bytes(seq))
    verify_inclusion(leaf, seq, tree_size, proof, ledger.root_at(size))
