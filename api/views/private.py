"""Private data: the disclosures a caller is entitled to, one field's export, erasure.

Every route needs an API token (401 without one). What a caller may read is decided per
statement by :mod:`ledger.custody.privacy`: its signer, its counterparty (the addressee of a
dispatch, the dispatcher of a receipt, the registered actor, the miner's cooperative, the
attested party), and actors with the auditor or regulator role. Lists show what the caller may
read and count the rest as ``withheld``; a single entry or field the caller may not read is 403
``not_entitled``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response

from api import auth, private, state
from api.blueprint import Blueprint
from api.limits import MAX_SEQ
from api.schemas.private import DisclosureExportSchema, DisclosuresSchema, ErasureSchema
from ledger.custody.disclosure_store import erase_miner
from ledger.errors import ForbiddenError
from ledger.registry.access import REGISTRAR

blp = Blueprint(
    "private",
    __name__,
    url_prefix="/v1",
    description="Private fields (prices, invoices, contact and personal data) for those entitled "
    "to them; a field's export for auditors; erasure of a miner's personal data. All need an API "
    "token.",
)


@blp.after_request
def no_store(response: Response) -> Response:
    """Private answers must not be kept by browsers or proxies."""
    response.headers["Cache-Control"] = "no-store"
    return response


@blp.route(f"/entries/<int(max={MAX_SEQ}):seq>/private", methods=["GET"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.response(200, DisclosuresSchema)
@blp.errors(401, 403, 404)
def entry_private(seq: int) -> Any:
    """The disclosures of one entry, if the caller may read them (else 403 not_entitled).

    Entitled: the statement's signer; its counterparty (lot.dispatch: the addressee;
    lot.receive: the dispatcher; actor.register: the registered actor; miner.register: the
    cooperative; attestation: the attested actor, or the site's cooperative; lot.register and
    lot.export: none); actors with the auditor or regulator role.
    """
    return private.reader(auth.caller()).of_entry(seq)


@blp.route("/lots/<lot_id>/private", methods=["GET"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.response(200, DisclosuresSchema)
@blp.errors(401, 404)
def lot_private(lot_id: str) -> Any:
    """The disclosures of the lot's own entries (its creation, dispatches, receipts, export;
    not its parents') that the caller may read: prices, invoices, the miners who dug it."""
    return private.reader(auth.caller()).of_lot(lot_id)


@blp.route("/actors/<actor_id>/private", methods=["GET"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.response(200, DisclosuresSchema)
@blp.errors(401, 404)
def actor_private(actor_id: str) -> Any:
    """The actor's contact data from its registration, if the caller may read it (the
    registrar who signed it, the actor itself, auditors, regulators)."""
    return private.reader(auth.caller()).of_actor(actor_id)


@blp.route("/miners/<miner_id>/private", methods=["GET"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.response(200, DisclosuresSchema)
@blp.errors(401, 404)
def miner_private(miner_id: str) -> Any:
    """The miner's personal data from its registration, if the caller may read it (the
    signer, the miner's cooperative, auditors, regulators); erased fields say when."""
    return private.reader(auth.caller()).of_miner(miner_id)


@blp.route(f"/entries/<int(max={MAX_SEQ}):seq>/disclosures/<digest>", methods=["GET"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.response(200, DisclosureExportSchema)
@blp.errors(401, 403, 404)
def disclosure_export(seq: int, digest: str) -> Any:
    """One private field of an entry, as a self-contained export to hand to an auditor.

    `digest` is one of the digests in the entry's statement's `sd`. The export holds the
    disclosure, the exact bytes of the entry, and
    the entry's inclusion proof against a signed checkpoint: checkable offline against the
    operator's key alone (`ledger.custody.privacy.verify_disclosure_export`). Entitlement as for
    `GET /v1/entries/{seq}/private`.
    """
    return private.export(auth.caller(), seq, digest)


@blp.route("/miners/<miner_id>/erase", methods=["POST"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.response(200, ErasureSchema)
@blp.errors(401, 403, 404)
def erase(miner_id: str) -> Any:
    """Erase a miner's personal data (registrars only; idempotent).

    The disclosures of the miner's registration lose their values for good; their digests stay
    in the log, so every signature, proof and public view is unchanged and the ledger still
    audits clean. Reading them afterwards says when they were erased.
    """
    caller = auth.caller()
    if REGISTRAR not in caller.roles:
        raise ForbiddenError(
            f"{caller.actor} may not erase personal data: only a registrar may.", code="wrong_role"
        )
    now: datetime = state.ledger().clock()
    return erase_miner(state.service().engine, miner_id, now=now)
