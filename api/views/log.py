"""The log, for monitors and verifiers: checkpoints, the operator key, entries, proofs.

All public. Proofs have the shape of the CLI's ``ledger proof ...`` output, hashes in hex.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from api import proofs, state
from api.blueprint import Blueprint
from api.limits import MAX_SEQ
from api.queries import log as queries
from api.schemas.log import (
    CheckpointArgsSchema,
    CheckpointSchema,
    ConsistencyArgsSchema,
    ConsistencyProofSchema,
    EntryPageSchema,
    EntryRangeArgsSchema,
    EntrySchema,
    InclusionArgsSchema,
    InclusionProofSchema,
    OperatorKeySchema,
)
from ledger import entries

_CHECKPOINT = "The C2SP signed note as text/plain (the default), or JSON with ?format=json."

blp = Blueprint(
    "log",
    __name__,
    url_prefix="/v1",
    description="The append-only log: signed checkpoints, entries and Merkle proofs.",
)


@blp.route("/checkpoint", methods=["GET"])
@blp.arguments(CheckpointArgsSchema, location="query")
@blp.response(200, CheckpointSchema, description=_CHECKPOINT)
@blp.alt_response(
    200,
    schema={"type": "string"},
    content_type="text/plain",
    description=_CHECKPOINT,
    success=True,
)
@blp.errors(400)
def checkpoint(args: dict[str, Any]) -> Any:
    """The latest signed checkpoint: a C2SP signed note, or JSON with ?format=json."""
    signed = proofs.latest(state.ledger())
    if args["format"] == "json":
        return signed
    return Response(signed.note, content_type="text/plain; charset=utf-8")


@blp.route("/operator-key", methods=["GET"])
@blp.response(200, OperatorKeySchema)
def operator_key() -> Any:
    """The operator's checkpoint verifier key, as named by the genesis entry."""
    key = state.ledger().verifier_key()
    return {
        "origin": key.name,
        "key_id": key.key_id.hex(),
        "public_key": key.public_key,
        "verifier_key": str(key),
    }


@blp.route(f"/entries/<int(max={MAX_SEQ}):seq>", methods=["GET"])
@blp.response(200, EntrySchema)
@blp.errors(404)
def get_entry(seq: int) -> Any:
    """One entry: its exact bytes (base64), leaf hash, and the decoded public statement."""
    return queries.entry_view(entries.decode(state.ledger().entry_bytes(seq), strict=False))


@blp.route("/entries", methods=["GET"])
@blp.arguments(EntryRangeArgsSchema, location="query")
@blp.response(200, EntryPageSchema)
@blp.errors(400)
def list_entries(args: dict[str, Any]) -> Any:
    """Entries from ``from`` to ``to`` (exclusive), at most 100 a page; follow ``next``."""
    return queries.entries_page(state.connection(), args["start"], args["end"])


@blp.route("/proofs/inclusion", methods=["GET"])
@blp.arguments(InclusionArgsSchema, location="query")
@blp.response(200, InclusionProofSchema)
@blp.errors(400, 404)
def inclusion_proof(args: dict[str, Any]) -> Any:
    """The inclusion proof of entry ``seq`` in the tree of ``size`` entries (default: now)."""
    return proofs.inclusion(state.ledger(), args["seq"], args["size"])


@blp.route("/proofs/consistency", methods=["GET"])
@blp.arguments(ConsistencyArgsSchema, location="query")
@blp.response(200, ConsistencyProofSchema)
@blp.errors(400, 404)
def consistency_proof(args: dict[str, Any]) -> Any:
    """The consistency proof from the tree of ``old`` entries to the tree of ``new``."""
    return proofs.consistency(state.ledger(), args["old"], args["new"])
