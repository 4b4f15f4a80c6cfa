"""A thin layer over the DBAPI cursor for the append path's few, hot statements.

SQLAlchemy Core costs tens of microseconds per statement before the driver sees it; an append
runs about a dozen statements and must finish in a few hundred microseconds. So the sequencer
and the SQL store of derived state issue plain SQL on the DBAPI connection underneath the
SQLAlchemy connection (same transaction, same lock). The SQL text is generated from the
SQLAlchemy table metadata, so it cannot drift from the schema, and uses only syntax SQLite and
PostgreSQL share (``INSERT ... ON CONFLICT (...) DO UPDATE SET c = excluded.c``). Placeholders
are written ``?`` and rewritten to ``%s`` for psycopg.

Table and column names come only from the package's own metadata, never from input, and every
value is a bound parameter; hence the ``noqa: S608`` on the generated statements.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import JSON, Connection, Table

from ledger.errors import IntegrityError


class Raw:
    """Plain SQL on the DBAPI connection beneath ``conn``, inside its transaction."""

    def __init__(self, conn: Connection) -> None:
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        self._dbapi: Any = dbapi
        self._cursor = dbapi.cursor()
        self.postgres = conn.dialect.name == "postgresql"
        self._checks: list[tuple[Any, int, str]] | None = None  # inside :meth:`writes`

    def _sql(self, text: str) -> str:
        return for_driver(text, self.postgres)

    def one(self, text: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self._cursor.execute(self._sql(text), params)
        row = self._cursor.fetchone()
        return None if row is None else tuple(row)

    def all(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cursor.execute(self._sql(text), params)
        return [tuple(row) for row in self._cursor.fetchall()]

    def reads(self, queries: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple[Any, ...]]]:
        """The rows of each of several independent queries, in order.

        On PostgreSQL they are sent together in one pipeline and answered together (one round
        trip instead of one each: the sequencer's prefetch runs while it holds the log's lock,
        so every round trip there is a wait for the other writers too); elsewhere, one after
        the other. An error is raised by this call, as soon as psycopg learns of it; the
        caller's transaction is then rolled back as for any failed statement.
        """
        if len(queries) < 2 or not self.postgres or not _pipelines():
            return [self.all(text, params) for text, params in queries]
        if self._checks is not None or self._dbapi.pgconn.pipeline_status:
            raise RuntimeError("reads inside a pipeline would read nothing yet")
        cursors = []
        try:
            with self._dbapi.pipeline():
                for text, params in queries:
                    cursor = self._dbapi.cursor()
                    cursors.append(cursor)
                    cursor.execute(self._sql(text), params)
            return [[tuple(row) for row in cursor.fetchall()] for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()

    def run(self, text: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._sql(text), params)

    def many(self, text: str, rows: Sequence[Sequence[Any]], expect: int | None = None) -> None:
        """Run ``text`` once per row; with ``expect``, the rows it must change in all.

        One row is sent with ``execute``: psycopg runs ``executemany`` in pipeline mode, whose
        set-up and sync cost about a round trip more (260 against 130 µs for a one-row insert
        on loopback), and a single append's writes are mostly one row per table.
        """
        if not rows:
            return
        cursor = self._cursor
        if expect is not None and self._checks is not None:
            cursor = self._dbapi.cursor()  # its own: the count is read when the pipeline ends
        if len(rows) == 1:
            cursor.execute(self._sql(text), rows[0])
        else:
            cursor.executemany(self._sql(text), rows)
        if expect is not None:
            if self._checks is not None:
                self._checks.append((cursor, expect, text))
                return
            if self.postgres and self._dbapi.pgconn.pipeline_status:
                # another Raw's pipeline: the count stays unknown (-1) until that one ends
                raise RuntimeError(f"a checked write inside another Raw's pipeline: {text}")
            _check_count(cursor, expect, text)

    @contextmanager
    def writes(self) -> Iterator[None]:
        """Statements whose results nobody reads until the block ends: on PostgreSQL they go
        in one pipeline, sent together and answered at its end (one round trip instead of one
        per statement; an error is raised when the block ends, and the caller's transaction is
        then rolled back as before). Row counts that :meth:`many` must check are checked then.
        Only writes belong inside: :meth:`one` and :meth:`all` would read nothing yet."""
        if not self.postgres or not _pipelines():
            yield
            return
        self._checks = []
        try:
            with self._dbapi.pipeline():
                yield
            for cursor, expect, text in self._checks:
                _check_count(cursor, expect, text)
        finally:
            for cursor, _expect, _text in self._checks:
                cursor.close()
            self._checks = None


@cache
def _pipelines() -> bool:
    """Whether psycopg can pipeline here (libpq 14 or newer); without it, one call each."""
    import psycopg

    return bool(psycopg.Pipeline.is_supported())


def _check_count(cursor: Any, expect: int, text: str) -> None:
    if cursor.rowcount != expect:
        raise IntegrityError(
            f"{text.split(' WHERE ')[0]} changed {cursor.rowcount} rows, not {expect}: "
            "the derived state held in memory differs from the database's; nothing was "
            "written. Run `ledger audit`."
        )


def for_driver(text: str, postgres: bool) -> str:
    """``text`` with its ``?`` placeholders as the driver wants them (psycopg: ``%s``)."""
    return _pg(text) if postgres else text


@cache
def _pg(text: str) -> str:
    return text.replace("%", "%%").replace("?", "%s")


def insert_evidence() -> str:
    return (
        "INSERT INTO equivocations (key_id, n, logged_seq, envelope, received) "
        "VALUES (?, ?, ?, ?, ?)"
    )


@cache
def columns(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.c)


@cache
def json_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.c if isinstance(c.type, JSON))


@cache
def select_by_key(table: Table) -> str:
    keys = " AND ".join(f"{c.name} = ?" for c in table.primary_key.columns)
    return f"SELECT {', '.join(columns(table))} FROM {table.name} WHERE {keys}"  # noqa: S608


@cache
def select_in(table: Table, count: int) -> str:
    """Rows whose one-column primary key is among ``count`` bound values."""
    (key,) = table.primary_key.columns
    marks = ", ".join("?" * count)
    return f"{select_by_key(table).split(' WHERE ')[0]} WHERE {key.name} IN ({marks})"


@cache
def insert(table: Table) -> str:
    names = columns(table)
    marks = ", ".join("?" * len(names))
    return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"  # noqa: S608


@cache
def upsert(table: Table) -> str:
    keys = [c.name for c in table.primary_key.columns]
    rest = [name for name in columns(table) if name not in keys]
    sets = ", ".join(f"{name} = excluded.{name}" for name in rest)
    return f"{insert(table)} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"


@cache
def update(table: Table, names: tuple[str, ...]) -> str:
    """Set the columns ``names`` of the row with the given primary key (values in that order,
    then the key's)."""
    sets = ", ".join(f"{name} = ?" for name in names)
    keys = " AND ".join(f"{c.name} = ?" for c in table.primary_key.columns)
    return f"UPDATE {table.name} SET {sets} WHERE {keys}"  # noqa: S608


def to_params(
    table: Table, row: dict[str, Any], names: Sequence[str] | None = None
) -> tuple[Any, ...]:
    """Row values in column order (or in the order of ``names``); JSON columns as text."""
    encoded = json_columns(table)
    names = columns(table) if names is None else names
    if not encoded:
        return tuple([row[name] for name in names])
    return tuple([_JSON(row[name]) if name in encoded else row[name] for name in names])


_JSON = json.JSONEncoder(separators=(",", ":")).encode


def from_params(table: Table, values: Sequence[Any]) -> dict[str, Any]:
    """A row read with :func:`select_by_key` as a dict; JSON decoded, binary as bytes."""
    encoded = json_columns(table)
    row = {}
    for name, value in zip(columns(table), values, strict=True):
        if name in encoded and isinstance(value, str):
            value = json.loads(value)
        elif isinstance(value, memoryview):
            value = bytes(value)
        row[name] = value
    return row
