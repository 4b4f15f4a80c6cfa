"""Custody and log tables.

The log tables (``log_entries``, ``log_nodes``, ``checkpoints``, ``equivocations``) are
append-only: triggers created by the migrations refuse UPDATE and DELETE on both engines.
``log_entries.data`` holds the exact canonical bytes that were hashed; the other columns are
derived copies for queries and are never used for verification. ``log_head`` is the one mutable
row of the log: the size and root that writers lock and advance. Everything else here is derived
state that ``ledger audit`` rebuilds from genesis and compares.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ledger.db import Base

# On SQLite an ``INTEGER PRIMARY KEY`` is the table's rowid: entries are stored in ``seq`` order in
# one B-tree, with no separate primary-key index to keep (a ``BIGINT`` key would add one).
SEQ = BigInteger().with_variant(Integer, "sqlite")


class LogEntryRow(Base):
    """An entry: ``data`` is the exact canonical bytes that were hashed and signed.

    Every index here grows in log order (``seq``, and ``(key_id, n)`` per key), so an append
    writes to the last pages of each, however long the log. There is deliberately no index on
    ``leaf_hash``: a hash lands on a random page of such an index, and at a million entries
    every batch would rewrite about a thousand of them. Entries are found by ``seq``; the
    ``after`` links of the statements are followed through ``entry_links``.
    """

    __tablename__ = "log_entries"
    __table_args__ = (UniqueConstraint("key_id", "n"),)
    seq: Mapped[int] = mapped_column(SEQ, primary_key=True, autoincrement=False)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    type: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64))
    n: Mapped[int] = mapped_column(BigInteger)
    logged: Mapped[str] = mapped_column(String(40))


class LogNodeRow(Base):
    """A completed (perfect) subtree hash: level L, index i covers leaves [i*2^L, (i+1)*2^L)."""

    __tablename__ = "log_nodes"
    # the key is the lookup: on SQLite one B-tree in key order, not a table and an index
    __table_args__ = ({"sqlite_with_rowid": False},)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class LogHeadRow(Base):
    """The log's size and root, and what the next append needs without reading the tree:
    the frontier (the compact range's subtree hashes, concatenated), the last leaf hash and
    the last logged time. All derived; ``ledger audit`` recomputes and compares them."""

    __tablename__ = "log_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    frontier: Mapped[bytes] = mapped_column(LargeBinary)
    last_leaf: Mapped[bytes | None] = mapped_column(LargeBinary)
    last_logged: Mapped[str | None] = mapped_column(String(40))


class CheckpointRow(Base):
    __tablename__ = "checkpoints"
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)


class EquivocationRow(Base):
    """Evidence: a second, different statement signed under a (key, n) already in the log."""

    __tablename__ = "equivocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_id: Mapped[str] = mapped_column(String(64), index=True)
    n: Mapped[int] = mapped_column(BigInteger)
    logged_seq: Mapped[int] = mapped_column(BigInteger)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    received: Mapped[str] = mapped_column(String(40))


class EntryLinkRow(Base):
    """Entry ``seq`` names entry ``after_entry`` as ``subject``'s head in its ``after``.

    The ``after`` links are leaf hashes; this table is their sequence numbers, so a lot's history
    is followed by ``seq`` (each step still checked against the hash the statement signed).
    Derived state, written in log order.
    """

    __tablename__ = "entry_links"
    __table_args__ = ({"sqlite_with_rowid": False},)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    after_entry: Mapped[int] = mapped_column(BigInteger)


class LedgerRow(Base):
    """The ledger's identity and policy, as fixed by genesis (derived from entry 0)."""

    __tablename__ = "ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(200))
    policy: Mapped[dict[str, int]] = mapped_column(JSON)


class HeadRow(Base):
    """The entry a subject (``lot:ID``, ``actor:ID`` ...) was last changed by."""

    __tablename__ = "heads"
    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary)
    seq: Mapped[int] = mapped_column(BigInteger)


class LotRow(Base):
    __tablename__ = "lots"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    mineral: Mapped[str] = mapped_column(String(16), index=True)
    form: Mapped[str] = mapped_column(String(16))
    mass_g: Mapped[int] = mapped_column(BigInteger)
    initial_mass_g: Mapped[int] = mapped_column(BigInteger)
    grade_ppm: Mapped[int] = mapped_column(Integer)
    custodian: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON)
    origins: Mapped[list[str]] = mapped_column(JSON)
    created_seq: Mapped[int] = mapped_column(BigInteger)
    updated_seq: Mapped[int] = mapped_column(BigInteger)
    addressee: Mapped[str | None] = mapped_column(String(64))
    dispatched_mass_g: Mapped[int | None] = mapped_column(BigInteger)


