"""The journal: one actor's local record of what it signed and what the log proved about it.

A journal is an SQLite file (WAL, ``synchronous=FULL``, like the embedded ledger) created with
mode 0600 and migrated by the journal's own Alembic revisions (:mod:`ledger.client.migrate`).
See :mod:`ledger.client.tables` for what each table holds.

Guarantees:

* a counter ``n`` is never used twice with one key: :meth:`Journal.record` reserves it and stores
  the signed statement in one write transaction (SQLite ``BEGIN IMMEDIATE``), above both the
  last ``n`` this journal used and the server's view; it refuses to sign with a key whose
  counter the server was never asked about (the key may have signed elsewhere). One key must
  be used from one journal only: two devices signing offline with one key would pick the same
  ``n`` (give each device its own key, ``actor.key.add``);
* statements keep the order they were signed in (:meth:`Journal.pending` returns them by id);
* a receipt is stored, and its statement leaves ``pending``, in one transaction, and only
  once: settling a statement that is no longer pending (another sync got there first) is a
  no-op.

The journal verifies nothing: the :class:`~ledger.client.Client` stores only what it verified.
It holds no private key, and it stores the disclosures of private fields in the clear (the
actor's own data, on the actor's device: protect the file like the data it holds).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, Row, func, insert, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ledger import canonical
from ledger.checkpoint import note_checkpoint
from ledger.client import tables as t
from ledger.client.migrate import upgrade
from ledger.client.subjects import touched
from ledger.client.verify import SeenCheckpoint
from ledger.db import WRITE, make_engine
from ledger.disclosures import Disclosure
from ledger.errors import ConfigError, IntegrityError
from ledger.statements import Envelope, Submission, format_time


@dataclass(frozen=True)
class JournalItem:
    """One journalled statement and what became of it."""

    id: int
    key_id: str
    n: int
    type: str
    actor: str
    status: str
    error_code: str | None = None
    error_message: str | None = None
    seq: int | None = None
    leaf_hash: bytes | None = None


@dataclass(frozen=True)
class PendingStatement:
    """A statement waiting to be sent: its journal id and the exact signed submission."""

    id: int
    submission: Submission


@dataclass(frozen=True)
class Receipt:
    """What the log proved about one statement (verified by the client before it is stored)."""

    statement_id: int
    status: str  # accepted | duplicate
    seq: int
    leaf_hash: bytes
    entry: bytes
    checkpoint_size: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Rejection:
    statement_id: int
    code: str
    message: str


@dataclass(frozen=True)
class Head:
    """A subject's last known head and where it was learnt (``receipt`` or ``server``)."""

    subject: str
    leaf_hash: bytes
    seq: int
    source: str


