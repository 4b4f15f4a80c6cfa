"""The actor's client of a ledger server: sign locally, work offline, sync, verify, monitor.

Typical use::

    journal = Journal.open("coop.journal")
    with Client("https://ledger.example.org", token=token, signer=signer, actor="coop-1",
                journal=journal, verifier_key=OPERATOR_KEY) as client:
        client.sign("lot.register", body)          # journalled, pending; nothing sent
        report = client.sync()                     # pushed in order, receipts verified
        client.check()                             # ForkError if the log forked or rolled back

What it is: a typed wrapper of the HTTP API (:mod:`ledger.client.server`, over httpx), a local
journal (:mod:`ledger.client.journal`, an SQLite file with its own Alembic migrations), and the
checks that make a receipt a proof (:mod:`ledger.client.verify`). The command line is
:mod:`ledger.client.cli` (``ledger client ...``). What it is not: a keystore (keys come in as a
:class:`~ledger.crypto.Signer`) or a verifier of a lot's provenance.
"""

from __future__ import annotations

from ledger.client.client import MAX_BATCH, Client, Status, SubmitResult, SyncReport
from ledger.client.errors import (
    ForkError,
    ResponseError,
    RollbackError,
    UnreachableError,
)
from ledger.client.journal import Journal, JournalItem
from ledger.client.verify import SeenCheckpoint

__all__ = [
    "MAX_BATCH",
    "Client",
    "ForkError",
    "Journal",
    "JournalItem",
    "ResponseError",
    "RollbackError",
    "SeenCheckpoint",
    "Status",
    "SubmitResult",
    "SyncReport",
    "UnreachableError",
]
