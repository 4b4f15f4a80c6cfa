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


def fetcher(conn: Connection) -> merkle.Fetch:
    """Read stored tree nodes by id: two indexed queries, whatever the log's size.

    Level-0 nodes are the entries' leaf hashes. The inner nodes are selected with an OR of
    primary-key equalities: a row-value ``(level, idx) IN (...)`` makes SQLite scan the table.
    """
    raw = rawsql.Raw(conn)

    def fetch(ids: Sequence[merkle.NodeId]) -> dict[merkle.NodeId, bytes]:
        found: dict[merkle.NodeId, bytes] = {}
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
        return found

    return fetch


def compact_range(conn: Connection, size: int) -> merkle.CompactRange:
    ids = merkle.compact_range_ids(size)
    found = fetcher(conn)(ids)
    return merkle.CompactRange.from_nodes(size, [found[node] for node in ids])


def root_at(conn: Connection, size: int) -> bytes:
    """The tree root at ``size``, from the O(log n) stored subtree hashes."""
    return compact_range(conn, size).root()