class Journal:
    """The journal over an engine; :meth:`open` is the usual way in."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @classmethod
    def open(cls, path: str | Path) -> Journal:
        """Open (creating with mode 0600, and migrating) the journal file at ``path``."""
        path = Path(path)
        if str(path) in ("", ":memory:"):
            raise ConfigError("a journal is a file; give it a path.", code="bad_journal")
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        engine = make_engine(f"sqlite:///{path}")
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Journal:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction, serialised with every other writer of the file."""
        with self._engine.connect() as conn:
            conn.execution_options(**WRITE)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    # -- settings ---------------------------------------------------------------------------
    def settings(self) -> dict[str, str]:
        with self._read() as conn:
            return {row.name: row.value for row in conn.execute(select(t.settings))}

    def setting(self, name: str) -> str | None:
        return self.settings().get(name)

    def put_settings(self, values: Mapping[str, str]) -> None:
        with self._write() as conn:
            for name, value in values.items():
                stmt = sqlite_insert(t.settings).values(name=name, value=value)
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value})
                )

    # -- statements -------------------------------------------------------------------------
    def record(
        self, key_id: str, sign: Callable[[int], Submission], *, floor: int | None
    ) -> JournalItem:
        """Reserve the next counter of ``key_id``, sign with it and store the statement.

        Args:
            key_id: the signing key.
            sign: makes the signed submission for a given ``n``.
            floor: the highest ``n`` the server holds for the key now, or None when the server
                could not be asked. The new ``n`` is above it, above the last one the server
                was seen to hold, and above every ``n`` this journal used.

        Raises:
            ConfigError: ``counter_unknown``: ``floor`` is None and the server was never asked
                about this key. Guessing could reuse a counter the key already used elsewhere,
                which the log keeps as evidence of equivocation.
            LedgerError: whatever ``sign`` raises; nothing is stored and no ``n`` is used.
        """
        with self._write() as conn:
            row = conn.execute(
                select(t.counters.c.last_n, t.counters.c.server_n).where(
                    t.counters.c.key_id == key_id
                )
            ).first()
            last, server_n = (row.last_n, row.server_n) if row is not None else (0, None)
            if floor is None and server_n is None:
                raise ConfigError(
                    f"this journal has never learnt from the server how far key "
                    f"{key_id[:16]}... has counted; sign online once first. Guessing could reuse "
                    "a counter, which the log would keep as evidence of equivocation.",
                    code="counter_unknown",
                )
            seen = max(server_n or 0, floor or 0)
            n = max(last, seen) + 1
            submission = sign(n)
            statement = submission.envelope.statement
            if (statement.key, statement.n) != (key_id, n):
                raise IntegrityError("the signed statement does not carry the reserved counter.")
            item_id = self._insert_statement(conn, submission)
            values = {"last_n": n, "server_n": seen}
            stmt = sqlite_insert(t.counters).values(key_id=key_id, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["key_id"], set_=values))
        return self.item(item_id)

    def _insert_statement(self, conn: Connection, submission: Submission) -> int:
        statement = submission.envelope.statement
        now = _now()
        result = conn.execute(
            insert(t.statements).values(
                key_id=statement.key,
                n=statement.n,
                type=statement.type,
                actor=statement.actor,
                envelope=submission.envelope.canonical(),
                disclosures=canonical.dumps([d.to_json() for d in submission.disclosures]),
                status=t.PENDING,
                signed_at=statement.time,
                updated_at=now,
            )
        )
        (item_id,) = result.inserted_primary_key or (None,)
        if not isinstance(item_id, int):
            raise IntegrityError("the journal did not number the new statement.")
        subjects = [{"statement_id": item_id, "subject": s} for s in touched(statement)]
        if subjects:
            conn.execute(insert(t.statement_subjects), subjects)
        return item_id

    def last_n(self, key_id: str) -> int:
        """The last counter this journal used with ``key_id`` (0 when none)."""
        with self._read() as conn:
            query = select(t.counters.c.last_n).where(t.counters.c.key_id == key_id)
            return int(conn.scalar(query) or 0)

    def pending(self, *, after_id: int = 0, limit: int | None = None) -> list[PendingStatement]:
        """Pending statements in journal order, from the one after ``after_id``."""
        query = (
            select(t.statements.c.id, t.statements.c.envelope, t.statements.c.disclosures)
            .where(t.statements.c.status == t.PENDING, t.statements.c.id > after_id)
            .order_by(t.statements.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [
                PendingStatement(row.id, _submission(row.envelope, row.disclosures))
                for row in conn.execute(query)
            ]

    def busy_subjects(self, subjects: Sequence[str]) -> dict[str, int]:
        """Which of ``subjects`` a pending statement will move: subject -> its journal id."""
        if not subjects:
            return {}
        s, ss = t.statements, t.statement_subjects
        query = (
            select(ss.c.subject, func.min(s.c.id))
            .join(s, s.c.id == ss.c.statement_id)
            .where(s.c.status == t.PENDING, ss.c.subject.in_(list(subjects)))
            .group_by(ss.c.subject)
        )
        with self._read() as conn:
            return {row[0]: int(row[1]) for row in conn.execute(query)}

    def item(self, item_id: int) -> JournalItem:
        items = self._items(t.statements.c.id == item_id)
        if not items:
            raise IntegrityError(f"the journal has no statement {item_id}.")
        return items[0]

    def items(self, status: str | None = None) -> list[JournalItem]:
        """Journalled statements in order, optionally only those with ``status``."""
        return self._items(None if status is None else t.statements.c.status == status)

    def _items(self, where: Any) -> list[JournalItem]:
        s, r = t.statements, t.receipts
        query = (
            select(s, r.c.seq, r.c.leaf_hash)
            .outerjoin(r, r.c.statement_id == s.c.id)
            .order_by(s.c.id)
        )
        if where is not None:
            query = query.where(where)
        with self._read() as conn:
            return [_item(row) for row in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        """How many statements have each status (every status listed, zeros included)."""
        query = select(t.statements.c.status, func.count()).group_by(t.statements.c.status)
        with self._read() as conn:
            found = {row[0]: int(row[1]) for row in conn.execute(query)}
        return {status: found.get(status, 0) for status in t.STATUSES}

    def settle(self, receipts: Sequence[Receipt], rejections: Sequence[Rejection]) -> int:
        """Store verified receipts and rejections in one transaction; move the heads.

        Statements that are no longer pending are left as they are. Returns how many were
        settled.
        """
        settled = 0
        now = _now()
        with self._write() as conn:
            for receipt in receipts:
                if self._mark(conn, receipt.statement_id, receipt.status, None, None, now):
                    self._store_receipt(conn, receipt, now)
                    settled += 1
            for rejection in rejections:
                marked = self._mark(
                    conn, rejection.statement_id, t.REJECTED, rejection.code, rejection.message, now
                )
                settled += int(marked)
        return settled

    @staticmethod
    def _mark(
        conn: Connection,
        item_id: int,
        status: str,
        code: str | None,
        message: str | None,
        now: str,
    ) -> bool:
        s = t.statements
        result = conn.execute(
            update(s)
            .where(s.c.id == item_id, s.c.status == t.PENDING)
            .values(status=status, error_code=code, error_message=message, updated_at=now)
        )
        return result.rowcount == 1

    def _store_receipt(self, conn: Connection, receipt: Receipt, now: str) -> None:
        conn.execute(
            insert(t.receipts).values(
                statement_id=receipt.statement_id,
                seq=receipt.seq,
                leaf_hash=receipt.leaf_hash,
                entry=receipt.entry,
                checkpoint_size=receipt.checkpoint_size,
                proof=json.dumps([h.hex() for h in receipt.proof]),
                received_at=now,
            )
        )
        ss = t.statement_subjects
        subjects = conn.scalars(
            select(ss.c.subject).where(ss.c.statement_id == receipt.statement_id)
        )
        for subject in list(subjects):
            _upsert_head(conn, Head(subject, receipt.leaf_hash, receipt.seq, "receipt"), now)

    def receipt(self, item_id: int) -> Receipt | None:
        """The stored receipt of a logged statement."""
        with self._read() as conn:
            row = conn.execute(
                select(t.receipts, t.statements.c.status)
                .join(t.statements, t.statements.c.id == t.receipts.c.statement_id)
                .where(t.receipts.c.statement_id == item_id)
            ).first()
        if row is None:
            return None
        return Receipt(
            row.statement_id,
            row.status,
            row.seq,
            bytes(row.leaf_hash),
            bytes(row.entry),
            row.checkpoint_size,
            tuple(bytes.fromhex(h) for h in json.loads(row.proof)),
        )

    # -- heads ------------------------------------------------------------------------------
    def head(self, subject: str) -> Head | None:
        with self._read() as conn:
            row = conn.execute(select(t.heads).where(t.heads.c.subject == subject)).first()
        return None if row is None else Head(row.subject, bytes(row.leaf_hash), row.seq, row.source)

    def note_head(self, head: Head) -> Head:
        """Remember ``head`` unless a newer one (by sequence number) is known; return the newer."""
        with self._write() as conn:
            _upsert_head(conn, head, _now())
        known = self.head(head.subject)
        assert known is not None
        return known

    # -- checkpoints ------------------------------------------------------------------------
    def newest_checkpoint(self) -> SeenCheckpoint | None:
        query = select(t.checkpoints.c.note).order_by(t.checkpoints.c.size.desc()).limit(1)
        return self._checkpoint(query)

    def checkpoint(self, size: int) -> SeenCheckpoint | None:
        return self._checkpoint(select(t.checkpoints.c.note).where(t.checkpoints.c.size == size))

    def _checkpoint(self, query: Any) -> SeenCheckpoint | None:
        with self._read() as conn:
            note = conn.scalar(query)
        if note is None:
            return None
        return SeenCheckpoint(note_checkpoint(note), note)

    def store_checkpoint(self, seen: SeenCheckpoint) -> None:
        """Keep a verified checkpoint (once per size).

        Raises:
            IntegrityError: a different root is already stored for that size (the caller's
                consistency check should have caught it first).
        """
        with self._write() as conn:
            stored = conn.scalar(
                select(t.checkpoints.c.root).where(t.checkpoints.c.size == seen.size)
            )
            if stored is not None:
                if bytes(stored) != seen.root:
                    raise IntegrityError(f"the journal holds another root for size {seen.size}.")
                return
            conn.execute(
                insert(t.checkpoints).values(
                    size=seen.size, root=seen.root, note=seen.note, verified_at=_now()
                )
            )


def _upsert_head(conn: Connection, head: Head, now: str) -> None:
    values = {
        "subject": head.subject,
        "leaf_hash": head.leaf_hash,
        "seq": head.seq,
        "source": head.source,
        "updated_at": now,
    }
    stmt = sqlite_insert(t.heads).values(**values)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["subject"],
            set_={k: v for k, v in values.items() if k != "subject"},
            where=t.heads.c.seq < head.seq,
        )
    )


def _submission(envelope: bytes, disclosures: bytes) -> Submission:
    found = canonical.parse(bytes(disclosures))
    if not isinstance(found, list):
        raise IntegrityError("the journal's disclosures are not a list.")
    return Submission(
        Envelope.from_bytes(bytes(envelope)), tuple(Disclosure.from_json(d) for d in found)
    )


def _item(row: Row[Any]) -> JournalItem:
    return JournalItem(
        id=row.id,
        key_id=row.key_id,
        n=row.n,
        type=row.type,
        actor=row.actor,
        status=row.status,
        error_code=row.error_code,
        error_message=row.error_message,
        seq=row.seq,
        leaf_hash=None if row.leaf_hash is None else bytes(row.leaf_hash),
    )


def _now() -> str:
    return format_time(datetime.now(UTC))
