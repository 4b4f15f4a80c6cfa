"""Private reads over HTTP: the caller's disclosures, and one field's self-contained export.

The export of ``GET /v1/entries/{seq}/disclosures/{digest}`` holds everything an auditor needs
to check one private field against the public log, offline, with
:func:`ledger.custody.privacy.verify_disclosure_export`: the disclosure, the exact entry bytes
whose statement lists its digest in ``sd``, and the entry's inclusion proof against a signed
checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

from api import proofs, state
from ledger.custody.disclosure_store import DisclosureReader, Revealed
from ledger.registry.access import Caller


@dataclass(frozen=True)
class DisclosureExport:
    revealed: Revealed
    entry: bytes
    inclusion: proofs.InclusionProof
    checkpoint: proofs.SignedCheckpoint


def reader(caller: Caller) -> DisclosureReader:
    """A reader of disclosures for ``caller`` on this request's connection."""
    return DisclosureReader(state.connection(), state.ledger().sealer, caller)


def export(caller: Caller, seq: int, digest: str) -> DisclosureExport:
    """One field's disclosure with its entry, inclusion proof and a signed checkpoint."""
    revealed, entry = reader(caller).one(seq, digest)
    ledger = state.ledger()
    checkpoint = proofs.latest(ledger)
    inclusion = proofs.inclusion_in(ledger, entry.seq, entry.leaf_hash, checkpoint)
    return DisclosureExport(revealed, entry.data, inclusion, checkpoint)
