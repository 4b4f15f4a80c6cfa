"""A lot's provenance, walked through the log's own ``after`` links.

Every statement that changes a lot names the lot's previous head entry in ``after``, and every
split, merge or processing step names the heads of its input lots. Following those links from a
lot's current head therefore reaches every entry the lot's history depends on, back to the
registrations at the mine sites, using nothing but signed entries.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from ledger import entries
from ledger.custody.models import EntryLinkRow, HeadRow, LogEntryRow
from ledger.entries import Entry
from ledger.errors import IntegrityError, NotFoundError, TooLargeError

MAX_ENTRIES = 10_000
_PER_QUERY = 500  # sequence numbers per read

Head = tuple[bytes, int]  # (leaf hash, seq) of the entry that last changed a subject


def lot_provenance(conn: Connection, lot_id: str) -> list[Entry]:
    """All entries in the lot's history DAG, oldest first."""
    return walk(conn, lot_id, lot_head_entry(conn, lot_id))


def lot_head(conn: Connection, lot_id: str) -> bytes:
    """The leaf hash of the entry that last changed the lot."""
    return lot_head_entry(conn, lot_id)[0]


def lot_head_entry(conn: Connection, lot_id: str) -> Head:
    """The leaf hash and sequence number of the entry that last changed the lot."""
    found = conn.execute(
        select(HeadRow.leaf_hash, HeadRow.seq).where(HeadRow.subject == f"lot:{lot_id}")
    ).first()
    if found is None:
        raise NotFoundError(f"lot {lot_id} is not registered.", code="unknown_lot")
    return bytes(found[0]), int(found[1])


def walk(conn: Connection, lot_id: str, head: Head, *, only: str | None = None) -> list[Entry]:
    """The entries reached from ``head`` through ``lot:`` links in ``after``, oldest first.

    Each step follows a statement's signed ``after`` link: ``entry_links`` says which entry it
    names, and that entry's bytes must hash to the leaf hash the statement signed, or the walk
    stops with :class:`IntegrityError`. With ``only`` (a subject such as ``lot:ID``), just that
    subject's own chain is followed instead of every lot link. Reads go a generation at a time.
    """
    found: dict[int, Entry] = {}
    generation: dict[int, bytes] = {head[1]: head[0]}
    while generation:
        if len(found) + len(generation) > MAX_ENTRIES:
            raise TooLargeError(
                f"lot {lot_id}'s history exceeds {MAX_ENTRIES} entries; ask for it in parts."
            )
        read = _entries(conn, generation)
        found.update(read)
        links = _links(conn, read)
        following: dict[int, bytes] = {}
        for seq, entry in read.items():
            for subject, leaf in entry.statement.after.items():
                wanted = subject == only if only is not None else subject.startswith("lot:")
                if not wanted:
                    continue
                after_entry = links.get((seq, subject))
                if after_entry is None:
                    raise IntegrityError(
                        f"entry {seq} follows {subject}'s entry {leaf[:16]}..., which the "
                        "ledger's links do not locate; run `ledger audit`."
                    )
                expected = bytes.fromhex(leaf)
                known = found.get(after_entry)
                if known is not None:  # reached already: still the entry this one signed?
                    if known.leaf_hash != expected or after_entry >= seq:
                        raise _misplaced(seq, subject, after_entry)
                elif following.setdefault(after_entry, expected) != expected:
                    raise _misplaced(seq, subject, after_entry)
        generation = following
    return [found[seq] for seq in sorted(found)]


def _misplaced(seq: int, subject: str, after_entry: int) -> IntegrityError:
    return IntegrityError(
        f"entry {seq}'s link for {subject} points at entry {after_entry}, which is not the "
        "entry it signed as its predecessor; run `ledger audit`."
    )


def _entries(conn: Connection, wanted: dict[int, bytes]) -> dict[int, Entry]:
    """The entries at the wanted sequence numbers, each checked against its expected hash."""
    read: dict[int, Entry] = {}
    for part in _parts(sorted(wanted)):
        query = select(LogEntryRow.data).where(LogEntryRow.seq.in_(part))
        for data in conn.execute(query).scalars():
            entry = entries.decode(bytes(data), strict=False)
            read[entry.seq] = entry
    for seq, leaf in wanted.items():
        got = read.get(seq)
        if got is None:
            raise NotFoundError("the log lacks an entry that a lot's history links to.")
        if got.leaf_hash != leaf:
            raise IntegrityError(
                f"entry {seq} does not hash to {leaf.hex()[:16]}..., the entry a lot's history "
                "links to there; run `ledger audit`."
            )
    return read


def _links(conn: Connection, read: dict[int, Entry]) -> dict[tuple[int, str], int]:
    links: dict[tuple[int, str], int] = {}
    followed = sorted(seq for seq, entry in read.items() if entry.statement.after)
    for part in _parts(followed):
        query = select(EntryLinkRow.seq, EntryLinkRow.subject, EntryLinkRow.after_entry).where(
            EntryLinkRow.seq.in_(part)
        )
        for seq, subject, after_entry in conn.execute(query):
            links[(int(seq), subject)] = int(after_entry)
    return links


def _parts(seqs: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(seqs), _PER_QUERY):
        yield seqs[i : i + _PER_QUERY]
