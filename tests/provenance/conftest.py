"""Fixtures of the provenance tests: the demo supply chain in a ledger, on each engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_ledger import load_demo
from flask import Flask
from flask.testing import FlaskClient
from prov_helpers import app_config
from sqlalchemy import Engine

from api import create_app, dispose
from ledger.custody.log import Ledger
from ledger.db import make_engine
from ledger.demo import DemoSummary
from ledger.migrate import upgrade


@pytest.fixture
def demo(engine: Engine) -> tuple[Ledger, DemoSummary]:
    """The demo (seed 1) loaded into a fresh ledger on each engine."""
    return load_demo(engine)


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, DemoSummary]]:
    """One demo ledger on SQLite shared by a module's tests (property tests read it only)."""
    path: Path = tmp_path_factory.mktemp("demo") / "ledger.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    yield load_demo(engine)
    engine.dispose()


@pytest.fixture
def demo_app(db_url: str, demo: tuple[Ledger, DemoSummary]) -> Iterator[Flask]:
    """The API on the demo ledger (a checkpoint of all of it is kept first)."""
    demo[0].latest_checkpoint()
    app = create_app(app_config(db_url))
    yield app
    dispose(app)


@pytest.fixture
def web(demo_app: Flask) -> FlaskClient:
    """An anonymous client: provenance is public."""
    return demo_app.test_client()
