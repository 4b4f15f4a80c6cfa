"""Who may read a statement's private fields, and how an exported disclosure is checked. Pure.

A statement's disclosures (its private fields, see :mod:`ledger.disclosures`) may be read by:

- its **signer** (``statement.actor``);
- its **counterparty**, one actor decided by the statement type (:func:`counterparty`):

  ======================  ==================================================================
  type                    counterparty
  ======================  ==================================================================
  ``lot.dispatch``        the addressee, ``body.to`` (price and invoice of the sale)
  ``lot.receive``         the dispatcher: the signer of the entry the receipt names in
                          ``after`` (the dispatch), who issued the invoice being received
  ``lot.register``        none (the price paid at the mine and the miners are the
                          cooperative's own)
  ``lot.export``          none (the buyer abroad is outside this ledger)
  ``actor.register``      the registered actor, ``body.id`` (its own contact data)
  ``miner.register``      the miner's cooperative, ``body.cooperative`` (when a registrar
                          signed the registration)
  ``attestation``         the attested party: the actor (subject ``actor``), or the
                          cooperative operating the site (subject ``site``); none for a lot,
                          whose holder changes
  ``incident``            none: the details and witnesses are the reporter's (and the
                          auditors' and regulators'), never the subject's
  other types             none (they have no private fields)
  ======================  ==================================================================

- every actor with a role in :data:`READER_ROLES` (``auditor``, ``regulator``): due-diligence
  audits and the state's oversight need prices and payments across the chain.

Nobody else, including registrars (they may erase a miner's personal data, not read it) and
inspectors (their attestations are public; their reports are theirs).

:func:`verify_disclosure_export` checks the self-contained export of one field (the
``GET /v1/entries/{seq}/disclosures/{digest}`` answer) offline: the checkpoint's signature, the
entry's inclusion under it, and the disclosure's digest among the entry's ``sd``. This module
imports no database or web library, so an auditor's verifier can use it alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ledger import canonical, entries, merkle
from ledger.bodies import PRIVATE_FIELDS
from ledger.checkpoint import VerifierKey, verify_checkpoint
from ledger.disclosures import Disclosure
from ledger.errors import ProofError, ValidationError
from ledger.registry.access import Caller
from ledger.statements import Statement

READER_ROLES = frozenset({"auditor", "regulator"})


class Relations(Protocol):
    """What the entitlement rules need to know from the log besides the statement itself."""

    def signer_followed(self, seq: int, subject: str, leaf_hash: bytes) -> str | None:
        """The actor that signed the entry that entry ``seq`` names, with ``leaf_hash``, as
        ``subject``'s previous head in its ``after`` (None if the log holds no such entry)."""

    def cooperative_of(self, site_id: str) -> str | None:
        """The cooperative operating the site (None if there is no such site)."""


def counterparty(seq: int, statement: Statement, relations: Relations) -> str | None:
    """The one actor besides the signer who may read the disclosures of ``statement``, the
    statement of entry ``seq``, if any."""
    body = statement.body
    kind = statement.type
    if kind == "lot.dispatch":
        return str(body["to"])
    if kind == "lot.receive":
        subject = f"lot:{body['lot']}"
        head = statement.after.get(subject)
        if head is None:
            return None
        return relations.signer_followed(seq, subject, bytes.fromhex(head))
    if kind == "actor.register":
        return str(body["id"])
    if kind == "miner.register":
        return str(body["cooperative"])
    if kind == "attestation":
        subject = body["subject"]
        if subject["kind"] == "actor":
            return str(subject["id"])
        if subject["kind"] == "site":
            return relations.cooperative_of(subject["id"])
    return None


def may_read(caller: Caller, seq: int, statement: Statement, relations: Relations) -> bool:
    """Whether ``caller`` may read the disclosures of ``statement``, entry ``seq`` (see the
    module's table)."""
    if caller.roles & READER_ROLES or caller.actor == statement.actor:
        return True
    return caller.actor == counterparty(seq, statement, relations)


def verify_disclosure_export(export: Mapping[str, Any], verifier_key: VerifierKey) -> Disclosure:
    """Check a disclosure export against the log's key and return the disclosure.

    The export is ``{"digest", "seq", "disclosure": [salt_b64, name, value], "entry": base64,
    "inclusion": {"proof": [hex, ...], ...}, "checkpoint": {"note": signed note, ...}}``. The
    checks: the checkpoint note is signed by ``verifier_key`` for its origin; the entry bytes are
    included in that checkpoint's tree at their own sequence number; the disclosure's digest is
    ``digest`` and one of the entry's statement's ``sd``, and names a private field of its type.
    The statement's signature is not checked: the log vouches for the entry, and the signer's key
    is not part of the export.

    Raises:
        ValidationError: the export is malformed, or the disclosure was erased (``erased``).
        ProofError: a check fails (``details`` carry the expected and computed values).
    """
    if not isinstance(export, Mapping):
        raise ValidationError("a disclosure export is a JSON object.")
    checkpoint = verify_checkpoint(
        _text(_part(export, "checkpoint"), "note"), verifier_key, verifier_key.name
    )
    entry = entries.decode(canonical.b64decode(_text(export, "entry"), field="entry"))
    proof = _part(export, "inclusion").get("proof")
    if not isinstance(proof, list):
        raise ValidationError("inclusion.proof must be a list of hashes.", field="inclusion.proof")
    path = [canonical.hex32(node, field="inclusion.proof") for node in proof]
    merkle.verify_inclusion(entry.leaf_hash, entry.seq, checkpoint.size, path, checkpoint.root)
    if export.get("seq") != entry.seq:
        raise ProofError(
            "the export's seq is not the entry's.", expected=entry.seq, computed=export.get("seq")
        )
    return _disclosure_of(export, entry.statement)


def _disclosure_of(export: Mapping[str, Any], statement: Statement) -> Disclosure:
    if export.get("disclosure") is None:
        raise ValidationError(
            "this disclosure was erased: only its digest remains in the log.", code="erased"
        )
    disclosure = Disclosure.from_json(export["disclosure"])
    digest = disclosure.digest()
    if digest != export.get("digest"):
        raise ProofError(
            "the disclosure does not hash to the export's digest.",
            expected=export.get("digest"),
            computed=digest,
        )
    if digest not in statement.sd:
        raise ProofError(
            "the disclosure's digest is not among the digests the statement signed (sd).",
            expected=list(statement.sd),
            computed=digest,
        )
    if disclosure.name not in PRIVATE_FIELDS.get(statement.type, frozenset()):
        raise ValidationError(
            f"{disclosure.name!r} is not a private field of {statement.type}.", field="disclosure"
        )
    return disclosure


def _part(export: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = export.get(name)
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a JSON object.", field=name)
    return value


def _text(obj: Mapping[str, Any], name: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string.", field=name)
    return value