class LotEdgeRow(Base):
    """Provenance DAG: ``child`` was made from ``parent`` by the entry ``seq``."""

    __tablename__ = "lot_edges"
    child: Mapped[str] = mapped_column(String(64), primary_key=True)
    parent: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class TagRow(Base):
    __tablename__ = "tags"
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    lot_id: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class AttestationRow(Base):
    __tablename__ = "attestations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    claim: Mapped[str] = mapped_column(String(40))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    attestor: Mapped[str] = mapped_column(String(64))
    valid_from: Mapped[str] = mapped_column(String(10))
    valid_until: Mapped[str] = mapped_column(String(10))
    result: Mapped[str | None] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(BigInteger)
    revoked_seq: Mapped[int | None] = mapped_column(BigInteger)


class FlagRow(Base):
    __tablename__ = "flags"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)


class DisclosureRow(Base):
    """A private field's disclosure, encrypted at rest; erasable (the log keeps only its digest).

    Keyed by the entry first, so that new rows go to the end of the table (a digest alone is
    random and would scatter every append over the whole key); a disclosure is always asked for
    as a field of an entry.
    """

    __tablename__ = "disclosures"
    __table_args__ = ({"sqlite_with_rowid": False},)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    erased: Mapped[str | None] = mapped_column(String(40))


class SiteStatusRow(Base):
    """A site's inspection status as last evaluated (see ``ledger.custody.sitestatus``)."""

    __tablename__ = "site_status"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    basis: Mapped[str | None] = mapped_column(String(64))
    since: Mapped[str | None] = mapped_column(String(10))
    records: Mapped[list[list[str]]] = mapped_column(JSON)
    updated_seq: Mapped[int] = mapped_column(BigInteger)


class SiteStatusChangeRow(Base):
    """A site's status history: from entry ``seq`` on, the site was ``status``."""

    __tablename__ = "site_status_history"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16))
    basis: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(200))


class IncidentRow(Base):
    """A reported incident and, once resolved, the entry and actor that resolved it."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    category: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64), index=True)
    reporter: Mapped[str] = mapped_column(String(64))
    observed: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(BigInteger)
    resolved_seq: Mapped[int | None] = mapped_column(BigInteger)
    resolved_by: Mapped[str | None] = mapped_column(String(64))


class OpenIncidentsRow(Base):
    """The open incidents about a subject (``site:ID``, ``lot:ID``, ``actor:ID``)."""

    __tablename__ = "open_incidents"
    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    incidents: Mapped[list[str]] = mapped_column(JSON)


class LotTaintRow(Base):
    """The open lot incidents a lot carries, on itself or inherited from its inputs."""

    __tablename__ = "lot_taint"
    lot: Mapped[str] = mapped_column(String(64), primary_key=True)
    incidents: Mapped[list[str]] = mapped_column(JSON)


class LotTransitRow(Base):
    """When a lot was last dispatched (its statement's time), for the transit-time flags;
    ``pending`` while it is in transit and not yet flagged as overdue."""

    __tablename__ = "lot_transit"
    __table_args__ = (Index("ix_lot_transit_pending", "pending", "dispatched"),)
    lot: Mapped[str] = mapped_column(String(64), primary_key=True)
    dispatched: Mapped[str] = mapped_column(String(40))
    pending: Mapped[bool] = mapped_column(Boolean, server_default=false())


class SiteLotRow(Base):
    """A lot registered at a site (``lot.register``): what an incident on the site taints."""

    __tablename__ = "site_lots"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    lot: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


class SubjectAttestationsRow(Base):
    """The latest attestation of each claim about a subject (what a lot relies on)."""

    __tablename__ = "subject_attestations"
    subject: Mapped[str] = mapped_column(String(80), primary_key=True)
    attestations: Mapped[list[str]] = mapped_column(JSON)


class GrievanceRow(Base):
    """An anonymous grievance about a mine site (see ``ledger.custody.grievances``).

    Not a log entry and not derived from the log: unsigned, mutable, and neither read nor
    compared by ``ledger audit``. No column identifies the reporter: no address, no agent, and
    the day received, never a finer time. ``ciphertext`` is the text sealed with the data key.
    """

    __tablename__ = "grievances"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(32))
    language: Mapped[str | None] = mapped_column(String(35))
    received: Mapped[str] = mapped_column(String(10))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), index=True)
    incident: Mapped[str | None] = mapped_column(String(64), unique=True)
    converted_seq: Mapped[int | None] = mapped_column(BigInteger)
