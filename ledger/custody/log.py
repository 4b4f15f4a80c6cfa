"""The sequencer: appends signed statements to the log, one transaction per call.

A call (one statement or a batch) runs in a single database transaction:

1. signatures whose keys are already registered start verifying before the write lock is taken:
   in the calling process for a small batch, in worker processes for a large one, overlapping
   the sequencing of the statements already verified (``ledger.custody.verifying``);
2. the log head is locked (``BEGIN IMMEDIATE`` on SQLite, ``SELECT ... FOR UPDATE`` on PostgreSQL);
3. the batch's derived state is read in a few ``IN`` queries, or reused from this process's last
   commit when the log has not moved since (``ledger.custody.warm``);
4. each statement is checked for identity (idempotent resubmission, equivocation), its signature
   if not yet verified, and the rules (``ledger.rules``) against an overlay of derived state;
   a rejected statement in a batch leaves no trace and does not stop the others;
5. entries, completed subtree hashes, derived state and disclosures are written with a few
   ``executemany`` calls, the head advances, and the transaction commits;
6. only then can a checkpoint be signed for the new size (lazily, when one is asked for; one is
   kept every :data:`KEEP_CHECKPOINT_ENTRIES` entries or :data:`KEEP_CHECKPOINT_SECONDS`).

Nothing here imports Flask; the API and the CLI call these methods.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from ledger import canonical, disclosures, entries, merkle, rawsql, rules
from ledger.bodies import PRIVATE_FIELDS
from ledger.checkpoint import (
    Checkpoint,
    VerifierKey,
    note_checkpoint,
    sign_checkpoint,
    verify_checkpoint,
)
from ledger.crypto import Signer, Verifier
from ledger.custody.grouping import GroupCommit
from ledger.custody.models import (
    CheckpointRow,
    DisclosureRow,
    LedgerRow,
    LogEntryRow,
    LogHeadRow,
    LogNodeRow,
)
from ledger.custody.tree import NodeCache, fetcher, root_at
from ledger.custody.verifying import Preverified, Preverifier, Vouch
from ledger.custody.warm import WarmCache
from ledger.db import WRITE, is_sqlite, table, writer_turn
from ledger.errors import (
    ConfigError,
    ConflictError,
    IntegrityError,
    LedgerError,
    NotFoundError,
    TooLargeError,
    ValidationError,
)
from ledger.sealing import Sealer
from ledger.sqlstate import SqlBacking
from ledger.state import OverlayState
from ledger.statements import Envelope, Submission, format_time, parse_time

MAX_BATCH = 1000
_MAX_PUBLIC_KEYS = 1 << 16
_KEYS_PER_QUERY = 500  # bound parameters per key lookup (SQLite allows 32766, older 999)
_NODES_PER_QUERY = 400  # tree nodes per read: two bound parameters each
_READ_HEAD = "SELECT size, frontier, last_leaf, last_logged FROM log_head WHERE id = 1"
_LOCK_HEAD_PG = _READ_HEAD + " FOR UPDATE"  # SQLite's lock is taken by BEGIN IMMEDIATE
# A checkpoint is signed after every commit; one is *kept* when this many entries or seconds have
# passed since the last one kept. Ed25519 signatures are deterministic and a checkpoint has no
# timestamp, so any checkpoint handed out and not kept is re-signed byte-for-byte identical.
KEEP_CHECKPOINT_ENTRIES = 1000
KEEP_CHECKPOINT_SECONDS = 60.0
ACCEPTED, DUPLICATE, REJECTED = "accepted", "duplicate", "rejected"
_LOG = logging.getLogger(__name__)

LOG = table(LogEntryRow)
NODES = table(LogNodeRow)
HEAD = table(LogHeadRow)
CHECKPOINTS = table(CheckpointRow)
DISCLOSURES = table(DisclosureRow)


@dataclass(frozen=True)
class Result:
    status: str
    seq: int | None = None
    leaf_hash: bytes | None = None
    error: LedgerError | None = None
    # for an accepted statement: the tree as its transaction left it, which can prove it
    tree: Round | None = field(default=None, compare=False, repr=False)


class Round:
    """The tree as one append transaction left it: its size and root, and the inclusion proof
    of any entry the transaction appended, computed from memory when first asked for.

    Every node such a proof needs is either a node of the compact range the transaction started
    from (a left sibling entirely before the first new entry is a maximal perfect subtree of the
    old tree) or a leaf or node the transaction made; nothing is read back from the database.
    """

    def __init__(self, start: int, frontier: tuple[bytes, ...]) -> None:
        self.start = self.size = start
        self.root = b""
        self.leaves: list[bytes] = []  # the transaction's new leaves, filled as it goes
        self.nodes: list[tuple[int, int, bytes]] = []  # ... and the subtrees they completed
        self._frontier = frontier
        self._hashes: dict[merkle.NodeId, bytes] | None = None
        self._lock = threading.Lock()

    def seal(self, root: bytes) -> None:
        """The transaction committed: the tree is final."""
        self.size, self.root = self.start + len(self.leaves), root

    def inclusion_path(self, seq: int) -> list[bytes]:
        """The inclusion proof of entry ``seq`` (one this transaction appended) in this tree."""
        if not self.start <= seq < self.size:
            raise ValueError(f"entry {seq} was not appended by this transaction.")
        return merkle.inclusion_plan(seq, self.size).assemble(self._known())

    def _known(self) -> dict[merkle.NodeId, bytes]:
        with self._lock:
            if self._hashes is None:
                ids = merkle.compact_range_ids(self.start)
                known = dict(zip(ids, self._frontier, strict=True))
                known.update(((0, self.start + i), leaf) for i, leaf in enumerate(self.leaves))
                known.update(((level, index), value) for level, index, value in self.nodes)
                self._hashes = known
            return self._hashes


@dataclass
class _Batch:
    """Mutable bookkeeping of one append transaction."""

    size: int
    prev: bytes | None
    prev_logged: str | None
    tree: merkle.CompactRange
    logged: str
    round: Round
    entries: list[tuple[object, ...]] = field(default_factory=list)  # log_entries rows
    nodes: list[tuple[int, int, bytes]] = field(init=False)  # completed subtrees (the round's)
    sealed: list[tuple[object, ...]] = field(default_factory=list)  # disclosures rows
    identities: dict[tuple[str, int], tuple[int, bytes, bytes]] = field(default_factory=dict)
    evidence: list[tuple[object, ...]] = field(default_factory=list)  # equivocations rows

    def __post_init__(self) -> None:
        self.nodes = self.round.nodes


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """The log service: append, read, prove, checkpoint. One instance per process is enough."""

    def __init__(
        self,
        engine: Engine,
        *,
        operator: Signer | None = None,
        sealer: Sealer | None = None,
        clock: Callable[[], datetime] = utc_now,
        verify_processes: int = 2,
    ) -> None:
        self.engine = engine
        self.operator = operator
        self.sealer = sealer
        self.clock = clock
        self.verifier = Verifier()
        self._origin: str | None = None
        self._verifier_key: VerifierKey | None = None
        # (size, root) of this process's newest commit, and its note once signed (lazily: a
        # batch of single appends need not pay for a signature nobody asks for)
        self._committed: tuple[int, bytes] | None = None
        self._last_note: tuple[int, str] | None = None
        self._note_lock = threading.Lock()
        self._kept: tuple[int, float] | None = None  # (size, monotonic time) of the last kept
        self._group = GroupCommit(self)
        self._preverifier = Preverifier(self.verifier, verify_processes)
        self._warm = WarmCache()
        # key id -> public key, for the head start only: a key id is the hash of its public key,
        # so an entry never goes stale; whether the key may sign is decided in the transaction.
        self._public_keys: dict[str, bytes] = {}
        self._nodes = NodeCache()  # upper subtree hashes: immutable, shared by all proofs
        self._vouch_mark = object()  # marks this ledger's own Vouch objects (see append_round)

    # -- appending ----------------------------------------------------------------------------
    def append(self, submission: Submission) -> Result:
        """Append one statement, durably; a rejection raises its :class:`LedgerError`.

        Thread-safe. Statements appended at the same moment by several threads of a process
        share one transaction and one fsync (group commit); each call still returns only after
        its own statement is committed, with its own result.
        """
        result = self._group.append(submission, self._verify_ahead(submission))
        if result.error is not None:
            raise result.error
        return result

    def _verify_ahead(self, submission: Submission) -> Vouch | None:
        """The public key the statement's signature verifies with, checked in the caller's own
        thread before it joins a group commit (OpenSSL releases the GIL, so concurrent callers
        verify in parallel, and the round's leader does not verify them one after the other);
        None when the key is not known yet or the signature fails: the transaction decides."""
        statement = submission.envelope.statement
        public_key = self._public_keys.get(statement.key)
        if public_key is None:
            return None
        try:
            submission.envelope.verify(public_key, self.verifier)
        except LedgerError:
            return None
        return Vouch(submission.envelope, public_key, self._vouch_mark)

    def append_batch(self, submissions: Sequence[Submission]) -> list[Result]:
        """Append up to :data:`MAX_BATCH` statements in order, in one transaction."""
        return self.append_round(submissions, {})

    def append_round(
        self, submissions: Sequence[Submission], vouched: dict[int, Vouch]
    ) -> list[Result]:
        """:meth:`append_batch`, for the group commit of :meth:`append`: ``vouched`` maps the
        index of a statement to this ledger's :class:`Vouch` that its signature verified (from
        :meth:`_verify_ahead`). A vouch this ledger did not make, or made for another envelope
        object, is ignored: that signature is verified again. Whether the key may sign is
        decided in the transaction either way."""
        if len(submissions) > MAX_BATCH:
            raise TooLargeError(f"a batch holds at most {MAX_BATCH} statements; split it.")
        with self.engine.connect() as conn:
            preverified = self._preverify(conn, submissions, vouched)  # reads; ends in rollback
            try:
                preverified.key(0)  # the first chunk's results before taking the write lock
                conn.execution_options(**WRITE)  # the next transaction takes the write lock
                with writer_turn(conn), conn.begin():
                    raw = rawsql.Raw(conn)
                    batch = self._open_batch(raw)
                    state = OverlayState(SqlBacking(conn, raw), self._warm.take(batch.size))
                    state.prefetch(
                        pair
                        for s in submissions
                        for pair in rules.prefetch_keys(s.envelope.statement)
                    )
                    results = [
                        self._sequence(raw, state, batch, s, preverified.key(i))
                        for i, s in enumerate(submissions)
                    ]
                    if batch.entries:
                        self._write(raw, state, batch)
                self._warm.give(batch.size, state.cache)  # committed: the rows are the store's
                batch.round.seal(batch.tree.root())
            finally:
                preverified.wait()
            if batch.evidence:
                with writer_turn(conn), conn.begin():
                    rawsql.Raw(conn).many(rawsql.insert_evidence(), batch.evidence)
        if batch.entries:
            self._checkpoint_after_commit(batch.size, batch.round.root)
        return results

    def _preverify(
        self, conn: Connection, submissions: Sequence[Submission], vouched: dict[int, Vouch]
    ) -> Preverified:
        """Start verifying, outside the write lock, every signature whose key is registered
        (except those this ledger vouched for: verified already)."""
        honoured = {
            index: vouch.public_key
            for index, vouch in vouched.items()
            if vouch.seal is self._vouch_mark
            and 0 <= index < len(submissions)
            and vouch.envelope is submissions[index].envelope
        }
        keys = self._public_keys
        wanted = list({s.envelope.statement.key for s in submissions} - keys.keys())
        if wanted:
            raw = rawsql.Raw(conn)
            if len(keys) > _MAX_PUBLIC_KEYS:
                keys.clear()
            for i in range(0, len(wanted), _KEYS_PER_QUERY):
                part = wanted[i : i + _KEYS_PER_QUERY]
                marks = ", ".join("?" * len(part))
                sql = f"SELECT key_id, public_key FROM actor_keys WHERE key_id IN ({marks})"  # noqa: S608
                keys.update((key_id, bytes(public)) for key_id, public in raw.all(sql, part))
            conn.rollback()
        jobs = [
            (index, keys[key_id], submission.envelope)
            for index, submission in enumerate(submissions)
            if (key_id := submission.envelope.statement.key) in keys and index not in honoured
        ]
        preverified = self._preverifier.start(jobs)
        preverified.vouch(honoured)
        return preverified

    def _open_batch(self, raw: rawsql.Raw) -> _Batch:
        found = raw.one(_LOCK_HEAD_PG if raw.postgres else _READ_HEAD)
        assert found is not None, "the migrations create the head row"
        size, frontier, last_leaf, last_logged = found
        frontier = bytes(frontier)
        hashes = [frontier[i : i + 32] for i in range(0, len(frontier), 32)]
        tree = merkle.CompactRange.from_nodes(size, hashes)
        prev = None if last_leaf is None else bytes(last_leaf)
        logged = format_time(self.clock())
        if last_logged is not None and parse_time(logged) < parse_time(last_logged):
            logged = last_logged  # the log's clock never runs backwards
        return _Batch(size, prev, last_logged, tree, logged, Round(size, tree.hashes))

    def _sequence(
        self,
        raw: rawsql.Raw,
        state: OverlayState,
        batch: _Batch,
        submission: Submission,
        preverified_key: bytes | None,
    ) -> Result:
        envelope = submission.envelope
        statement = envelope.statement
        identity = (statement.key, statement.n)
        key = state.key(statement.key)
        # Counters only grow: above the key's last one, the statement cannot be in the log yet.
        if key is None or statement.n <= key.last_n:
            known = batch.identities.get(identity) or _logged_identity(raw, identity)
            if known is not None:
                return self._known(state, batch, envelope, known)
        try:
            entry = entries.make(batch.size, batch.prev, batch.logged, envelope)
            ctx = rules.Context(batch.size, entry.leaf_hash, batch.logged)
            public_key = rules.signing_key(state, statement)
            if preverified_key != public_key:
                envelope.verify(public_key, self.verifier)
            rules.apply(state, statement, ctx)
            sealed = self._seal(submission, batch.size)
        except LedgerError as exc:
            state.drop()
            return Result(REJECTED, error=exc)
        state.keep()
        batch.entries.append(
            (entry.seq, entry.leaf_hash, entry.data, statement.type, statement.actor,
             statement.key, statement.n, batch.logged)
        )  # fmt: skip
        batch.sealed.extend(sealed)
        batch.nodes.extend(batch.tree.append(entry.leaf_hash))
        batch.round.leaves.append(entry.leaf_hash)
        batch.identities[identity] = (entry.seq, entry.leaf_hash, envelope.statement_bytes)
        batch.prev = entry.leaf_hash
        batch.size += 1
        return Result(ACCEPTED, entry.seq, entry.leaf_hash, tree=batch.round)

    def _known(
        self,
        state: OverlayState,
        batch: _Batch,
        envelope: Envelope,
        known: tuple[int, bytes, bytes],
    ) -> Result:
        """A resubmission (idempotent), or equivocation, kept as evidence once its signature
        proves the key's holder really signed both statements."""
        seq, leaf_hash, statement_bytes = known
        if statement_bytes == envelope.statement_bytes:
            return Result(DUPLICATE, seq, leaf_hash)
        statement = envelope.statement
        try:
            envelope.verify(rules.signing_key(state, statement), self.verifier)
        except LedgerError as exc:
            return Result(REJECTED, error=exc)
        batch.evidence.append((statement.key, statement.n, seq, envelope.canonical(), batch.logged))
        return Result(
            REJECTED,
            error=ConflictError(
                f"key {statement.key[:16]}... already signed a different statement with n="
                f"{statement.n} (entry {seq}). Two statements under one counter are "
                "equivocation; this one is refused and kept as evidence.",
                code="equivocation",
                seq=seq,
            ),
        )

    def _seal(self, submission: Submission, seq: int) -> list[tuple[object, ...]]:
        statement = submission.envelope.statement
        allowed = PRIVATE_FIELDS.get(statement.type, frozenset())
        disclosures.match(statement.sd, list(submission.disclosures), allowed)
        if len(submission.disclosures) != len(statement.sd):
            raise ValidationError(
                "every digest in statement.sd needs its disclosure on submission, so that the "
                "private field can be shown to those entitled to it.",
                code="disclosure_missing",
                field="disclosures",
            )
        if submission.disclosures and self.sealer is None:
            raise ConfigError(
                "this ledger has no data key to store private fields.", code="no_data_key"
            )
        rows: list[tuple[object, ...]] = []
        for disclosure in submission.disclosures:
            digest = disclosure.digest()
            assert self.sealer is not None
            sealed = self.sealer.seal(disclosure.canonical(), digest)
            rows.append((seq, digest, disclosure.name, sealed, None))
        return rows

    def _write(self, raw: rawsql.Raw, state: OverlayState, batch: _Batch) -> None:
        with raw.writes():  # PostgreSQL: one round trip for them all
            state.flush()
            raw.many(rawsql.insert(LOG), batch.entries)
            raw.many(rawsql.insert(NODES), batch.nodes)
            raw.many(rawsql.insert(DISCLOSURES), batch.sealed)
            raw.run(
                "UPDATE log_head SET size = ?, root = ?, frontier = ?, last_leaf = ?,"
                " last_logged = ? WHERE id = 1",
                (batch.size, batch.tree.root(), b"".join(batch.tree.hashes), batch.prev,
                 batch.logged),
            )  # fmt: skip

    # -- checkpoints --------------------------------------------------------------------------
    def origin(self) -> str:
        if self._origin is None:
            with self.engine.connect() as conn:
                origin = conn.execute(select(LedgerRow.origin).where(LedgerRow.id == 1)).scalar()
            if origin is None:
                raise ConfigError(
                    "this ledger has no genesis yet; run `ledger init`.", code="no_genesis"
                )
            self._origin = origin
        return self._origin

    def _checkpoint_after_commit(self, size: int, root: bytes) -> None:
        """Note the commit; keep a signed checkpoint every so many entries or seconds.

        The note for every size is available at once through :attr:`last_checkpoint`, signed
        when first asked for: a checkpoint is only ever signed over committed entries.
        """
        if self.operator is None:
            return
        with self._note_lock:
            if self._committed is None or self._committed[0] < size:
                self._committed = (size, root)
        now = time.monotonic()
        if self._kept is None:
            with self.engine.connect() as conn:
                kept = conn.execute(select(func.max(CHECKPOINTS.c.size))).scalar()
            self._kept = (kept or 0, now) if kept else (-KEEP_CHECKPOINT_ENTRIES, now)
        if (
            size - self._kept[0] >= KEEP_CHECKPOINT_ENTRIES
            or now - self._kept[1] >= KEEP_CHECKPOINT_SECONDS
        ):
            try:
                self.store_checkpoint(self.sign_checkpoint(size, root))
            except (LedgerError, SQLAlchemyError) as exc:
                # The statements are committed; keeping a checkpoint is bookkeeping that the
                # next commit retries. Their callers must not be told that they failed.
                _LOG.warning("could not keep the checkpoint of size %d (%s); will retry", size, exc)
                return
            self._kept = (size, now)

    @property
    def last_checkpoint(self) -> tuple[int, str] | None:
        """(size, signed note) of the newest commit this process made, or None."""
        with self._note_lock:
            committed, last = self._committed, self._last_note
        if committed is None or self.operator is None:
            return last
        if last is None or last[0] < committed[0]:
            last = (committed[0], self.sign_checkpoint(*committed))
            with self._note_lock:
                if self._last_note is None or self._last_note[0] < last[0]:
                    self._last_note = last
        return last

    def sign_checkpoint(self, size: int, root: bytes) -> str:
        if self.operator is None:
            raise ConfigError(
                "the operator key is needed to sign checkpoints.", code="no_operator_key"
            )
        return sign_checkpoint(Checkpoint(self.origin(), size, root), self.origin(), self.operator)

    def store_checkpoint(self, note: str) -> None:
        """Keep a signed checkpoint. Never inconsistent with the log: its root is recomputed.

        Stored without waiting for fsync: a checkpoint is a deterministic signature (Ed25519)
        over (origin, size, root) of entries that are already durable, so one lost to a power
        cut is re-signed byte-for-byte identical.
        """
        checkpoint = note_checkpoint(note)
        with self.engine.connect() as conn:
            relaxed = _relax_durability(conn)
            # a write from the start: a read transaction that later writes cannot wait for the
            # lock on SQLite, and fails at once if another writer committed in between
            conn.execution_options(**WRITE)
            try:
                with writer_turn(conn), conn.begin():
                    if not is_sqlite(conn):
                        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
                    if root_at(conn, checkpoint.size) != checkpoint.root:
                        raise IntegrityError(
                            "refusing to store a checkpoint whose root the log does not have."
                        )
                    insert_cp = (sqlite.insert if is_sqlite(conn) else postgresql.insert)(
                        CHECKPOINTS
                    )
                    conn.execute(
                        insert_cp.on_conflict_do_nothing(index_elements=["size"]),
                        {"size": checkpoint.size, "root": checkpoint.root, "note": note},
                    )
            finally:
                if relaxed is not None:
                    relaxed.execute("PRAGMA synchronous = FULL")

    def latest_checkpoint(self) -> str:
        """A checkpoint of the current size: signed now if need be, and kept."""
        with self.engine.connect() as conn:
            note = conn.execute(
                select(CHECKPOINTS.c.note).order_by(CHECKPOINTS.c.size.desc()).limit(1)
            ).scalar()
            size = conn.execute(select(HEAD.c.size).where(HEAD.c.id == 1)).scalar_one()
        if note is not None and note_checkpoint(note).size == size:
            return str(note)
        if self.operator is None:
            if note is None:
                raise NotFoundError("no checkpoint has been signed yet.", code="no_checkpoint")
            return str(note)
        with self.engine.connect() as conn:
            root = root_at(conn, size)
        fresh = self.sign_checkpoint(size, root)
        self.store_checkpoint(fresh)
        return fresh

    def verifier_key(self) -> VerifierKey:
        """The operator's checkpoint verifier key, as named by the genesis entry."""
        if self._verifier_key is None:
            genesis = entries.decode(self.entry_bytes(0)).statement
            public_key = canonical.b64decode(genesis.body["operator"]["key"], field="operator.key")
            self._verifier_key = VerifierKey.from_public_key(genesis.ledger, public_key)
        return self._verifier_key

    # -- reading and proving ------------------------------------------------------------------
    def size(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(HEAD.c.size).where(HEAD.c.id == 1)).scalar_one())

    def entry_bytes(self, seq: int) -> bytes:
        with self.engine.connect() as conn:
            data = conn.execute(select(LOG.c.data).where(LOG.c.seq == seq)).scalar()
        if data is None:
            raise NotFoundError(f"there is no entry {seq}.", code="no_entry")
        return bytes(data)

    def inclusion_proofs(self, seqs: Sequence[int], size: int) -> list[list[bytes]]:
        """Inclusion proofs of several entries in the tree of ``size``, on one connection."""
        with self.engine.connect() as conn:
            size = self._proof_size(conn, size)
            fetch = fetcher(conn, self._nodes)
            for seq in seqs:
                if not 0 <= seq < size:
                    raise NotFoundError(
                        f"entry {seq} is not in a tree of size {size}.", code="no_entry"
                    )
            plans = [merkle.inclusion_plan(seq, size) for seq in seqs]
            wanted = sorted({node for plan in plans for node in plan.ids})
            hashes: dict[merkle.NodeId, bytes] = {}
            for i in range(0, len(wanted), _NODES_PER_QUERY):  # one read for all the proofs
                hashes.update(fetch(wanted[i : i + _NODES_PER_QUERY]))
            return [plan.assemble(hashes) for plan in plans]

    def inclusion_proof(self, seq: int, size: int | None = None) -> tuple[int, list[bytes]]:
        with self.engine.connect() as conn:
            size = self._proof_size(conn, size)
            if not 0 <= seq < size:
                raise NotFoundError(
                    f"entry {seq} is not in a tree of size {size}.", code="no_entry"
                )
            return size, merkle.inclusion_proof(seq, size, fetcher(conn, self._nodes))

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        with self.engine.connect() as conn:
            new = self._proof_size(conn, new)
            if not 0 < old <= new:
                raise ValidationError(
                    f"a consistency proof needs 0 < old <= new (got {old}, {new}).", code="invalid"
                )
            return merkle.consistency_proof(old, new, fetcher(conn, self._nodes))

    def root_at(self, size: int) -> bytes:
        with self.engine.connect() as conn:
            self._proof_size(conn, size)
            return root_at(conn, size)

    def _proof_size(self, conn: Connection, size: int | None) -> int:
        head = rawsql.Raw(conn).one("SELECT size FROM log_head WHERE id = 1")
        assert head is not None, "the migrations create the head row"
        current = int(head[0])
        if size is None:
            return current
        if not 0 <= size <= current:
            raise NotFoundError(f"the log has {current} entries, not {size}.", code="no_size")
        return size

    # -- start-up -----------------------------------------------------------------------------
    def check_startup(self) -> Checkpoint:
        """Recompute the root from stored hashes; it must match the head and latest checkpoint."""
        with self.engine.connect() as conn:
            head = conn.execute(select(HEAD).where(HEAD.c.id == 1)).one()
            last_seq = conn.execute(select(LOG.c.seq).order_by(LOG.c.seq.desc()).limit(1)).scalar()
            if (last_seq if last_seq is not None else -1) != head.size - 1:
                raise IntegrityError(
                    f"the head says {head.size} entries but the log ends at {last_seq}."
                )
            root = root_at(conn, head.size)
            frontier = bytes(head.frontier)
            hashes = [frontier[i : i + 32] for i in range(0, len(frontier), 32)]
            from_frontier = merkle.CompactRange.from_nodes(head.size, hashes).root()
            if root != bytes(head.root) or from_frontier != root:
                raise IntegrityError(
                    "the stored root differs from the one recomputed from the tree."
                )
            note = conn.execute(
                select(CHECKPOINTS.c.note).order_by(CHECKPOINTS.c.size.desc()).limit(1)
            ).scalar()
            if note is None:
                raise IntegrityError("the log has no checkpoint.", code="no_checkpoint")
            checkpoint = verify_checkpoint(note, self.verifier_key(), self.origin())
            if root_at(conn, checkpoint.size) != checkpoint.root:
                raise IntegrityError(
                    f"the latest checkpoint (size {checkpoint.size}) does not match the stored "
                    "tree."
                )
        return checkpoint


def _relax_durability(conn: Connection) -> Any:
    """On SQLite, commit the next transaction without fsync; returns the DBAPI connection."""
    if not is_sqlite(conn):
        return None
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute("PRAGMA synchronous = NORMAL")
    return dbapi


def _logged_identity(raw: rawsql.Raw, identity: tuple[str, int]) -> tuple[int, bytes, bytes] | None:
    found = raw.one(
        "SELECT seq, leaf_hash, data FROM log_entries WHERE key_id = ? AND n = ?", identity
    )
    if found is None:
        return None
    seq, leaf_hash, data = found
    return seq, bytes(leaf_hash), entries.split(bytes(data))[4]
