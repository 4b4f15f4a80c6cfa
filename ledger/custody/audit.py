"""``ledger audit``: re-derive everything from genesis and name the first divergence.

The audit trusts nothing stored except the bytes of the entries, and checks, in log order:
the entry framing and sequence numbers; each ``prev`` link; each stored leaf hash; every stored
subtree hash, recomputed as the tree grows; every checkpoint kept (root and operator signature);
the head row; every statement's signature (fanned out to worker processes) and canonical form;
and the rules, re-applied from genesis into a scratch database. At the end the derived-state
tables of the live database are compared, row by row, with the scratch copy.

Memory stays flat however long the log: entries stream in chunks, the rules' state lives in the
scratch SQLite file (its page cache is bounded), each chunk's state is read from it in a few
``IN`` queries, and the overlay keeps at most :data:`CACHE_ROWS` rows between chunks.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, String, Table, func, select

from ledger import canonical, entries, merkle, rawsql, rules
from ledger.checkpoint import VerifierKey, verify_checkpoint
from ledger.crypto import Verifier
from ledger.custody import models as custody
from ledger.custody.tree import root_at
from ledger.db import make_engine, table
from ledger.errors import LedgerError
from ledger.migrate import upgrade
from ledger.registry import models as registry
from ledger.rulebook import Context
from ledger.sqlstate import SqlBacking
from ledger.state import OverlayState
from ledger.statements import SIGNATURE_CONTEXT, Statement, parse_time

CHUNK = 1024
CACHE_ROWS = 50_000  # replayed rows kept in memory between chunks (registry and recent lots)
DERIVED = (
    registry.ActorRow, registry.KeyRow, registry.SiteRow, registry.MinerRow,
    registry.SiteOutputRow, custody.LedgerRow, custody.HeadRow, custody.LotRow,
    custody.LotEdgeRow, custody.TagRow, custody.AttestationRow, custody.FlagRow,
    custody.SiteStatusRow, custody.SiteStatusChangeRow, custody.IncidentRow,
    custody.OpenIncidentsRow, custody.LotTaintRow, custody.LotTransitRow,
    custody.SubjectAttestationsRow, custody.SiteLotRow, custody.EntryLinkRow,
)  # fmt: skip


@dataclass(frozen=True)
class Divergence:
    """The first place where the stored ledger disagrees with what the log proves."""

    seq: int | None
    reason: str

    def __str__(self) -> str:
        where = "the ledger" if self.seq is None else f"entry {self.seq}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class AuditReport:
    size: int
    checkpoints: int
    divergence: Divergence | None

    @property
    def clean(self) -> bool:
        return self.divergence is None


class _Stop(Exception):
    def __init__(self, seq: int | None, reason: str) -> None:
        super().__init__(reason)
        self.divergence = Divergence(seq, reason)


def audit(
    engine: Engine,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    scratch_dir: str | None = None,
) -> AuditReport:
    """Audit the ledger behind ``engine``; ``progress`` is called with entries done per chunk.

    Signatures are checked by ``workers`` processes, except for a log that fits in one chunk,
    where starting processes would cost more than the checks.
    """
    with tempfile.TemporaryDirectory(dir=scratch_dir, prefix="ledger-audit-") as tmp:
        scratch = make_engine(f"sqlite:///{Path(tmp) / 'replay.db'}")
        upgrade(scratch)
        try:
            with engine.connect() as live, scratch.connect() as replay:
                return replay_log(live, replay, workers=workers, progress=progress, compare=True)
        finally:
            scratch.dispose()


def replay_log(
    live: Connection,
    replay: Connection,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
    compare: bool = False,
) -> AuditReport:
    """Replay the log behind ``live`` into ``replay`` (a freshly migrated scratch database),
    checking everything the audit checks per entry; with ``compare``, then compare every derived
    table of the two. The report names the first divergence, if any."""
    _relax(replay)
    replayer = _Replayer(live, replay, workers, progress)
    try:
        size = replayer.run()
        if compare:
            _compare_derived(live, replay, size)
    except _Stop as stop:
        return AuditReport(replayer.done, replayer.checkpoints, replayer.earliest(stop.divergence))
    finally:
        replayer.close()
    return AuditReport(size, replayer.checkpoints, None)


def _log_size(conn: Connection) -> int:
    head = table(custody.LogHeadRow)
    return int(conn.execute(select(head.c.size).where(head.c.id == 1)).scalar_one())


def _relax(conn: Connection) -> None:
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    dbapi.execute("PRAGMA synchronous = OFF")
    dbapi.execute("PRAGMA journal_mode = MEMORY")
    dbapi.execute("PRAGMA cache_size = -16384")  # 16 MiB, whatever the ledger's size


class _Replayer:
    """Walks the log once, in order, checking everything that can be checked per entry."""

    def __init__(
        self,
        live: Connection,
        replay: Connection,
        workers: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.live, self.replay = live, replay
        self.progress = progress
        self.done = 0
        self.checkpoints = 0
        self.tree = merkle.CompactRange()
        self.prev: bytes | None = None
        self.prev_logged: str | None = None
        self.state = OverlayState(SqlBacking(replay))
        self.pending: deque[tuple[int, Future[tuple[int, str] | None]]] = deque()
        self.workers = max(1, workers)
        self.pool: ProcessPoolExecutor | None = None
        if workers > 0 and _log_size(live) > CHUNK:
            context = multiprocessing.get_context("forkserver")
            self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
        self.operator_key: VerifierKey | None = None
        self._expected_nodes: dict[tuple[int, int], bytes] = {}

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _submit(
        self, batch: list[tuple[int, bytes, bytes, bytes]]
    ) -> Future[tuple[int, str] | None]:
        if self.pool is not None:
            return self.pool.submit(_verify_chunk, batch)
        done: Future[tuple[int, str] | None] = Future()
        done.set_result(_verify_chunk(batch))
        return done

    def run(self) -> int:
        head_size = _log_size(self.live)
        cps = self._checkpoints()
        next_cp = next(cps, None)
        replay_tx = self.replay.begin()
        for chunk in self._chunks():
            parsed = [_parse(data) for _seq, _leaf, data, _copies in chunk]
            self.state.prefetch(
                pair for p in parsed if p is not None for pair in rules.prefetch_keys(p[5])
            )
            batch = [self._entry(*row, p) for row, p in zip(chunk, parsed, strict=True)]
            self._check_nodes(chunk[0][0], self.done)
            self.pending.append((chunk[0][0], self._submit(batch)))
            self._drain(self.workers + 1)
            while next_cp is not None and next_cp[0] <= self.done:
                self._check_checkpoint(*next_cp)
                next_cp = next(cps, None)
            self.state.flush()
            if len(self.state.cache) > CACHE_ROWS:  # keep the hot rows; bound the memory
                self.state.forget()
            if self.progress is not None:
                self.progress(len(chunk))
        self._drain(0)
        replay_tx.commit()
        if next_cp is not None:
            raise _Stop(None, f"a checkpoint claims size {next_cp[0]} but the log has {self.done}.")
        self._check_head(head_size)
        return self.done

    def _chunks(self) -> Iterator[list[tuple[int, bytes, bytes, tuple[Any, ...]]]]:
        raw = rawsql.Raw(self.live)
        start = 0
        while True:
            rows = raw.all(
                "SELECT seq, leaf_hash, data, type, actor, key_id, n, logged FROM log_entries "
                "WHERE seq >= ? AND seq < ? ORDER BY seq",
                (start, start + CHUNK),
            )
            if not rows:
                return
            yield [(seq, bytes(leaf), bytes(data), tuple(rest)) for seq, leaf, data, *rest in rows]
            start += CHUNK

    def _entry(
        self,
        seq: int,
        stored_leaf: bytes,
        data: bytes,
        copies: tuple[Any, ...],
        parsed: _Parsed | None,
    ) -> tuple[int, bytes, bytes, bytes]:
        if seq != self.done:
            raise _Stop(self.done, f"entry {self.done} is missing (the next stored is {seq}).")
        leaf = merkle.leaf_hash(data)
        if parsed is not None:
            claimed_seq, prev, logged, sig, statement_bytes, _ = parsed
        else:
            try:
                claimed_seq, prev, logged, sig, statement_bytes = entries.split(data)
            except LedgerError as exc:
                raise _Stop(seq, f"the entry bytes are malformed: {exc.message}") from exc
        if claimed_seq != seq:
            raise _Stop(seq, f"the entry says it is entry {claimed_seq}.")
        if prev != self.prev:
            raise _Stop(
                seq - 1,
                f"entry {seq - 1} does not hash to the prev that entry {seq} recorded "
                "(entry or link altered).",
            )
        if leaf != stored_leaf:
            raise _Stop(seq, "the stored leaf hash differs from the hash of the entry bytes.")
        if self.prev_logged is not None and parse_time(logged) < parse_time(self.prev_logged):
            raise _Stop(seq, "the logged time runs backwards.")
        statement = parsed[5] if parsed is not None else None
        if statement is not None and copies != (
            statement.type, statement.actor, statement.key, statement.n, logged
        ):  # fmt: skip
            raise _Stop(
                seq,
                "the entry's stored type, actor, key, counter or logged time differs from what "
                "its bytes say.",
            )
        public_key = self._apply(seq, leaf, logged, statement_bytes, statement)
        for level, index, node in self.tree.append(leaf):
            self._expect_node(level, index, node)
        self.prev, self.prev_logged, self.done = leaf, logged, seq + 1
        return seq, public_key, sig, statement_bytes

    def _apply(
        self,
        seq: int,
        leaf: bytes,
        logged: str,
        statement_bytes: bytes,
        statement: Statement | None,
    ) -> bytes:
        try:
            if statement is None:  # it did not parse ahead: parse again to say why, here
                statement = Statement.from_json(json.loads(statement_bytes))
            public_key = rules.signing_key(self.state, statement)
            rules.apply(self.state, statement, Context(seq, leaf, logged))
        except (LedgerError, ValueError) as exc:
            reason = exc.message if isinstance(exc, LedgerError) else str(exc)
            raise _Stop(seq, f"the statement breaks the ledger's rules: {reason}") from exc
        self.state.keep()
        return public_key

    # -- tree -----------------------------------------------------------------------------
    def _check_nodes(self, first: int, end: int) -> None:
        """Compare the stored subtree hashes completed by leaves [first, end)."""
        expected = self._expected_nodes
        if not expected:
            return
        raw = rawsql.Raw(self.live)
        for level in sorted({level for level, _ in expected}):
            ids = sorted(index for lvl, index in expected if lvl == level)
            rows = raw.all(
                "SELECT idx, hash FROM log_nodes WHERE level = ? AND idx >= ? AND idx <= ?",
                (level, ids[0], ids[-1]),
            )
            stored = {index: bytes(node) for index, node in rows}
            for index in ids:
                if stored.get(index) != expected[(level, index)]:
                    seq = ((index + 1) << level) - 1
                    raise _Stop(
                        seq,
                        f"the stored hash of subtree level {level} index {index} (leaves "
                        f"{index << level}..{seq}) is missing or differs from the recomputed one.",
                    )
        self._expected_nodes = {}

    def _expect_node(self, level: int, index: int, node: bytes) -> None:
        self._expected_nodes[(level, index)] = node

    def _check_head(self, head_size: int) -> None:
        nodes = table(custody.LogNodeRow)
        head = table(custody.LogHeadRow)
        count = self.live.execute(select(func.count()).select_from(nodes)).scalar_one()
        expected = sum(self.done >> level for level in range(1, self.done.bit_length() + 1))
        if count != expected:
            raise _Stop(None, f"the tree has {count} stored subtree hashes; {expected} expected.")
        row = self.live.execute(select(head).where(head.c.id == 1)).one()
        expected_head = (self.done, self.tree.root(), b"".join(self.tree.hashes), self.prev,
                         self.prev_logged)  # fmt: skip
        last_leaf = None if row.last_leaf is None else bytes(row.last_leaf)
        stored = (head_size, bytes(row.root), bytes(row.frontier), last_leaf, row.last_logged)
        if stored != expected_head:
            raise _Stop(
                None,
                "the log head (size, root, frontier, last leaf or time) differs from the "
                "recomputed log; the next append would build on it.",
            )

    # -- checkpoints ----------------------------------------------------------------------
    def _checkpoints(self) -> Iterator[tuple[int, bytes, str]]:
        cps = table(custody.CheckpointRow)
        last = -1
        while True:
            row = self.live.execute(
                select(cps.c.size, cps.c.root, cps.c.note)
                .where(cps.c.size > last)
                .order_by(cps.c.size)
                .limit(1)
            ).first()
            if row is None:
                return
            last = row.size
            yield row.size, bytes(row.root), row.note

    def _check_checkpoint(self, size: int, root: bytes, note: str) -> None:
        if self.operator_key is None:
            genesis = entries.decode(self._entry_bytes(0)).statement
            public_key = canonical.b64decode(genesis.body["operator"]["key"], field="operator")
            self.operator_key = VerifierKey.from_public_key(genesis.ledger, public_key)
        try:
            checkpoint = verify_checkpoint(note, self.operator_key, self.operator_key.name)
        except LedgerError as exc:
            raise _Stop(size - 1, f"checkpoint {size} does not verify: {exc.message}") from exc
        computed = root_at(self.live, size)
        if checkpoint.size != size or checkpoint.root != root or root != computed:
            raise _Stop(size - 1, f"checkpoint {size} does not match the recomputed tree.")
        self.checkpoints += 1

    def _entry_bytes(self, seq: int) -> bytes:
        log = table(custody.LogEntryRow)
        return bytes(self.live.execute(select(log.c.data).where(log.c.seq == seq)).scalar_one())

    # -- signatures -----------------------------------------------------------------------
    def earliest(self, found: Divergence) -> Divergence:
        """A signature failure in an earlier chunk still pending outranks ``found``."""
        for first, future in self.pending:
            if found.seq is not None and first > found.seq:
                break
            failure = future.result()
            if failure is not None and (found.seq is None or failure[0] < found.seq):
                return Divergence(*failure)
        return found

    def _drain(self, keep: int) -> None:
        while len(self.pending) > keep:
            _first, future = self.pending.popleft()
            failure = future.result()
            if failure is not None:
                raise _Stop(*failure)


_Parsed = tuple[int, bytes | None, str, bytes, bytes, Statement]


def _parse(data: bytes) -> _Parsed | None:
    """An entry's parts and statement, ahead of the ordered checks (None: they will say why)."""
    try:
        parts = entries.split(data)
        return (*parts, Statement.from_json(json.loads(parts[4])))
    except (LedgerError, ValueError):
        return None


