"""Helpers for database tests: a Ledger with the test operator key, and a World submitter."""

from __future__ import annotations

from collections.abc import Callable

from factories import signer
from sqlalchemy import Engine

from ledger.custody.log import Ledger
from ledger.sealing import Sealer
from ledger.statements import Submission

DATA_KEY = bytes(range(32))


def make_ledger(engine: Engine) -> Ledger:
    return Ledger(engine, operator=signer("operator"), sealer=Sealer(DATA_KEY))


def submitter(ledger: Ledger) -> Callable[[Submission], bytes]:
    """A ``World.submit`` that appends to ``ledger`` (a rejection raises its LedgerError)."""

    def submit(submission: Submission) -> bytes:
        result = ledger.append(submission)
        assert result.leaf_hash is not None
        return result.leaf_hash

    return submit
