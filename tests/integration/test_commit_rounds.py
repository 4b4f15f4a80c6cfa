"""Commit rounds: a caller's answer never waits for later rounds, and keeping a checkpoint is
bookkeeping that cannot turn an append that committed into a failure."""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from factories import World
from sqlalchemy.exc import OperationalError

from ledger import db as db_module
from ledger.custody import log as log_module
from ledger.custody.log import ACCEPTED, Ledger, Result
from ledger.custody.verifying import Vouch
from ledger.errors import ConfigError
from ledger.statements import Submission

WAIT = 20.0  # seconds: generous, and a hang fails the test instead of the suite


def test_the_leader_returns_once_its_own_round_committed(world: World, ledger: Ledger) -> None:
    first, second = (world.register_lot(f"round-{i}") for i in range(2))
    rounds: list[int] = []
    second_may_run, queued = threading.Event(), threading.Event()
    original = ledger.append_round

    def controlled(submissions: Sequence[Submission], vouched: dict[int, Vouch]) -> list[Result]:
        rounds.append(len(submissions))
        if len(rounds) == 1:
            assert queued.wait(WAIT), "the second caller never queued"
        else:
            assert second_may_run.wait(WAIT), "the second round was never released"
        return original(submissions, vouched)

    ledger.append_round = controlled  # type: ignore[method-assign]
    answers: dict[str, str] = {}

    def call(name: str, submission: Submission) -> None:
        answers[name] = ledger.append(submission).status

    leader = threading.Thread(target=call, args=("leader", first))
    leader.start()
    while not rounds:  # the leader is inside its first round
        time.sleep(0.001)
    follower = threading.Thread(target=call, args=("follower", second))
    follower.start()
    deadline = time.monotonic() + WAIT
    while len(ledger._group._queue) < 1 and time.monotonic() < deadline:
        time.sleep(0.001)
    queued.set()
    leader.join(WAIT)
    assert not leader.is_alive(), "the leader waited for a round after its own"
    assert answers == {"leader": ACCEPTED}
    second_may_run.set()
    follower.join(WAIT)
    assert answers == {"leader": ACCEPTED, "follower": ACCEPTED}
    assert rounds == [1, 1]


def test_a_checkpoint_that_cannot_be_kept_does_not_fail_the_append(
    world: World, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_module, "KEEP_CHECKPOINT_ENTRIES", 1)  # keep one after every commit
    kept: list[int] = []

    def locked(note: str) -> None:
        raise OperationalError("INSERT INTO checkpoints", {}, Exception("database is locked"))

    monkeypatch.setattr(ledger, "store_checkpoint", locked)
    result = ledger.append(world.register_lot("cp-locked"))
    assert result.status == ACCEPTED
    assert ledger.last_checkpoint is not None and ledger.last_checkpoint[0] == ledger.size()
    # the next commit tries again, and this time the checkpoint is kept
    monkeypatch.setattr(ledger, "store_checkpoint", lambda note: kept.append(len(note)))
    assert ledger.append(world.register_lot("cp-kept")).status == ACCEPTED
    assert len(kept) == 1


def test_writers_of_one_sqlite_file_take_turns_on_its_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite only: PostgreSQL writers queue on the head row's lock, not on a file."""
    monkeypatch.setattr(db_module, "WRITER_WAIT_S", 0.2)
    engine = db_module.make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    holder = os.open(f"{tmp_path / 'ledger.db'}-writer.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # another process's turn, as far as the ledger knows
        with (
            engine.connect() as conn,
            pytest.raises(ConfigError, match="held this ledger"),
            db_module.writer_turn(conn),
        ):
            pytest.fail("the turn was taken while another writer held it")
    finally:
        os.close(holder)
    other = os.open(f"{tmp_path / 'ledger.db'}-writer.lock", os.O_RDWR)
    try:
        with (
            engine.connect() as conn,
            db_module.writer_turn(conn),  # free once the holder left ...
            pytest.raises(BlockingIOError),  # ... and now this writer holds it
        ):
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the turn ends
    finally:
        os.close(other)
    engine.dispose()
