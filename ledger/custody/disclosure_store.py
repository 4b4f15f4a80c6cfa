"""The stored disclosures: entitled reads, one field's export, and a miner's erasure.

Disclosures are kept off the log, sealed with the ledger's data key (:mod:`ledger.sealing`) in
the mutable ``disclosures`` table. Reads decrypt only what the caller is entitled to (the rules
are :mod:`ledger.custody.privacy`); an erased disclosure reads as erased, with its time.

Erasure (:func:`erase_miner`) drops the ciphertext of a miner's registration disclosures and
records when. The log keeps only their digests, so every entry, signature, proof and checkpoint
stays valid and ``ledger audit`` stays clean; the values are gone for good. Lots list miners by
their pseudonymous ids only, and those lists are left as they are: once the registration's
personal data is erased, the id no longer leads to a person.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, Row, Table, select, update

from ledger import canonical, entries
from ledger.custody.models import DisclosureRow, EntryLinkRow, LogEntryRow
from ledger.custody.privacy import may_read
from ledger.custody.provenance import lot_head_entry, walk
from ledger.db import WRITE, table
from ledger.disclosures import Disclosure
from ledger.entries import Entry
from ledger.errors import (
    ConfigError,
    ForbiddenError,
    IntegrityError,
    NotFoundError,
)
from ledger.registry.access import Caller
from ledger.registry.models import ActorRow, MinerRow, SiteRow
from ledger.sealing import Sealer
from ledger.statements import ID_RE, format_time

_DIGEST_RE = re.compile(r"^[0-9a-f]{64}\Z")
DISCLOSURES = table(DisclosureRow)
LOG = table(LogEntryRow)
LINKS = table(EntryLinkRow)
ACTORS = table(ActorRow)
MINERS = table(MinerRow)
SITES = table(SiteRow)


@dataclass(frozen=True)
class Revealed:
    """One private field of an entry, as its reader gets it (``disclosure`` None when erased)."""

    seq: int
    type: str
    actor: str
    digest: str
    name: str
    disclosure: Disclosure | None
    erased: str | None


@dataclass(frozen=True)
class Revealing:
    """The disclosures a caller may read in some scope, and how many others it holds."""

    disclosures: list[Revealed]
    withheld: int


@dataclass(frozen=True)
class Erasure:
    """What one erasure did: the miner, its registration entry, the digests erased, when."""

    miner: str
    seq: int  # the miner's registration entry
    erased: list[str]  # digests erased by this call (none when already erased)
    time: str


@dataclass
class SqlRelations:
    """:class:`~ledger.custody.privacy.Relations` read from the log and the registry."""

    conn: Connection
    _signers: dict[tuple[int, str], str | None] = field(default_factory=dict)
    _cooperatives: dict[str, str | None] = field(default_factory=dict)

    def signer_followed(self, seq: int, subject: str, leaf_hash: bytes) -> str | None:
        if (seq, subject) not in self._signers:
            self._signers[(seq, subject)] = self._signer_followed(seq, subject, leaf_hash)
        return self._signers[(seq, subject)]

    def _signer_followed(self, seq: int, subject: str, leaf_hash: bytes) -> str | None:
        """Read from the signed bytes of the linked entry, which must hash to ``leaf_hash``."""
        query = select(LOG.c.data).join(LINKS, LINKS.c.after_entry == LOG.c.seq)
        data = self.conn.execute(
            query.where(LINKS.c.seq == seq, LINKS.c.subject == subject)
        ).scalar()
        if data is None:
            return None
        entry = entries.decode(bytes(data), strict=False)
        if entry.leaf_hash != leaf_hash:
            raise IntegrityError(
                f"entry {seq} follows {subject}'s entry {leaf_hash.hex()[:16]}..., but the "
                f"linked entry {entry.seq} hashes otherwise; run `ledger audit`."
            )
        return entry.statement.actor

    def cooperative_of(self, site_id: str) -> str | None:
        if site_id not in self._cooperatives:
            query = select(SITES.c.cooperative).where(SITES.c.id == site_id)
            self._cooperatives[site_id] = self.conn.execute(query).scalar()
        return self._cooperatives[site_id]


class DisclosureReader:
    """Reads disclosures for one caller, on one connection."""

    def __init__(self, conn: Connection, sealer: Sealer | None, caller: Caller) -> None:
        self.conn = conn
        self.sealer = sealer
        self.caller = caller
        self.relations = SqlRelations(conn)

    def of_entry(self, seq: int) -> Revealing:
        """The disclosures of entry ``seq``; :class:`ForbiddenError` if not entitled."""
        entry = self._entries([seq])[0]
        self._require_entitled(entry)
        return self._reveal([entry])

    def of_lot(self, lot_id: str) -> Revealing:
        """The disclosures of the lot's own entries: from the one that created it to its head."""
        return self._reveal(self._lot_chain(lot_id))

    def of_actor(self, actor_id: str) -> Revealing:
        """The disclosures of the actor's registration (its contact data)."""
        seq = self._registered(ACTORS, actor_id, "actor")
        return self._reveal(self._entries([seq]))

    def of_miner(self, miner_id: str) -> Revealing:
        """The disclosures of the miner's registration (its personal data)."""
        seq = self._registered(MINERS, miner_id, "miner")
        return self._reveal(self._entries([seq]))

    def one(self, seq: int, digest: str) -> tuple[Revealed, Entry]:
        """One field's disclosure, of entry ``seq``, and the entry; :class:`ForbiddenError` if
        not entitled."""
        query = select(DISCLOSURES).where(DISCLOSURES.c.seq == seq, DISCLOSURES.c.digest == digest)
        row = self.conn.execute(query).first() if _DIGEST_RE.match(digest) else None
        if row is None:
            raise NotFoundError(
                f"entry {seq} has no disclosure with digest {digest[:64]!r}.",
                code="unknown_disclosure",
            )
        entry = self._entries([seq])[0]
        self._require_entitled(entry)
        return self._open(entry, row), entry

    # -- helpers ------------------------------------------------------------------------------
    def _require_entitled(self, entry: Entry) -> None:
        if not may_read(self.caller, entry.seq, entry.statement, self.relations):
            raise ForbiddenError(
                f"{self.caller.actor} may not read the private fields of entry {entry.seq}: "
                "only its signer, its counterparty, auditors and regulators may.",
                code="not_entitled",
            )

    def _reveal(self, found: Sequence[Entry]) -> Revealing:
        rows = self._rows(entry.seq for entry in found)
        shown: list[Revealed] = []
        withheld = 0
        for entry in found:
            held = rows.get(entry.seq, [])
            if not held:
                continue
            if may_read(self.caller, entry.seq, entry.statement, self.relations):
                shown.extend(self._open(entry, row) for row in held)
            else:
                withheld += len(held)
        return Revealing(shown, withheld)

    def _open(self, entry: Entry, row: Row[object]) -> Revealed:
        mapping = row._mapping
        digest, name = mapping["digest"], mapping["name"]
        statement = entry.statement
        sealed = mapping["ciphertext"]
        if sealed is None:
            return Revealed(
                entry.seq, statement.type, statement.actor, digest, name, None, mapping["erased"]
            )
        if self.sealer is None:
            raise ConfigError(
                "this server has no data key to open private fields.", code="no_data_key"
            )
        disclosure = Disclosure.from_json(canonical.parse(self.sealer.open(bytes(sealed), digest)))
        if disclosure.digest() != digest or disclosure.name != name:
            raise IntegrityError(
                f"the stored disclosure {digest[:16]}... does not match its digest.",
                code="disclosure_corrupt",
            )
        return Revealed(entry.seq, statement.type, statement.actor, digest, name, disclosure, None)

    def _rows(self, seqs: Iterable[int]) -> dict[int, list[Row[object]]]:
        wanted = sorted(set(seqs))
        found: dict[int, list[Row[object]]] = defaultdict(list)
        if not wanted:
            return found
        query = (
            select(DISCLOSURES)
            .where(DISCLOSURES.c.seq.in_(wanted))
            .order_by(DISCLOSURES.c.seq, DISCLOSURES.c.name)
        )
        for row in self.conn.execute(query):
            found[row.seq].append(row)
        return found

    def _entries(self, seqs: Sequence[int]) -> list[Entry]:
        query = select(LOG.c.seq, LOG.c.data).where(LOG.c.seq.in_(seqs)).order_by(LOG.c.seq)
        found = [entries.decode(bytes(row.data), strict=False) for row in self.conn.execute(query)]
        if len(found) != len(set(seqs)):
            raise NotFoundError(f"there is no entry {max(seqs)}.", code="no_entry")
        return found

    def _registered(self, tbl: Table, ident: str, what: str) -> int:
        seq = None
        if ID_RE.match(ident):
            seq = self.conn.execute(select(tbl.c.registered_seq).where(tbl.c.id == ident)).scalar()
        if seq is None:
            raise NotFoundError(f"there is no {what} {ident[:64]!r}.", code=f"unknown_{what}")
        return int(seq)

    def _lot_chain(self, lot_id: str) -> list[Entry]:
        """The lot's own entries, following ``after["lot:ID"]`` back from its head."""
        if not ID_RE.match(lot_id):
            raise NotFoundError(f"there is no lot {lot_id[:64]!r}.", code="unknown_lot")
        head = lot_head_entry(self.conn, lot_id)
        return walk(self.conn, lot_id, head, only=f"lot:{lot_id}")


def erase_miner(engine: Engine, miner_id: str, *, now: datetime | None = None) -> Erasure:
    """Erase the personal disclosures of a miner's registration (idempotent).

    Raises:
        NotFoundError: there is no such miner (``unknown_miner``).
    """
    moment = format_time((now or datetime.now(UTC)).replace(microsecond=0))
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            seq = None
            if ID_RE.match(miner_id):
                query = select(MINERS.c.registered_seq).where(MINERS.c.id == miner_id)
                seq = conn.execute(query).scalar()
            if seq is None:
                raise NotFoundError(f"there is no miner {miner_id[:64]!r}.", code="unknown_miner")
            pending = DISCLOSURES.c.seq == seq, DISCLOSURES.c.erased.is_(None)
            digests = list(
                conn.execute(
                    select(DISCLOSURES.c.digest).where(*pending).order_by(DISCLOSURES.c.digest)
                ).scalars()
            )
            conn.execute(update(DISCLOSURES).where(*pending).values(ciphertext=None, erased=moment))
    return Erasure(miner_id, int(seq), digests, moment)