_VERIFIER = Verifier()


def _verify_chunk(batch: list[tuple[int, bytes, bytes, bytes]]) -> tuple[int, str] | None:
    """In a worker: canonical form and signature of each statement; the first failure."""
    for seq, public_key, sig, statement_bytes in batch:
        if canonical.dumps_fast(json.loads(statement_bytes)) != statement_bytes:
            return seq, "the statement bytes are not in canonical form."
        try:
            _VERIFIER.verify(public_key, sig, SIGNATURE_CONTEXT + statement_bytes)
        except LedgerError:
            return seq, "the statement's signature does not verify with the signer's key."
    return None


def _compare_derived(live: Connection, replay: Connection, size: int) -> None:
    """Stream each derived table from both databases in key order and compare row by row."""
    for model in DERIVED:
        tbl = table(model)
        left = live.execution_options(yield_per=1000).execute(_ordered(tbl, live))
        right = replay.execution_options(yield_per=1000).execute(_ordered(tbl, replay))
        try:
            for mine, theirs in _zip_rows(left, right):
                if mine != theirs:
                    raise _Stop(_seq_of(tbl, mine, theirs), _difference(tbl, mine, theirs))
        finally:  # a divergence stops the walk early: release the server-side cursors
            left.close()
            right.close()


def _ordered(tbl: Table, conn: Connection) -> Any:
    """All rows in primary-key order, byte-wise on every engine: PostgreSQL's default
    collation may sort strings otherwise than SQLite, which would misalign the two walks.
    (``yield_per`` streams them, with a server-side cursor on PostgreSQL.)"""
    order = [
        column.collate("C")
        if conn.dialect.name == "postgresql" and isinstance(column.type, String)
        else column
        for column in tbl.primary_key.columns
    ]
    return select(tbl).order_by(*order)


