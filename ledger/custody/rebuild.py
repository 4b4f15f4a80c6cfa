"""``ledger rebuild-derived``: re-derive every derived table from the log and store the result.

Derived state (lots, heads, flags, site status, taint ...) is a function of the log. A ledger
created before a migration added derived tables has them empty, and derived rows damaged behind
the sequencer's back make ``ledger audit`` fail; in both cases the log itself is intact and the
cure is to derive the state again. This module replays the log exactly as the audit does (every
signature, link, hash and rule), refuses to touch anything if the log itself does not hold, then
replaces the stored derived rows with the replayed ones in one transaction under the write lock,
and finally audits the result. The log tables are never written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, select

from ledger import rawsql
from ledger.custody.audit import DERIVED, AuditReport, audit, replay_log
from ledger.db import WRITE, make_engine, table, writer_turn
from ledger.errors import ConflictError
from ledger.migrate import upgrade

ROWS_PER_WRITE = 1000
_READ_HEAD = "SELECT size FROM log_head WHERE id = 1"
_LOCK_HEAD_PG = _READ_HEAD + " FOR UPDATE"


def rebuild_derived(
    engine: Engine,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    scratch_dir: str | None = None,
) -> AuditReport:
    """Replace the derived tables behind ``engine`` with what the log implies.

    Returns the replay's report when the log itself does not hold (nothing is changed then), or
    else the report of the audit run on the rebuilt ledger.

    Raises:
        ConflictError: the log grew while it was being replayed (stop the writers, run again).
    """
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="ledger-rebuild-") as tmp:
        scratch = make_engine(f"sqlite:///{Path(tmp) / 'replay.db'}")
        upgrade(scratch)
        try:
            with engine.connect() as live, scratch.connect() as replay:
                report = replay_log(live, replay, workers=workers, progress=progress)
                if not report.clean:
                    return report
                live.rollback()
                _replace(live, replay, report.size)
        finally:
            scratch.dispose()
    return audit(engine, workers=workers, scratch_dir=scratch_dir)


def _replace(live: Connection, replay: Connection, size: int) -> None:
    live.execution_options(**WRITE)
    with writer_turn(live), live.begin():
        raw = rawsql.Raw(live)
        head = raw.one(_LOCK_HEAD_PG if raw.postgres else _READ_HEAD)  # SQLite: BEGIN IMMEDIATE
        if head is None or int(head[0]) != size:
            raise ConflictError(
                f"the log grew from {size} entries while it was replayed; stop the server and "
                "the other writers, then run the rebuild again.",
                code="log_moved",
            )
        tables = [table(model) for model in DERIVED]
        keep = {tbl.name: _keys(replay, tbl) for tbl in tables}
        for tbl in reversed(tables):  # children before the rows they refer to
            stale = [key for key in _keys(live, tbl) if key not in keep[tbl.name]]
            raw.many(_delete(tbl), stale)
        for tbl in tables:  # parents first
            for rows in _chunks(replay, tbl):
                raw.many(_upsert(tbl), rows)


def _keys(conn: Connection, tbl: Table) -> set[tuple[Any, ...]]:
    columns = list(tbl.primary_key.columns)
    return {tuple(row) for row in conn.execute(select(*columns))}


def _chunks(conn: Connection, tbl: Table) -> Iterator[list[tuple[Any, ...]]]:
    result = conn.execution_options(yield_per=ROWS_PER_WRITE).execute(select(tbl))
    for part in result.partitions():
        yield [rawsql.to_params(tbl, dict(row._mapping)) for row in part]


def _delete(tbl: Table) -> str:
    where = " AND ".join(f"{column.name} = ?" for column in tbl.primary_key.columns)
    return f"DELETE FROM {tbl.name} WHERE {where}"  # noqa: S608 (names from the metadata)


def _upsert(tbl: Table) -> str:
    keys = {column.name for column in tbl.primary_key.columns}
    if keys.issuperset(rawsql.columns(tbl)):  # nothing but the key: present is up to date
        return f"{rawsql.insert(tbl)} ON CONFLICT DO NOTHING"
    return rawsql.upsert(tbl)
