"""``POST /v1/statements`` and ``POST /v1/statements/batch``: submit signed statements.

Both need an API token (:mod:`api.auth`): the signer's own, or a registrar's for registry
statements. A statement is still accepted only if its signature verifies with a key the log says
belongs to its actor, and the rules allow that actor to make it.
"""

from __future__ import annotations

from typing import Any

from flask import url_for

from api import auth, state, submissions
from api.blueprint import Blueprint
from api.schemas.log import BatchReceiptSchema, BatchSchema, ReceiptSchema, SubmissionSchema

# Instances, not classes: given a class, webargs builds a new schema (deep-copying its fields)
# on every request. Loading with a shared schema is thread-safe: it keeps no per-call state.
_SUBMISSION = SubmissionSchema()
_BATCH = BatchSchema()

blp = Blueprint(
    "statements",
    __name__,
    url_prefix="/v1/statements",
    description="Submit signed statements; each accepted one comes back with its inclusion "
    "proof against a signed checkpoint.",
)


@blp.route("", methods=["POST"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.arguments(_SUBMISSION)
@blp.response(201, ReceiptSchema, description="Accepted: appended as a new entry.")
@blp.alt_response(
    200,
    schema=ReceiptSchema,
    description="Duplicate: this exact statement is already in the log.",
    success=True,
)
@blp.errors(400, 401, 403, 404, 409, 413, 415, 422, 503)
def submit(item: dict[str, Any]) -> Any:
    """Append one signed statement.

    The body is the envelope and the disclosures of its private fields. The answer carries the
    entry's sequence number and leaf hash, its inclusion proof and the signed checkpoint the
    proof is against. Resubmitting the same envelope returns the same entry with 200; a
    different statement under the same (key, n) is equivocation (409, kept as evidence).

    Needs an API token (`Authorization: Bearer <token>`, else 401). The token's actor must be
    the statement's signer (`statement.actor`); a registrar's token may also hand in the
    registry statements actor.register, actor.key.add, actor.key.revoke, site.register and
    miner.register signed by others (collected while onboarding them). Anything else is 403
    `token_actor_mismatch`. A token never makes a statement acceptable: its signature and the
    rules decide, exactly as for anyone.
    """
    auth.authorise(auth.caller(), item)
    receipt = submissions.submit(state.ledger(), item)
    location = url_for("log.get_entry", seq=receipt.seq)
    return receipt, 201 if receipt.created else 200, {"Location": location}


@blp.route("/batch", methods=["POST"])
@auth.required
@blp.doc(security=auth.SECURITY)
@blp.arguments(_BATCH)
@blp.response(200, BatchReceiptSchema)
@blp.errors(400, 401, 413, 415, 503)
def submit_batch(batch: dict[str, Any]) -> Any:
    """Append up to 100 statements in order, in one transaction.

    Each item gets its own result: accepted or duplicate (with its inclusion proof against the
    one checkpoint of the answer), or rejected (with the error, in the error shape). What is
    accepted is committed; a rejected statement leaves nothing behind.

    Needs an API token (else 401), checked per item as for `POST /v1/statements`: an item the
    token may not hand in is rejected in place with 403 `token_actor_mismatch`.
    """
    return auth.submit_batch(state.ledger(), auth.caller(), batch["statements"])
