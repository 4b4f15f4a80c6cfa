"""Database-backed fixtures: a :class:`Ledger` on each engine, and a populated test world."""

from __future__ import annotations

import pytest
from factories import World
from ledgers import make_ledger, submitter
from sqlalchemy import Engine

from ledger.custody.log import Ledger


@pytest.fixture
def ledger(engine: Engine) -> Ledger:
    return make_ledger(engine)


@pytest.fixture
def world(ledger: Ledger) -> World:
    """Genesis, the standard cast, two sites and a miner, appended to ``ledger``."""
    world = World(submit=submitter(ledger))
    world.populate()
    return world
