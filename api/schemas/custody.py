"""Public schemas of custody: lots and their history, attestations, flags.

Prices, invoices and the miners behind a lot are private disclosures; no field here carries them.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import (
    PageArgsSchema,
    code_field,
    hash_field,
    ident_field,
    page_schema,
    subject_field,
)
from api.schemas.log import EntrySchema
from ledger.bodies import CLAIMS, MINERALS, SUBJECT_KINDS
from ledger.custody.types import LOT_STATUSES


class HeadSchema(Schema):
    seq = fields.Integer(required=True)
    leaf_hash = hash_field("The entry that last changed the subject.", required=True)


class LotSchema(Schema):
    id = fields.String(required=True)
    mineral = fields.String(required=True)
    form = fields.String(required=True)
    mass_g = fields.Integer(required=True)
    grade_ppm = fields.Integer(required=True)
    custodian = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(LOT_STATUSES))
    tags = fields.List(fields.String(), required=True)
    origins = fields.List(
        fields.String(), required=True, metadata={"description": "Ids of the origin mine sites."}
    )
    created_seq = fields.Integer(required=True)
    updated_seq = fields.Integer(required=True)
    addressee = fields.String(required=True, allow_none=True)
    dispatched_mass_g = fields.Integer(required=True, allow_none=True)


class EdgeSchema(Schema):
    lot = fields.String(required=True)
    seq = fields.Integer(required=True, metadata={"description": "The entry that made the link."})


class LotDetailSchema(LotSchema):
    head = fields.Nested(HeadSchema, required=True)
    parents = fields.List(fields.Nested(EdgeSchema), required=True)
    children = fields.List(fields.Nested(EdgeSchema), required=True)


class LotArgsSchema(PageArgsSchema):
    site = ident_field(metadata={"description": "An origin mine site of the lot."})
    mineral = fields.String(validate=validate.OneOf(sorted(MINERALS)))
    custodian = ident_field()
    status = fields.String(validate=validate.OneOf(LOT_STATUSES))


class LotHistorySchema(Schema):
    lot = fields.String(required=True)
    parents = fields.List(fields.Nested(EdgeSchema), required=True)
    entries = fields.List(
        fields.Nested(EntrySchema),
        required=True,
        metadata={"description": "Every entry the lot's history links to, oldest first."},
    )


class SubjectSchema(Schema):
    kind = fields.String(required=True)
    id = fields.String(required=True)


class AttestationSchema(Schema):
    id = fields.String(required=True)
    claim = fields.String(required=True)
    subject = fields.Nested(SubjectSchema, required=True)
    attestor = fields.String(required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(required=True)
    result = fields.String(required=True, allow_none=True)
    seq = fields.Integer(required=True)
    revoked_seq = fields.Integer(required=True, allow_none=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "revoked"]))


class AttestationArgsSchema(PageArgsSchema):
    subject_kind = fields.String(validate=validate.OneOf(sorted(SUBJECT_KINDS)))
    subject_id = ident_field()
    claim = fields.String(validate=validate.OneOf(sorted(CLAIMS)))
    attestor = ident_field()


class FlagSchema(Schema):
    seq = fields.Integer(required=True)
    code = fields.String(required=True)
    subject = fields.String(required=True)
    severity = fields.String(required=True)
    message = fields.String(required=True)


class FlagArgsSchema(PageArgsSchema):
    subject = subject_field(metadata={"description": "e.g. lot:LOT-1"})
    code = code_field()
    severity = code_field()


LotPageSchema = page_schema(LotSchema)
AttestationPageSchema = page_schema(AttestationSchema)
FlagPageSchema = page_schema(FlagSchema)
