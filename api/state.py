"""The process's ledger service and the request's database connection.

One :class:`Service` (engine and :class:`~ledger.custody.log.Ledger`) per application, kept in
``app.extensions``; views reach it through :func:`ledger` and :func:`connection`, which opens one
read connection per request, closed when the request ends. Writes never use that connection:
they go through the Ledger, which owns its transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine

from ledger.custody.log import Ledger

EXTENSION = "asm-ledger"


@dataclass(frozen=True)
class Service:
    engine: Engine
    ledger: Ledger

    def close(self) -> None:
        self.engine.dispose()


def service() -> Service:
    found: Service = current_app.extensions[EXTENSION]
    return found


def ledger() -> Ledger:
    return service().ledger


def connection() -> Connection:
    """This request's read connection (opened on first use, closed at teardown)."""
    if "ledger_conn" not in g:
        g.ledger_conn = service().engine.connect()
    conn: Connection = g.ledger_conn
    return conn


def close_connection(_exc: BaseException | None = None) -> None:
    conn = g.pop("ledger_conn", None)
    if conn is not None:
        conn.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_connection)


def dispose(app: Flask) -> None:
    """Release the application's database connections (tests, embedding, shutdown)."""
    found = app.extensions.pop(EXTENSION, None)
    if found is not None:
        found.close()
