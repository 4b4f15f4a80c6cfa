"""Reads of the log's entries, as the exact stored bytes plus what they say."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from api.limits import MAX_ENTRIES_PAGE
from ledger import entries
from ledger.custody.log import HEAD, LOG
from ledger.entries import Entry
from ledger.errors import ValidationError


def entry_view(entry: Entry) -> dict[str, Any]:
    """An entry for the API: its bytes, hashes and the decoded public statement."""
    return {
        "seq": entry.seq,
        "leaf_hash": entry.leaf_hash,
        "prev": entry.prev,
        "logged": entry.logged,
        "entry": entry.data,
        "statement": entry.statement.to_json(),
        "sig": entry.envelope.sig,
    }


def decode(data: bytes) -> dict[str, Any]:
    # Not strict: the bytes were checked when they were appended, and ``ledger audit`` re-checks.
    return entry_view(entries.decode(bytes(data), strict=False))


def entries_page(conn: Connection, start: int, end: int | None) -> dict[str, Any]:
    """Entries ``start <= seq < end`` (default: to the log's size), at most one page.

    ``next`` is where the following page starts, or None when the range is exhausted.
    """
    if end is not None and end < start:
        raise ValidationError(f"to ({end}) is below from ({start}).", field="to", location="query")
    size = int(conn.execute(select(HEAD.c.size)).scalar_one())
    wanted = size if end is None else min(end, size)
    stop = min(wanted, start + MAX_ENTRIES_PAGE)
    query = select(LOG.c.data).where(LOG.c.seq >= start, LOG.c.seq < stop).order_by(LOG.c.seq)
    found = [decode(data) for data in conn.execute(query).scalars()]
    return {"entries": found, "next": stop if stop < wanted else None}
