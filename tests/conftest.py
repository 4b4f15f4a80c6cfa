"""Fixtures shared by the whole suite.

``engine`` is parametrised over SQLite and PostgreSQL: every database test runs on both. Each
test gets a fresh database built by the Alembic migrations (PostgreSQL: cloned from a template
database migrated once per test worker, which is much faster than migrating each time).

PostgreSQL is found at ``LEDGER_TEST_POSTGRES_URL`` (default: the local trust-auth server). When
it is unreachable the PostgreSQL variants are skipped with a message saying so, except with
``CI=true``, where they fail: CI must never pass without having run them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ledger.db import make_engine
from ledger.migrate import upgrade

POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"

settings.register_profile("ci", max_examples=60, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.load_profile("ci" if IN_CI else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def _admin_engine() -> Engine:
    return create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


_postgres_problem: str | None = None
_postgres_checked = False


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    global _postgres_problem, _postgres_checked
    if not _postgres_checked:
        _postgres_checked = True
        try:
            admin = _admin_engine()
            with admin.connect() as conn:
                conn.execute(text("SELECT 1"))
            admin.dispose()
        except Exception as exc:  # any failure to connect means: no server for these tests
            _postgres_problem = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    return _postgres_problem


def require_postgres() -> None:
    problem = postgres_available()
    if problem is None:
        return
    url = make_url(POSTGRES_URL).render_as_string(hide_password=True)
    message = f"PostgreSQL at {url} is unreachable ({problem})"
    if IN_CI:
        pytest.fail(f"{message}; with CI=true the PostgreSQL tests must run.", pytrace=False)
    pytest.skip(f"{message}; set LEDGER_TEST_POSTGRES_URL or start the server to run these.")


@pytest.fixture(scope="session")
def postgres_template(worker_id: str) -> Iterator[str]:
    """A database migrated to head once per test worker, cloned by each test."""
    require_postgres()
    name = f"ledger_tmpl_{worker_id}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(make_url(POSTGRES_URL).set(database=name).render_as_string(False))
    upgrade(engine)
    engine.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database on each engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'ledger.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    yield from _postgres_database(request.getfixturevalue("postgres_template"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with no schema at all, on each engine (to test migrations)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    require_postgres()
    yield from _postgres_database(None)


@pytest.fixture
def pg_engine(postgres_template: str) -> Iterator[Engine]:
    """A fresh, migrated PostgreSQL database, for what only PostgreSQL has."""
    for url in _postgres_database(postgres_template):
        engine = make_engine(url)
        yield engine
        engine.dispose()


def _postgres_database(template: str | None) -> Iterator[str]:
    """A new database, cloned from ``template`` (None: empty), dropped afterwards."""
    name = f"ledger_t_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    clone = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{clone}'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def worker_id(request: pytest.FixtureRequest) -> str:
    """The xdist worker id ("master" without xdist)."""
    workerinput = getattr(request.config, "workerinput", None)
    return "master" if workerinput is None else str(workerinput["workerid"])
