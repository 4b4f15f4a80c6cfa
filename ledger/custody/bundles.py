"""Building a lot's proof bundle from the database (the format is :mod:`ledger.bundle`).

The bundle holds the lot's provenance DAG and what a buyer needs to check it offline:

1. the lot's own entries and, through the ``lot:`` links of ``after``, those of every lot it was
   split, merged or processed from, back to the registrations at the mine sites
   (:func:`ledger.custody.provenance.walk`);
2. the attestations about those lots, their origin sites and the actors that held or were sent
   them (and the revocations of those attestations), and the incidents reported about those lots
   and sites (and their resolutions);
3. the registrations of those sites and actors, and for every signer of any entry so far the
   entry that registered its key (and the one that revoked it, if any) and the one that
   registered the actor -- repeated until nothing new is needed, which ends at genesis (entry 0,
   always included).

Every lookup is by primary key or an indexed column (leaf hash, key id, actor id, site id,
attestation subject): the cost follows the size of the provenance, not of the log. The entries
are proven against one signed checkpoint taken after they were read, so it covers them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ledger import entries
from ledger.bundle import Bundle, BundleEntry, Consistency, Verdict, encode, verify
from ledger.checkpoint import note_checkpoint
from ledger.custody.log import Ledger
from ledger.custody.models import AttestationRow, IncidentRow, LogEntryRow
from ledger.custody.provenance import lot_head_entry, walk
from ledger.entries import Entry
from ledger.errors import ConfigError, ValidationError
from ledger.registry.models import ActorRow, KeyRow, SiteRow
from ledger.statements import ID_RE


@dataclass
class _Collector:
    """The entries gathered so far and the registry objects already looked up."""

    conn: Connection
    found: dict[int, Entry] = field(default_factory=dict)
    keys: set[str] = field(default_factory=set)
    actors: set[str] = field(default_factory=set)
    sites: set[str] = field(default_factory=set)

    def add(self, more: Iterable[Entry]) -> None:
        for entry in more:
            self.found[entry.seq] = entry

    def fetch(self, seqs: set[int]) -> list[Entry]:
        wanted = sorted(seqs - set(self.found))
        if not wanted:
            return []
        rows = self.conn.execute(
            select(LogEntryRow.data).where(LogEntryRow.seq.in_(wanted))
        ).scalars()
        fetched = [entries.decode(bytes(data), strict=False) for data in rows]
        self.add(fetched)
        return fetched


def provenance_entries(conn: Connection, lot_id: str) -> tuple[bytes, list[Entry]]:
    """The lot's head and every entry of its bundle, oldest first."""
    if not isinstance(lot_id, str) or not ID_RE.match(lot_id):
        raise ValidationError("a lot id is 1-64 characters from A-Z a-z 0-9 . _ : -.")
    head = lot_head_entry(conn, lot_id)
    collect = _Collector(conn)
    custody = walk(conn, lot_id, head)
    collect.add(custody)
    lots, sites, actors = _involved(custody)
    fresh = collect.fetch(
        {0} | _attestation_seqs(conn, lots, sites, actors) | _incident_seqs(conn, lots, sites)
    )
    _registry(collect, sites, set(actors), [*custody, *fresh])
    return head[0], [collect.found[seq] for seq in sorted(collect.found)]


def _involved(custody: list[Entry]) -> tuple[set[str], set[str], set[str]]:
    """Lots of the DAG, their origin sites, and the actors that held or were sent them."""
    lots: set[str] = set()
    sites: set[str] = set()
    actors: set[str] = set()
    for entry in custody:
        body = entry.statement.body
        actors.add(entry.statement.actor)
        lots.update(s[4:] for s in entry.statement.after if s.startswith("lot:"))
        if "lot" in body:
            lots.add(body["lot"])
        for out in [*body.get("outputs", []), body.get("output", {})]:
            if "lot" in out:
                lots.add(out["lot"])
        if entry.statement.type == "lot.register":
            sites.add(body["site"])
        if entry.statement.type == "lot.dispatch":
            actors.add(body["to"])
    return lots, sites, actors


def _attestation_seqs(
    conn: Connection, lots: set[str], sites: set[str], actors: set[str]
) -> set[int]:
    wanted = {("lot", i) for i in lots} | {("site", i) for i in sites}
    wanted |= {("actor", i) for i in actors}
    row = AttestationRow
    return _about(conn, wanted, row.subject_kind, row.subject_id, row.seq, row.revoked_seq)


def _incident_seqs(conn: Connection, lots: set[str], sites: set[str]) -> set[int]:
    """The incidents reported about the DAG's lots and origin sites, and their resolutions:
    bad news travels with the bundle as surely as the attestations do."""
    wanted = {("lot", i) for i in lots} | {("site", i) for i in sites}
    row = IncidentRow
    return _about(conn, wanted, row.subject_kind, row.subject_id, row.seq, row.resolved_seq)


