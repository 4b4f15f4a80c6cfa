"""Schemas of the log: submissions and receipts, checkpoints, the operator key, entries, proofs.

Hashes are 64 lowercase hex characters, proofs lists of them (docs/PROTOCOL.md section 12.5);
entry bytes and keys are standard base64. The proof objects have the shape of the CLI's
``ledger proof inclusion`` and ``ledger proof consistency`` output.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.limits import MAX_BATCH, MAX_ENTRIES_PAGE, MAX_SEQ
from api.schemas.common import Base64, ErrorSchema, Hex, hash_field
from ledger.custody.log import ACCEPTED, DUPLICATE, REJECTED


# -- submitting -------------------------------------------------------------------------------
class SubmissionSchema(Schema):
    """A signed statement and the disclosures of its private fields (outer shape only)."""

    envelope = fields.Dict(
        required=True,
        metadata={"description": 'The signed envelope {"statement": {...}, "sig": base64}.'},
    )
    disclosures = fields.List(
        fields.List(fields.Raw()),
        load_default=list,
        metadata={"description": "One [salt_b64, name, value] per digest in statement.sd."},
    )


class BatchSchema(Schema):
    statements = fields.List(
        fields.Nested(SubmissionSchema),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": f"At most {MAX_BATCH} statements, appended in order."},
    )


class InclusionProofSchema(Schema):
    seq = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    leaf_hash = hash_field("RFC 6962 leaf hash of the entry.", required=True)
    root = hash_field("Root of the tree of tree_size entries.", required=True)
    proof = fields.List(Hex(), required=True, metadata={"description": "Audit path, hex."})


class CheckpointSchema(Schema):
    origin = fields.String(required=True)
    size = fields.Integer(required=True)
    root = hash_field("Tree root at size.", required=True)
    note = fields.String(required=True, metadata={"description": "The C2SP signed note, verbatim."})


class ReceiptSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf([ACCEPTED, DUPLICATE]))
    seq = fields.Integer(required=True)
    leaf_hash = hash_field("Leaf hash of the entry.", required=True)
    type = fields.String(required=True)
    actor = fields.String(required=True)
    key = fields.String(required=True)
    n = fields.Integer(required=True)
    inclusion = fields.Nested(InclusionProofSchema, required=True)
    checkpoint = fields.Nested(CheckpointSchema, required=True)


class ItemResultSchema(Schema):
    index = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([ACCEPTED, DUPLICATE, REJECTED]))
    seq = fields.Integer(allow_none=True)
    leaf_hash = hash_field("Leaf hash of the entry.", allow_none=True)
    type = fields.String(allow_none=True)
    inclusion = fields.Nested(InclusionProofSchema, allow_none=True)
    error = fields.Nested(ErrorSchema, allow_none=True)


class BatchReceiptSchema(Schema):
    results = fields.List(fields.Nested(ItemResultSchema), required=True)
    checkpoint = fields.Nested(
        CheckpointSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The checkpoint every inclusion proof is against."},
    )


# -- reading ----------------------------------------------------------------------------------
class CheckpointArgsSchema(Schema):
    format = fields.String(load_default="text", validate=validate.OneOf(["text", "json"]))


class OperatorKeySchema(Schema):
    origin = fields.String(required=True)
    key_id = fields.String(
        required=True, metadata={"description": "Signed-note key id, 8 hex digits."}
    )
    public_key = Base64(required=True, metadata={"description": "Raw Ed25519 key, base64."})
    verifier_key = fields.String(
        required=True, metadata={"description": "<origin>+<key id>+<base64(0x01 || key)>."}
    )


class EntrySchema(Schema):
    seq = fields.Integer(required=True)
    leaf_hash = hash_field("SHA-256(0x00 || entry).", required=True)
    prev = hash_field("Leaf hash of the previous entry.", required=True, allow_none=True)
    logged = fields.String(required=True)
    entry = Base64(
        required=True, metadata={"description": "The exact entry bytes the leaf hash covers."}
    )
    statement = fields.Dict(
        required=True, metadata={"description": "The signed public statement, decoded."}
    )
    sig = Base64(required=True)


class EntryRangeArgsSchema(Schema):
    start = fields.Integer(
        data_key="from", load_default=0, validate=validate.Range(min=0, max=MAX_SEQ)
    )
    end = fields.Integer(
        data_key="to",
        load_default=None,
        validate=validate.Range(min=0, max=MAX_SEQ),
        metadata={"description": f"Exclusive; a page holds at most {MAX_ENTRIES_PAGE}."},
    )


class EntryPageSchema(Schema):
    entries = fields.List(fields.Nested(EntrySchema), required=True)
    next = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "The `from` of the next page; null when none."},
    )


class InclusionArgsSchema(Schema):
    seq = fields.Integer(required=True, validate=validate.Range(min=0, max=MAX_SEQ))
    size = fields.Integer(
        load_default=None,
        validate=validate.Range(min=1, max=MAX_SEQ),
        metadata={"description": "Tree size; default: the current size."},
    )


class ConsistencyArgsSchema(Schema):
    old = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_SEQ))
    new = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_SEQ))


class ConsistencyProofSchema(Schema):
    old = fields.Integer(required=True)
    new = fields.Integer(required=True)
    old_root = hash_field("Root of the tree of old entries.", required=True)
    new_root = hash_field("Root of the tree of new entries.", required=True)
    proof = fields.List(Hex(), required=True)