def _zip_rows(left: Any, right: Any) -> Iterator[tuple[Any, Any]]:
    sentinel = object()
    for a, b in _longest(iter(left), iter(right), sentinel):
        yield (None if a is sentinel else _normal(a)), (None if b is sentinel else _normal(b))


def _longest(a: Iterator[Any], b: Iterator[Any], fill: object) -> Iterator[tuple[Any, Any]]:
    while True:
        x, y = next(a, fill), next(b, fill)
        if x is fill and y is fill:
            return
        yield x, y


def _normal(row: Any) -> tuple[Any, ...]:
    return tuple(bytes(v) if isinstance(v, memoryview | bytearray) else v for v in row)


def _seq_of(tbl: Table, *rows: Any) -> int | None:
    """The earliest entry a differing row names in its ``*seq`` columns, if any."""
    positions = [i for i, column in enumerate(tbl.c) if column.name.endswith("seq")]
    seqs = [row[i] for row in rows if row for i in positions if isinstance(row[i], int)]
    return min(seqs) if seqs else None


def _difference(tbl: Table, mine: Any, theirs: Any) -> str:
    if mine is None:
        return f"table {tbl.name} lacks a row the log implies: {theirs[: len(tbl.primary_key)]}."
    if theirs is None:
        return f"table {tbl.name} has a row the log does not imply: {mine[: len(tbl.primary_key)]}."
    columns = [c.name for c, a, b in zip(tbl.c, mine, theirs, strict=True) if a != b]
    key = mine[: len(tbl.primary_key)]
    return f"table {tbl.name} row {key} differs from the log in {', '.join(columns)}."


def default_workers() -> int:
    return min(2, os.cpu_count() or 1)


__all__ = ["DERIVED", "AuditReport", "Divergence", "audit", "default_workers", "replay_log"]
