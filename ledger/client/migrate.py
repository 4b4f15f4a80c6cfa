"""Run the journal's Alembic migrations programmatically, like :mod:`ledger.migrate` for the
server: the script location is this package's ``migrations`` directory, set in code, so the
journal needs no ``alembic.ini``.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

SCRIPT_LOCATION = str(Path(__file__).resolve().parent / "migrations")


def alembic_config() -> Config:
    """The journal's Alembic configuration; callers pass a connection in ``attributes``."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the journal's schema to ``revision`` (default: the newest)."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
