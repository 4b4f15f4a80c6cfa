"""Database engines and the declarative base. Nothing here runs at import time.

SQLite is the embedded default: WAL journal, ``synchronous=FULL`` (an acknowledged append survives
power loss), foreign keys on, and writers serialised with ``BEGIN IMMEDIATE``. PostgreSQL
(``postgresql+psycopg://``) is the production store; writers serialise on the log head row with
``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

from ledger.errors import ConfigError

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table(model: type[Base]) -> Table:
    """The Core table of a mapped class, typed as such (``__table__`` is typed loosely)."""
    return cast(Table, model.__table__)


WRITE = {"ledger_write": True}  # execution option: take the write lock when the transaction begins


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


SQLITE_CACHE_KIB = 16 * 1024


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine for ``url`` with the ledger's connection settings."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    _ping_after_idle(engine)
    return engine


PING_AFTER_IDLE_S = 0.5  # a pooled connection idle longer than this is tested before use


def _ping_after_idle(engine: Engine) -> None:
    """Test a pooled connection before handing it out, if it sat idle in the pool a while.

    SQLAlchemy's ``pool_pre_ping`` tests every checkout: a round trip to the server (255 µs
    measured here on loopback) before every request and every append. A connection that was
    in use half a second ago is as good as tested (HikariCP skips its alive check the same way
    within 500 ms), while one left idle may have been dropped by a restarted server, a
    failover or a firewall. A connection that fails the test is thrown away and another one
    handed out (the pool's documented ``DisconnectionError`` protocol); a server that drops a
    busy connection makes that one request fail, and the pool is refilled afterwards.
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _used(_dbapi_connection: Any, record: Any) -> None:
        record.info["ledger_idle_since"] = time.monotonic()  # a new connection was just used

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("ledger_idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"a pooled connection failed its test: {exc}") from exc
        if not alive:
            raise DisconnectionError("a pooled connection failed its test")


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, decide how a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 60000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 16 MiB of page cache per connection instead of SQLite's 2 MiB: at a million entries an
        # append batch touches more pages than 2 MiB holds, and re-reads a third of them (measured
        # with strace: 2,560 against 840 page reads per batch of 1000, and 20% more page
        # writes, as dirty pages spill); 64 MiB did no better than 16.
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("ledger_write", False)
        dbapi = conn.connection.dbapi_connection  # the driver directly: this runs per transaction
        assert dbapi is not None
        dbapi.execute("BEGIN IMMEDIATE" if write else "BEGIN")


WRITER_WAIT_S = 60.0  # as long as SQLite's own busy timeout


@contextmanager
def writer_turn(conn: Connection) -> Iterator[None]:
    """Wait for this database's turn to write, on SQLite without SQLite's busy handler.

    When two processes write one SQLite file, the one that finds the write lock taken sleeps in
    SQLite's busy handler: 1, 2, 5, 10 ... up to 100 ms between tries, however soon the lock is
    free again, which is what a request's latency then shows. Writers of the ledger therefore
    queue on an advisory file lock beside the database (``<file>-writer.lock``) first, polled
    every 50 µs to 1 ms, and take SQLite's lock only when it is theirs. A process that dies
    holding it releases it with its file descriptor. Elsewhere (PostgreSQL, in-memory SQLite)
    this does nothing: PostgreSQL queues writers on the head row's lock.

    Raises:
        ConfigError: the turn did not come within :data:`WRITER_WAIT_S` seconds.
    """
    database = conn.engine.url.database if is_sqlite(conn) else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    fd = os.open(f"{database}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _take(fd)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _take(fd: int) -> None:
    pause, deadline = 50e-6, time.monotonic() + WRITER_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ConfigError(
                    f"another writer has held this ledger for over {WRITER_WAIT_S:.0f} s; "
                    "check for a stuck process.",
                    code="writer_busy",
                ) from None
            time.sleep(pause)
            pause = min(pause * 2, 1e-3)
