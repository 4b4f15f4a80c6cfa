"""Schemas of private reads: disclosures as their readers get them, exports, erasures.

A disclosure is shown as ``[salt_b64, name, value]`` beside its digest and the sequence number
of the entry whose statement lists that digest in ``sd``, so that a reader can recompute the
digest and find it in the public log. An erased disclosure has ``disclosure: null`` and the time
it was erased.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from api.schemas.common import Base64
from api.schemas.log import CheckpointSchema, InclusionProofSchema


class DisclosureJson(fields.Raw):
    """A :class:`~ledger.disclosures.Disclosure`, dumped as ``[salt_b64, name, value]``."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else value.to_json()


_DISCLOSURE_DOC = {
    "description": '[salt_b64, name, value]; its digest is SHA-256("asm-ledger/v1/disclosure\\n" '
    "|| JCS(disclosure)), hex. null when erased.",
    "type": "array",
    "items": {},
    "minItems": 3,
    "maxItems": 3,
}


def _disclosure_field(**kwargs: Any) -> DisclosureJson:
    return DisclosureJson(required=True, allow_none=True, metadata=_DISCLOSURE_DOC, **kwargs)


class RevealedSchema(Schema):
    seq = fields.Integer(required=True, metadata={"description": "The entry holding the digest."})
    type = fields.String(required=True, metadata={"description": "The statement's type."})
    actor = fields.String(required=True, metadata={"description": "The statement's signer."})
    digest = fields.String(
        required=True, metadata={"description": "The digest in statement.sd, hex."}
    )
    name = fields.String(required=True, metadata={"description": "The private field's name."})
    disclosure = _disclosure_field()
    erased = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "When the value was erased (RFC 3339), or null."},
    )


class DisclosuresSchema(Schema):
    disclosures = fields.List(fields.Nested(RevealedSchema), required=True)
    withheld = fields.Integer(
        required=True,
        metadata={"description": "Disclosures in this scope the caller is not entitled to read."},
    )


class DisclosureExportSchema(Schema):
    """One private field, with what is needed to check it against the log offline."""

    digest = fields.String(required=True, attribute="revealed.digest")
    seq = fields.Integer(required=True, attribute="revealed.seq")
    type = fields.String(required=True, attribute="revealed.type")
    name = fields.String(required=True, attribute="revealed.name")
    disclosure = _disclosure_field(attribute="revealed.disclosure")
    erased = fields.String(required=True, allow_none=True, attribute="revealed.erased")
    entry = Base64(
        required=True, metadata={"description": "The exact entry bytes (its leaf is in the tree)."}
    )
    inclusion = fields.Nested(InclusionProofSchema, required=True)
    checkpoint = fields.Nested(CheckpointSchema, required=True)


class ErasureSchema(Schema):
    miner = fields.String(required=True)
    seq = fields.Integer(required=True, metadata={"description": "The miner's registration."})
    erased = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "Digests erased by this request (empty when already erased)."},
    )
    time = fields.String(required=True, metadata={"description": "When (RFC 3339)."})
