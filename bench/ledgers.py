"""Benchmark databases: fresh SQLite files and PostgreSQL databases, the Ledger service on them.

Everything here is set-up, never timed. :mod:`bench.build` builds the big cached ledgers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from bench.snapshot import repo_root
from bench.workload import Workload, operator, sealer
from ledger.custody.log import MAX_BATCH, Ledger
from ledger.db import make_engine
from ledger.migrate import upgrade

CODE = Path(__file__).resolve().parent.parent  # the code: a snapshot, see bench.snapshot
ROOT = repo_root()  # the working tree whose var/bench/ holds the data
BENCH_DIR = ROOT / "var" / "bench"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def fresh_sqlite(path: Path) -> Engine:
    """A new, migrated SQLite ledger database at ``path`` (any old one is deleted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_sqlite(path)
    engine = make_engine(sqlite_url(path))
    upgrade(engine)
    return engine


def without_fsync(engine: Engine) -> Engine:
    """Make every connection checked out of ``engine`` commit without waiting for the disk.

    Set on checkout, not connect: the ledger itself switches a connection's durability while it
    stores a checkpoint and switches it back afterwards.
    """
    sql = "PRAGMA synchronous = OFF" if engine.dialect.name == "sqlite" else None

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(sql or "SET synchronous_commit = off")
        cursor.close()

    return engine


def open_ledger(engine: Engine, *, checkpoints: bool = True) -> Ledger:
    """The benchmark's Ledger service; ``checkpoints=False`` leaves out checkpoint signing."""
    return Ledger(engine, operator=operator() if checkpoints else None, sealer=sealer())


def append_waves(ledger: Ledger, workload: Workload, entries: int) -> None:
    """Append about ``entries`` statements as batches of up to 1000 (not timed)."""
    while entries > 0:
        wave = workload.wave(min(MAX_BATCH, entries))
        workload.accept(ledger.append_batch(wave))
        entries -= len(wave)


def populated(ledger: Ledger, workload: Workload, wave: int = MAX_BATCH) -> None:
    """Set up the registry, then run the lot pipeline until every wave of ``wave`` statements
    holds all five steps (five waves: register, dispatch, receive, dispatch, receive)."""
    workload.accept(ledger.append_batch(workload.setup()))
    for _ in range(5):
        workload.accept(ledger.append_batch(workload.wave(wave)))


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database ``bench_<prefix>_<random>``, dropped afterwards."""
    admin = make_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"bench_{prefix}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(False)
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_problem() -> str | None:
    """None when the benchmark PostgreSQL server answers, else why not."""
    try:
        admin = make_engine(POSTGRES_ADMIN_URL)
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
        admin.dispose()
    except Exception as exc:  # any failure to connect: report it, skip the PostgreSQL figures
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return None
