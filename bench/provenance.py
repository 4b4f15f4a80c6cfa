"""Provenance figures: building a lot's proof bundle, verifying it, serving its public page.

Each cached ledger (small: 10k entries, large: 1M; ``--quick``: 2k and 10k) is copied to a
scratch file (SQLite's online backup; not timed), and a lot with a 20-entry provenance is
appended to the copy: two lots registered at two sites by two cooperatives, each sent to a
different trader and on to the same exporter, then blended by the exporter and exported. Its
bundle holds those 12 custody entries, genesis, the 5 actor registrations and the 2 site
registrations. Then, in the same process and alternating between the two ledgers:

- ``provenance.bundle``: :func:`ledger.custody.bundles.build_bundle` (the walk, the registry
  lookups, the proofs, the checkpoint). Target: < 20 ms at 1M and <= 1.5 x at 10k.
- ``provenance.verify-bundle``: :func:`ledger.bundle.verify` of the encoded bundle. Its raw
  limit is the Ed25519 verifications it must do (20 statements and the checkpoint), timed as
  raw ``cryptography`` calls in the same run; the target is < 10 ms beyond them.
- ``provenance.page``: ``GET /p/{lot}`` through the Flask test client on the large ledger,
  which builds and verifies the bundle and renders the page. Target: p95 < 50 ms; the raw
  figure is the p95 at 10k.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from bench.context import Context
from bench.ledgers import BENCH_DIR, open_ledger, remove_sqlite, sqlite_url
from bench.measure import Figure, median, size_name
from bench.workload import ORIGIN, now, operator, sealer, signer
from ledger.builder import Author
from ledger.bundle import encode, verify
from ledger.custody.bundles import build_bundle
from ledger.custody.log import Ledger
from ledger.db import make_engine
from ledger.registry.models import KeyRow

LOT = "BENCH-PROV-M"
BUNDLE_MS, GROWTH, BEYOND_MS, PAGE_P95_MS = 20.0, 1.5, 10.0, 50.0
ROUNDS, PAGE_ROUNDS = 200, 150
EXPECTED_ENTRIES = 20


def run(ctx: Context) -> list[Figure]:
    # --quick: its "small" ledger (1k) is mostly setup; its medium (2k) stands in for 10k
    small = ctx.scale.medium if ctx.scale.name == "quick" else ctx.scale.small
    large = ctx.scale.large
    scratch = {size: _scratch(ctx.ledgers[size], size) for size in (small, large)}
    engines = {size: make_engine(sqlite_url(path)) for size, path in scratch.items()}
    try:
        ledgers = {size: _prepare(engine) for size, engine in engines.items()}
        bundle_times = _time_bundles(ledgers)
        figures = _bundle_figures(bundle_times, small, large)
        figures.append(_verify_figure(ctx, ledgers[large], large))
        figures.append(_page_figure(engines, small, large))
    finally:
        for engine in engines.values():
            engine.dispose()
        for path in scratch.values():  # a copy of the 1M ledger is over a gigabyte
            remove_sqlite(path)
    return figures


def _scratch(source: Path, size: int) -> Path:
    """A fresh copy of a cached ledger, to append the provenance lot to."""
    target = BENCH_DIR / "scratch" / f"provenance-{size}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_sqlite(target)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target


def _prepare(engine: Engine) -> Ledger:
    """Append the 20-entry-provenance lot; return the ledger, with a checkpoint of it all."""
    ledger = open_ledger(engine)
    authors = _authors(engine, ["coop-000", "coop-001", "trader-00", "trader-01", "exporter-0"])
    heads: dict[str, bytes] = {}

    def post(actor: str, kind: str, body: dict[str, Any], after: tuple[str, ...] = ()) -> None:
        submission = authors[actor].sign(kind, body, time=now(), after={s: heads[s] for s in after})
        result = ledger.append(submission)
        if result.leaf_hash is None:
            raise RuntimeError(f"the provenance lot's {kind} was refused: {result.error}")
        for subject in (*after, *_created(kind, body)):
            heads[subject] = result.leaf_hash

    parts = [("BENCH-PROV-A", "coop-000", "site-000", "trader-00"),
             ("BENCH-PROV-B", "coop-001", "site-001", "trader-01")]  # fmt: skip
    for lot, coop, site, trader in parts:
        post(coop, "lot.register", {"lot": lot, "site": site, "mineral": "tin", "form": "ore",
             "mass_g": 80_000, "grade_ppm": 400_000, "tags": [f"T-{lot}"],
             "extracted": "2024-06-01"})  # fmt: skip
        for sender, receiver in ((coop, trader), (trader, "exporter-0")):
            body = {"lot": lot, "to": receiver, "mass_g": 80_000, "tags": [f"T-{lot}"]}
            post(sender, "lot.dispatch", body, (f"lot:{lot}",))
            post(receiver, "lot.receive", {"lot": lot, "mass_g": 80_000}, (f"lot:{lot}",))
    inputs = [part[0] for part in parts]
    output = {"lot": LOT, "mass_g": 160_000, "grade_ppm": 400_000, "tags": [f"T-{LOT}"]}
    post("exporter-0", "lot.merge", {"inputs": inputs, "output": output},
         tuple(f"lot:{lot}" for lot in inputs))  # fmt: skip
    post("exporter-0", "lot.export", {"lot": LOT, "certificate": "BENCH-1", "destination": "MY"},
         (f"lot:{LOT}",))  # fmt: skip
    ledger.latest_checkpoint()
    found = len(build_bundle(ledger, LOT).entries)
    if found != EXPECTED_ENTRIES:
        raise RuntimeError(f"the provenance lot's bundle holds {found} entries, not 20")
    return ledger


def _created(kind: str, body: dict[str, Any]) -> list[str]:
    if kind == "lot.register":
        return [f"lot:{body['lot']}"]
    if kind == "lot.merge":
        return [f"lot:{body['output']['lot']}"]
    return []


def _authors(engine: Engine, actors: list[str]) -> dict[str, Author]:
    authors = {}
    with engine.connect() as conn:
        for actor in actors:
            last_n = conn.execute(
                select(KeyRow.last_n).where(KeyRow.key_id == signer(actor).key_id)
            ).scalar_one()
            authors[actor] = Author(ORIGIN, actor, signer(actor), n=last_n)
    return authors


def _time_bundles(ledgers: dict[int, Ledger]) -> dict[int, list[float]]:
    for ledger in ledgers.values():
        for _ in range(10):
            build_bundle(ledger, LOT)
    times: dict[int, list[float]] = {size: [] for size in ledgers}
    for _ in range(ROUNDS // 10):
        for size, ledger in ledgers.items():
            for _ in range(10):
                start = time.perf_counter()
                build_bundle(ledger, LOT)
                times[size].append(time.perf_counter() - start)
    return times


def _bundle_figures(times: dict[int, list[float]], small: int, large: int) -> list[Figure]:
    at_small, at_large = median(times[small]) * 1e3, median(times[large]) * 1e3
    return [
        Figure(f"provenance.bundle.{size_name(small)}", at_small, "ms", samples=len(times[small])),
        Figure(
            f"provenance.bundle.{size_name(large)}",
            at_large,
            "ms",
            raw=at_small,
            raw_unit=f"ms at {small:,}",
            ratio=at_large / at_small,
            target=f"< {BUNDLE_MS:g} ms, <= {GROWTH:g} x",
            passed=at_large < BUNDLE_MS and at_large <= GROWTH * at_small,
            samples=len(times[large]),
            extra={"entries": EXPECTED_ENTRIES},
        ),
    ]


def _verify_figure(ctx: Context, ledger: Ledger, large: int) -> Figure:
    data, key = encode(build_bundle(ledger, LOT)), ledger.verifier_key()
    verdict = verify(data, key)
    if not verdict.ok or verdict.replay is None:
        raise RuntimeError(f"the benchmark bundle does not verify: {verdict.reasons}")
    signatures = verdict.replay.signatures + 1  # and the checkpoint's
    totals, raws = [], []
    for _ in range(ROUNDS // 10):
        raws.append(signatures / ctx.raw.rate(0.05) * 1e3)
        for _ in range(10):
            start = time.perf_counter()
            verify(data, key)
            totals.append((time.perf_counter() - start) * 1e3)
    total, ed25519 = median(totals), median(raws)
    beyond = total - ed25519
    return Figure(
        f"provenance.verify-bundle.{size_name(large)}",
        beyond,
        "ms beyond",
        raw=ed25519,
        raw_unit=f"ms: {signatures} raw Ed25519",
        ratio=total / ed25519,
        target=f"< {BEYOND_MS:g} ms beyond",
        passed=beyond < BEYOND_MS,
        samples=len(totals),
        extra={"total_ms": total, "signatures": signatures, "bundle_bytes": len(data)},
    )


def _page_figure(engines: dict[int, Engine], small: int, large: int) -> Figure:
    p95 = {size: _page_p95(engine) for size, engine in engines.items()}
    return Figure(
        f"provenance.page.p95.{size_name(large)}",
        p95[large],
        "ms",
        raw=p95[small],
        raw_unit=f"ms p95 at {small:,}",
        ratio=p95[large] / p95[small],
        target=f"p95 < {PAGE_P95_MS:g} ms",
        passed=p95[large] < PAGE_P95_MS,
        samples=PAGE_ROUNDS,
    )


def _page_p95(engine: Engine) -> float:
    from api import create_app, dispose  # the web stack, only for this figure

    app = create_app({"DATABASE_URL": engine.url.render_as_string(False), "TESTING": True,
                      "OPERATOR_SIGNER": operator(), "SEALER": sealer()})  # fmt: skip
    try:
        client = app.test_client()
        for _ in range(10):
            assert client.get(f"/p/{LOT}").status_code == 200
        times = []
        for _ in range(PAGE_ROUNDS):
            start = time.perf_counter()
            response = client.get(f"/p/{LOT}")
            times.append((time.perf_counter() - start) * 1e3)
            assert b"Verified against checkpoint" in response.data
    finally:
        dispose(app)
    return sorted(times)[int(0.95 * len(times))]
