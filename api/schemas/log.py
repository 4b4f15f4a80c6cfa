"""Schemas of the log: submissions and receipts, checkpoints, the operator key, entries, proofs.

Hashes are 64 lowercase hex characters, proofs lists of them (docs/PROTOCOL.md section 12.5);
entry bytes and keys are standard base64. The proof objects have the shape of the CLI's
``ledger proof inclusion`` and ``ledger proof consistency`` output.

The schemas of the two write endpoints have a fast path, because marshmallow's generic load and
dump were a fifth of a batch request's time. Loading: a body of the ordinary shape is returned
as marshmallow would return it, and anything else goes to marshmallow, so that every error is
exactly its error (``_FastLoad``). Dumping: the receipts of :mod:`api.submissions` are written
out field by field (``_FastDump``). ``tests/api/test_api_fastpath.py`` checks both against
marshmallow's own answers; the fields declared here remain the documented schema.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from api.limits import MAX_BATCH, MAX_ENTRIES_PAGE, MAX_SEQ
from api.schemas.common import Base64, ErrorSchema, Hex, hash_field
from api.submissions import BatchReceipt, ItemResult, Receipt
from ledger.custody.log import ACCEPTED, DUPLICATE, REJECTED

_SUBMISSION_FIELDS = frozenset({"envelope", "disclosures"})


class _FastLoad(Schema):
    """A schema whose :meth:`load` first tries :meth:`fast_load` (None: not sure, ask marshmallow).

    Only a plain load takes the fast path: no ``many``, ``partial`` or ``only``, and unknown
    fields raising, as the API's parser asks.
    """

    def fast_load(self, data: Any) -> dict[str, Any] | None:
        return None  # a subclass that knows its shape answers; otherwise marshmallow does

    def load(self, data: Any, **kwargs: Any) -> Any:
        plain = not (self.many or self.partial or self.only or kwargs.get("many"))
        plain = plain and kwargs.get("partial") is None and kwargs.get("unknown") in (None, RAISE)
        if plain and self.unknown == RAISE and (found := self.fast_load(data)) is not None:
            return found
        return super().load(data, **kwargs)


def fast_submission(data: Any) -> dict[str, Any] | None:
    """What :class:`SubmissionSchema` loads from ``data``, or None to leave it to marshmallow."""
    if type(data) is not dict or not data.keys() <= _SUBMISSION_FIELDS:
        return None
    envelope = data.get("envelope")
    found = data.get("disclosures", [])
    if type(envelope) is not dict or type(found) is not list:
        return None
    for disclosure in found:  # fields.List(fields.Raw()): a list, without nulls
        if type(disclosure) is not list or any(value is None for value in disclosure):
            return None
    return {"envelope": dict(envelope), "disclosures": [list(d) for d in found]}


# -- submitting -------------------------------------------------------------------------------
class SubmissionSchema(_FastLoad):
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

    def fast_load(self, data: Any) -> dict[str, Any] | None:
        return fast_submission(data)


class BatchSchema(_FastLoad):
    statements = fields.List(
        fields.Nested(SubmissionSchema),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": f"At most {MAX_BATCH} statements, appended in order."},
    )

    def fast_load(self, data: Any) -> dict[str, Any] | None:
        if type(data) is not dict or data.keys() != {"statements"}:
            return None
        items = data["statements"]
        if type(items) is not list or not items:
            return None
        loaded = [fast_submission(item) for item in items]
        if any(item is None for item in loaded):
            return None
        return {"statements": loaded}


class _FastDump(Schema):
    """A schema whose :meth:`dump` first tries :meth:`fast_dump` (None: another type, ask
    marshmallow). Only a plain dump takes the fast path: no ``many``, ``only`` or ``exclude``."""

    def fast_dump(self, obj: Any) -> dict[str, Any] | None:
        return None  # a subclass that knows its shape answers; otherwise marshmallow does

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if not (many or self.many or self.only or self.exclude):
            found = self.fast_dump(obj)
            if found is not None:
                return found
        return super().dump(obj, many=many)


# What marshmallow's Integer, String and Hex fields make of a value.
def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _hex(value: Any) -> str | None:
    return None if value is None else bytes(value).hex()


def dump_inclusion(proof: Any) -> dict[str, Any] | None:
    """:class:`InclusionProofSchema`'s dump of an :class:`api.proofs.InclusionProof`."""
    if proof is None:
        return None
    return {
        "seq": _int(proof.seq),
        "tree_size": _int(proof.tree_size),
        "leaf_hash": _hex(proof.leaf_hash),
        "root": _hex(proof.root),
        "proof": None if proof.proof is None else [_hex(node) for node in proof.proof],
    }


