"""The big benchmark ledgers (10k, 100k, 1M entries), built once and cached under var/bench/.

A cached ledger is the SQLite file ``var/bench/ledger-<entries>-<version>.db``. ``version`` hashes
the code that decides what a ledger holds: the ``ledger`` modules the builder imports (found by
importing it in a fresh interpreter: the sequencer, rules, formats and schema, but not the audit,
provenance, CLI or API, so that working on those does not cost a rebuild), ``migrations/``, the
workload generator and the builder. Change any of them and the next run builds afresh; stale
files of the same size are removed first.

Building is not measured, so it takes every shortcut that leaves the result unchanged: statements
signed in a process pool, batches of 1000, and ``synchronous=OFF``. One pass snapshots each size
asked for on its way to the largest (SQLite's online backup into a ``.partial`` file, renamed into
place), so the smaller ledgers are prefixes of the larger ones and an interrupted build never
leaves a file that looks finished.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine

from bench.ledgers import (
    BENCH_DIR,
    CODE,
    append_waves,
    fresh_sqlite,
    open_ledger,
    remove_sqlite,
    without_fsync,
)
from bench.workload import SETUP_ENTRIES, Workload

VERSIONED_FILES = ("bench/workload.py", "bench/build.py", "bench/ledgers.py")
PROGRESS_EVERY = 100_000
# The modules that decide what a built ledger holds: those the builder imports (the sequencer,
# the rules, the formats, the schema), found by importing the builder's own entry point in a
# fresh interpreter. Modules that only read a ledger (audit, provenance, CLI, API) are not among
# them, so working on those does not cost a rebuild.
_IMPORTS = (
    "import sys, bench.ledgers, bench.workload; "
    "print('\\n'.join(sorted(m.__file__ for n, m in list(sys.modules.items()) "
    "if n.split('.')[0] in ('ledger', 'migrations') and getattr(m, '__file__', None))))"
)


def code_version() -> str:
    """A short hash of everything that decides a cached ledger's contents."""
    found = subprocess.run(
        [sys.executable, "-c", _IMPORTS], cwd=CODE, capture_output=True, text=True, check=True
    ).stdout.split()
    modules = [Path(name).resolve() for name in found]
    migrations = [*sorted((CODE / "migrations").rglob("*.py")), CODE / "alembic.ini"]
    paths = sorted({*modules, *(p.resolve() for p in migrations if p.exists())})
    digest = hashlib.sha256()
    for path in [*paths, *(CODE / name for name in VERSIONED_FILES)]:
        digest.update(str(path.relative_to(CODE.resolve())).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def cached_path(entries: int, version: str) -> Path:
    return BENCH_DIR / f"ledger-{entries}-{version}.db"


def workload_path(ledger: Path) -> Path:
    """Where the workload stood when ``ledger`` was snapshotted (to append more of the same)."""
    return ledger.with_suffix(".workload.json")


def cached_ledgers(sizes: list[int], pool: ProcessPoolExecutor, version: str) -> dict[int, Path]:
    """Paths of ledgers of exactly these sizes, building (once) the ones not cached yet."""
    paths = {size: cached_path(size, version) for size in sizes}
    missing = sorted(
        size
        for size, path in paths.items()
        if _entries(path) != size or not workload_path(path).exists()
    )
    if missing:
        _build(missing, version, pool)
    return paths


def _entries(path: Path) -> int | None:
    """The size of the ledger in ``path`` (opened read-only), or None if it is not one."""
    if not path.exists():
        return None
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            row = conn.execute("SELECT size FROM log_head WHERE id = 1").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else int(row[0])


def _build(sizes: list[int], version: str, pool: ProcessPoolExecutor) -> None:
    for size in sizes:
        for stale in BENCH_DIR.glob(f"ledger-{size}-*.db"):
            remove_sqlite(stale)
            workload_path(stale).unlink(missing_ok=True)
    work = BENCH_DIR / f"building-{uuid.uuid4().hex[:8]}.db"
    engine = without_fsync(fresh_sqlite(work))
    ledger, workload = open_ledger(engine), Workload(pool=pool)
    workload.accept(ledger.append_batch(workload.setup()))
    done, started = SETUP_ENTRIES, time.perf_counter()
    try:
        for size in sizes:
            while done < size:
                step = min(size - done, PROGRESS_EVERY)
                append_waves(ledger, workload, step)
                done += step
                elapsed = time.perf_counter() - started
                print(f"  building: {done:,} entries ({elapsed:.0f} s)", file=sys.stderr)
            if ledger.size() != size:
                raise RuntimeError(f"built {ledger.size()} entries, not {size}")
            final = cached_path(size, version)
            workload_path(final).write_text(json.dumps(workload.to_json()))
            _snapshot(engine, work, final)
    finally:
        engine.dispose()
        remove_sqlite(work)


def _snapshot(engine: Engine, work: Path, final: Path) -> None:
    """Copy the ledger at ``work`` to ``final`` atomically (SQLite's online backup)."""
    engine.dispose()
    partial = final.with_suffix(".partial")
    remove_sqlite(partial)
    source, target = sqlite3.connect(work), sqlite3.connect(partial)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = WAL")
    finally:
        source.close()
        target.close()
    partial.replace(final)
