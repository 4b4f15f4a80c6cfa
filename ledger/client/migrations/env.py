"""Alembic environment of the client journal.

The connection always comes from the caller (:func:`ledger.client.migrate.upgrade`, or a test's
``config.attributes["connection"]``): a journal is a local file the client opens itself, so
there is no URL to read from the environment and no offline (SQL script) mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from ledger.client.tables import metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise SystemExit("the journal's migrations run only through ledger.client.migrate.")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
