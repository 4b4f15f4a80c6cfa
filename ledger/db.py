"""Database engines and the declarative base. Nothing here runs at import time.

SQLite is the embedded default: WAL journal, ``synchronous=FULL`` (an acknowledged append survives
power loss), foreign keys on, and writers serialised with ``BEGIN IMMEDIATE``. PostgreSQL
(``postgresql+psycopg://``) is the production store; writers serialise on the log head row with
``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event
from sqlalchemy.orm import DeclarativeBase

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


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine for ``url`` with the ledger's connection settings."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **kwargs)


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
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("ledger_write", False)
        dbapi = conn.connection.dbapi_connection  # the driver directly: this runs per transaction
        assert dbapi is not None
        dbapi.execute("BEGIN IMMEDIATE" if write else "BEGIN")
