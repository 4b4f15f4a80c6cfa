"""Fixtures of the provenance tests: the demo supply chain in a ledger, on each engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from demo_ledger import load_demo
from sqlalchemy import Engine

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
