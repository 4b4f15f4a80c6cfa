"""A lot's provenance, walked through the log's own ``after`` links.

Every statement that changes a lot names the lot's previous head entry in ``after``, and every
split, merge or processing step names the heads of its input lots. Following those links from a
lot's current head therefore reaches every entry the lot's history depends on, back to the
registrations at the mine sites, using nothing but signed entries.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from ledger import entries
from ledger.custody.models import HeadRow, LogEntryRow
from ledger.entries import Entry
from ledger.errors import NotFoundError, TooLargeError

MAX_ENTRIES = 10_000


def lot_provenance(conn: Connection, lot_id: str) -> list[Entry]:
    """All entries in the lot's history DAG, oldest first."""
    return walk(conn, lot_id, lot_head(conn, lot_id))


def lot_head(conn: Connection, lot_id: str) -> bytes:
    """The leaf hash of the entry that last changed the lot."""
    head = conn.execute(
        select(HeadRow.leaf_hash).where(HeadRow.subject == f"lot:{lot_id}")
    ).scalar()
    if head is None:
        raise NotFoundError(f"lot {lot_id} is not registered.", code="unknown_lot")
    return bytes(head)


def walk(conn: Connection, lot_id: str, head: bytes) -> list[Entry]:
    """The entries reached from ``head`` through ``lot:`` links in ``after``, oldest first."""
    found: dict[int, Entry] = {}
    frontier = [head]
    seen: set[bytes] = set()
    while frontier:
        leaf = frontier.pop()
        if leaf in seen:
            continue
        seen.add(leaf)
        data = conn.execute(select(LogEntryRow.data).where(LogEntryRow.leaf_hash == leaf)).scalar()
        if data is None:
            raise NotFoundError("the log lacks an entry that a lot's history links to.")
        entry = entries.decode(bytes(data), strict=False)
        found[entry.seq] = entry
        if len(found) > MAX_ENTRIES:
            raise TooLargeError(
                f"lot {lot_id}'s history exceeds {MAX_ENTRIES} entries; ask for it in parts."
            )
        frontier.extend(
            bytes.fromhex(h) for s, h in entry.statement.after.items() if s.startswith("lot:")
        )
    return [found[seq] for seq in sorted(found)]