def _about(
    conn: Connection,
    wanted: set[tuple[str, str]],
    kind: Any,
    subject_id: Any,
    seq: Any,
    closing_seq: Any,
) -> set[int]:
    """The entries (and the ones that closed them: a revocation, a resolution) about the
    ``(kind, id)`` subjects in ``wanted``, by the indexed subject id."""
    ids = sorted({ident for _, ident in wanted})
    seqs: set[int] = set()
    for found_kind, found_id, found_seq, closed in conn.execute(
        select(kind, subject_id, seq, closing_seq).where(subject_id.in_(ids))
    ):
        if (found_kind, found_id) in wanted:
            seqs.add(found_seq)
            if closed is not None:
                seqs.add(closed)
    return seqs


def _registry(collect: _Collector, sites: set[str], actors: set[str], todo: list[Entry]) -> None:
    """Add the site, actor and key registrations (and key revocations) the entries rely on."""
    keys = {entry.statement.key for entry in todo}
    actors |= {entry.statement.actor for entry in todo}
    while keys or actors or sites:
        seqs: set[int] = set()
        new_sites = sites - collect.sites
        collect.sites |= new_sites
        for site_seq, cooperative in collect.conn.execute(
            select(SiteRow.registered_seq, SiteRow.cooperative).where(SiteRow.id.in_(new_sites))
        ):
            seqs.add(site_seq)
            actors.add(cooperative)
        seqs |= _key_seqs(collect, keys - collect.keys)
        seqs |= _actor_seqs(collect, actors - collect.actors)
        fresh = collect.fetch(seqs)
        sites, keys = set(), {entry.statement.key for entry in fresh} - collect.keys
        actors = {entry.statement.actor for entry in fresh} - collect.actors


def _key_seqs(collect: _Collector, keys: set[str]) -> set[int]:
    collect.keys |= keys
    seqs: set[int] = set()
    if not keys:
        return seqs
    for added, revoked in collect.conn.execute(
        select(KeyRow.added_seq, KeyRow.revoked_seq).where(KeyRow.key_id.in_(sorted(keys)))
    ):
        seqs.add(added)
        if revoked is not None:
            seqs.add(revoked)
    return seqs


def _actor_seqs(collect: _Collector, actors: set[str]) -> set[int]:
    collect.actors |= actors
    if not actors:
        return set()
    return set(
        collect.conn.execute(
            select(ActorRow.registered_seq).where(ActorRow.id.in_(sorted(actors)))
        ).scalars()
    )


def build_bundle(ledger: Ledger, lot_id: str, *, since: int | None = None) -> Bundle:
    """The lot's proof bundle against a checkpoint of the current log.

    Args:
        ledger: the log service (its engine is read; a checkpoint may be signed and kept).
        lot_id: the lot.
        since: the size of an older checkpoint the buyer kept: the bundle then carries a
            consistency proof from it.

    Raises:
        NotFoundError: no such lot.
        ValidationError: a malformed lot id, or ``since`` beyond the checkpoint.
        ConfigError: no checkpoint covers the lot's entries, and the ledger has no operator
            key to sign one.
    """
    with ledger.engine.connect() as conn:
        head, found = provenance_entries(conn, lot_id)
    note = ledger.latest_checkpoint()
    checkpoint = note_checkpoint(note)
    seqs = [entry.seq for entry in found]
    if seqs[-1] >= checkpoint.size:  # only without the operator key: it signs a fresh one
        raise ConfigError(
            f"no signed checkpoint covers entry {seqs[-1]} yet (the latest is of size "
            f"{checkpoint.size}); sign one with the operator key (set LEDGER_KEY_PASSPHRASE).",
            code="no_checkpoint",
        )
    proofs = ledger.inclusion_proofs(seqs, checkpoint.size)
    consistency = None
    if since is not None:
        if not 0 < since <= checkpoint.size:
            raise ValidationError(
                f"since must be a checkpoint size from 1 to {checkpoint.size}.",
                field="since",
                location="query",
            )
        proof = ledger.consistency_proof(since, checkpoint.size) if since < checkpoint.size else []
        consistency = Consistency(since, tuple(proof))
    return Bundle(
        lot=lot_id,
        head=head,
        checkpoint=note,
        key_id=ledger.verifier_key().key_id,
        entries=tuple(
            BundleEntry(e.seq, e.data, tuple(p)) for e, p in zip(found, proofs, strict=True)
        ),
        consistency=consistency,
    )


def bundle_bytes(ledger: Ledger, lot_id: str, *, since: int | None = None) -> bytes:
    """:func:`build_bundle`, encoded: the bytes served and written to files."""
    return encode(build_bundle(ledger, lot_id, since=since))


def verified_bundle(ledger: Ledger, lot_id: str) -> tuple[bytes, Verdict]:
    """The lot's bundle and the verdict of the buyer's own verifier on it, run here.

    The public page says "verified" only on this verdict: the server checks what it serves
    with exactly the code a buyer runs offline.
    """
    data = bundle_bytes(ledger, lot_id)
    return data, verify(data, ledger.verifier_key())
