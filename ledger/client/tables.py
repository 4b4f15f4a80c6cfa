"""The journal's tables: what one actor's device knows, kept in a local SQLite file.

The schema is created and changed only by the journal's own Alembic revisions
(``ledger/client/migrations``); a test fails when these tables and the revisions drift. The
tables live in their own :class:`MetaData`, apart from the server's, so neither schema's drift
check ever sees the other's tables.

* ``settings``: name/value pairs: the server URL, the actor, the key's name in the keystore, the
  name of the environment variable that holds the API token (never the token), the operator's
  verifier key.
* ``statements``: every statement signed here, in journal order (``id``), with its exact signed
  envelope and its disclosures (canonical JSON), its status (``pending``, ``accepted``,
  ``duplicate``, ``rejected``) and, when rejected, the server's code and message.
* ``statement_subjects``: the subjects each statement's entry will be the head of; a statement
  cannot be signed ``after`` a subject that a pending statement is about to move.
* ``receipts``: for each logged statement, its entry (exact bytes), sequence number, leaf hash,
  and the inclusion proof against a stored checkpoint, all verified before they were stored.
* ``checkpoints``: every verified signed checkpoint by tree size; the largest is the newest.
* ``heads``: the last known head (leaf hash, sequence number) of each subject, from receipts or
  from the server; the newer by sequence number wins.
* ``counters``: the last counter ``n`` used with each key, never reused, and the highest the
  server was last seen to hold (``server_n``; NULL until the server was asked once: until then
  the journal refuses to sign offline, see :meth:`~ledger.client.journal.Journal.record`).

Private keys are never stored here: they stay in the encrypted keystore. Times are RFC 3339 UTC
text.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ledger.db import NAMING_CONVENTION

PENDING, ACCEPTED, DUPLICATE, REJECTED = "pending", "accepted", "duplicate", "rejected"
STATUSES = (PENDING, ACCEPTED, DUPLICATE, REJECTED)
_TIME = String(40)

metadata = MetaData(naming_convention=NAMING_CONVENTION)

settings = Table(
    "settings",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

statements = Table(
    "statements",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key_id", String(64), nullable=False),
    Column("n", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("disclosures", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error_code", String(64), nullable=True),
    Column("error_message", Text, nullable=True),
    Column("signed_at", _TIME, nullable=False),
    Column("updated_at", _TIME, nullable=False),
    UniqueConstraint("key_id", "n"),
    CheckConstraint(f"status IN {STATUSES!r}", name="status"),
    Index("ix_statements_status_id", "status", "id"),
)

statement_subjects = Table(
    "statement_subjects",
    metadata,
    Column("statement_id", Integer, ForeignKey("statements.id"), primary_key=True),
    Column("subject", String(80), primary_key=True),
    Index("ix_statement_subjects_subject", "subject"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root", LargeBinary(32), nullable=False),
    Column("note", Text, nullable=False),
    Column("verified_at", _TIME, nullable=False),
)

receipts = Table(
    "receipts",
    metadata,
    Column("statement_id", Integer, ForeignKey("statements.id"), primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("checkpoint_size", BigInteger, ForeignKey("checkpoints.size"), nullable=False),
    Column("proof", Text, nullable=False),
    Column("received_at", _TIME, nullable=False),
)

heads = Table(
    "heads",
    metadata,
    Column("subject", String(80), primary_key=True),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("updated_at", _TIME, nullable=False),
)

counters = Table(
    "counters",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("last_n", BigInteger, nullable=False),
    Column("server_n", BigInteger, nullable=True),
)