def dump_checkpoint(checkpoint: Any) -> dict[str, Any] | None:
    """:class:`CheckpointSchema`'s dump of an :class:`api.proofs.SignedCheckpoint`."""
    if checkpoint is None:
        return None
    return {
        "origin": _str(checkpoint.origin),
        "size": _int(checkpoint.size),
        "root": _hex(checkpoint.root),
        "note": _str(checkpoint.note),
    }


def dump_error(error: Any) -> dict[str, Any] | None:
    """:class:`ErrorSchema`'s dump of an error body (:func:`api.errors.body`); a key that is
    missing is left out, as marshmallow does."""
    if error is None:
        return None
    fields_ = (("code", _str), ("status", _int), ("message", _str), ("errors", _dict))
    return {name: convert(error[name]) for name, convert in fields_ if name in error}


def _dict(value: Any) -> dict[str, Any] | None:
    return None if value is None else dict(value)


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


class ReceiptSchema(_FastDump):
    status = fields.String(required=True, validate=validate.OneOf([ACCEPTED, DUPLICATE]))
    seq = fields.Integer(required=True)
    leaf_hash = hash_field("Leaf hash of the entry.", required=True)
    type = fields.String(required=True)
    actor = fields.String(required=True)
    key = fields.String(required=True)
    n = fields.Integer(required=True)
    inclusion = fields.Nested(InclusionProofSchema, required=True)
    checkpoint = fields.Nested(CheckpointSchema, required=True)

    def fast_dump(self, obj: Any) -> dict[str, Any] | None:
        if type(obj) is not Receipt:
            return None
        return {
            "status": _str(obj.status),
            "seq": _int(obj.seq),
            "leaf_hash": _hex(obj.leaf_hash),
            "type": _str(obj.type),
            "actor": _str(obj.actor),
            "key": _str(obj.key),
            "n": _int(obj.n),
            "inclusion": dump_inclusion(obj.inclusion),
            "checkpoint": dump_checkpoint(obj.checkpoint),
        }


def dump_item_result(item: ItemResult) -> dict[str, Any]:
    """:class:`ItemResultSchema`'s dump of an :class:`api.submissions.ItemResult`."""
    return {
        "index": _int(item.index),
        "status": _str(item.status),
        "seq": _int(item.seq),
        "leaf_hash": _hex(item.leaf_hash),
        "type": _str(item.type),
        "inclusion": dump_inclusion(item.inclusion),
        "error": dump_error(item.error),
    }


class ItemResultSchema(_FastDump):
    index = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([ACCEPTED, DUPLICATE, REJECTED]))
    seq = fields.Integer(allow_none=True)
    leaf_hash = hash_field("Leaf hash of the entry.", allow_none=True)
    type = fields.String(allow_none=True)
    inclusion = fields.Nested(InclusionProofSchema, allow_none=True)
    error = fields.Nested(ErrorSchema, allow_none=True)

    def fast_dump(self, obj: Any) -> dict[str, Any] | None:
        return dump_item_result(obj) if type(obj) is ItemResult else None


class BatchReceiptSchema(_FastDump):
    results = fields.List(fields.Nested(ItemResultSchema), required=True)
    checkpoint = fields.Nested(
        CheckpointSchema,
        required=True,
        allow_none=True,
        metadata={"description": "The checkpoint every inclusion proof is against."},
    )

    def fast_dump(self, obj: Any) -> dict[str, Any] | None:
        if type(obj) is not BatchReceipt or any(type(r) is not ItemResult for r in obj.results):
            return None
        return {
            "results": [dump_item_result(result) for result in obj.results],
            "checkpoint": dump_checkpoint(obj.checkpoint),
        }


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
