"""The stored Merkle tree: completed subtree hashes and leaf hashes read back by id.

Proofs and roots need only the O(log n) stored nodes that :mod:`ledger.merkle` plans; these
functions fetch them with two indexed queries on the DBAPI cursor, inside the caller's
connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from ledger import merkle, rawsql
from ledger.errors import IntegrityError


class NodeCache:
    """Completed subtree hashes of the upper levels, kept in memory.

    A completed subtree never changes (the log is append-only and ``ledger audit`` checks every
    stored hash), and the upper levels are shared by every proof: with them cached, a proof reads
    the same few lower-level rows from the database whether the log holds 10 thousand entries or
    10 million. Level ``MIN_LEVEL`` and above means subtrees of 32+ leaves: about 62,000 hashes
    (some 12 MB) for a log of a million entries; past :data:`MAX_ENTRIES` the highest levels are
    kept. The cache is filled in one query on first use,
    highest levels first, so the first proofs after start-up do not pay for it one by one; nodes
    completed later are added as proofs read them.
    """

    MIN_LEVEL = 5
    MAX_ENTRIES = 1 << 17

    def __init__(self) -> None:
        self._hashes: dict[merkle.NodeId, bytes] = {}
        self._warmed = False

    def get(self, node: merkle.NodeId) -> bytes | None:
        return self._hashes.get(node)

    def keep(self, node: merkle.NodeId, value: bytes) -> None:
        if node[0] >= self.MIN_LEVEL and len(self._hashes) < self.MAX_ENTRIES:
            self._hashes[node] = value

    def warm(self, raw: rawsql.Raw) -> None:
        """Load the stored upper-level hashes, once (a cheap range read of the node table)."""
        if self._warmed:
            return
        self._warmed = True
        rows = raw.all(
            "SELECT level, idx, hash FROM log_nodes WHERE level >= ? "
            "ORDER BY level DESC, idx LIMIT ?",
            (self.MIN_LEVEL, self.MAX_ENTRIES),
        )
        for level, index, node in rows:
            self.keep((level, index), bytes(node))


def fetcher(conn: Connection, cache: NodeCache | None = None) -> merkle.Fetch:
    """Read stored tree nodes by id: two indexed queries, whatever the log's size.

    Level-0 nodes are the entries' leaf hashes. The inner nodes are selected with an OR of
    primary-key equalities: a row-value ``(level, idx) IN (...)`` makes SQLite scan the table.
    Nodes in ``cache`` are not read again; upper-level nodes read are added to it.
    """
    raw = rawsql.Raw(conn)
    if cache is not None:
        cache.warm(raw)

    def fetch(ids: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        found: dict[merkle.NodeId, bytes] = {}
        if cache is not None:
            for node in ids:
                hit = cache.get(node)
                if hit is not None:
                    found[node] = hit
            ids = [node for node in ids if node not in found]
        leaves = [index for level, index in ids if level == 0]
        inner = [(level, index) for level, index in ids if level > 0]
        if leaves:
            marks = ", ".join("?" * len(leaves))
            sql = f"SELECT seq, leaf_hash FROM log_entries WHERE seq IN ({marks})"  # noqa: S608
            for seq, leaf in raw.all(sql, leaves):
                found[(0, seq)] = bytes(leaf)
        if inner:
            where = " OR ".join(["(level = ? AND idx = ?)"] * len(inner))
            sql = f"SELECT level, idx, hash FROM log_nodes WHERE {where}"  # noqa: S608
            for level, index, node in raw.all(sql, [v for pair in inner for v in pair]):
                found[(level, index)] = bytes(node)
        missing = [node for node in ids if node not in found]
        if missing:
            raise IntegrityError(
                f"stored tree nodes are missing: {missing[:4]}.", code="tree_incomplete"
            )
        if cache is not None:
            for node in inner:
                cache.keep(node, found[node])
        return found

    return fetch


def compact_range(conn: Connection, size: int) -> merkle.CompactRange:
    ids = merkle.compact_range_ids(size)
    found = fetcher(conn)(ids)
    return merkle.CompactRange.from_nodes(size, [found[node] for node in ids])


def root_at(conn: Connection, size: int) -> bytes:
    """The tree root at ``size``, from the O(log n) stored subtree hashes."""
    return compact_range(conn, size).root()
