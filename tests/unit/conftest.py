"""Fixtures for the pure-core unit tests: a populated in-memory ledger, no database."""

from __future__ import annotations

import copy

import pytest
from factories import MemoryLog, Reject, World, populated

from ledger.errors import LedgerError
from ledger.statements import Submission


@pytest.fixture
def log() -> MemoryLog:
    """An empty in-memory log (no genesis yet)."""
    return MemoryLog()


@pytest.fixture
def bare_world(log: MemoryLog) -> World:
    """A world on ``log`` with nothing submitted yet."""
    return World(submit=log.submit)


@pytest.fixture
def world_log() -> tuple[World, MemoryLog]:
    """Genesis, the standard cast, site-a, site-b and miner-1, on a fresh MemoryLog."""
    return populated()


@pytest.fixture
def world(world_log: tuple[World, MemoryLog]) -> World:
    return world_log[0]


@pytest.fixture
def mlog(world_log: tuple[World, MemoryLog]) -> MemoryLog:
    return world_log[1]


@pytest.fixture
def reject(world_log: tuple[World, MemoryLog]) -> Reject:
    """``reject(submission, ErrorClass, code=..., match=...)``: the submission is refused with
    that error and code, and leaves the log, the derived state and the world's heads unchanged."""
    world, log = world_log

    def check(
        submission: Submission, error: type[LedgerError], *, code: str, match: str | None = None
    ) -> LedgerError:
        before = copy.deepcopy(log.state.accepted)
        size, heads = log.size, dict(world.heads)
        with pytest.raises(error, match=match) as info:
            world.run(submission)
        assert info.value.code == code, info.value
        log.state.keep()  # nothing may be left staged: keeping now must change nothing
        assert log.state.accepted == before
        assert (log.size, world.heads) == (size, heads)
        return info.value

    return check
