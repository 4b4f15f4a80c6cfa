"""Schemas of grievances: the anonymous report, the public counts, and the registrar's views.

The public schemas (:class:`GrievanceReceiptSchema`, :class:`SiteGrievancesSchema`) have no
text field; only :class:`GrievanceTextSchema`, behind a token, carries it.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import FullMatch, PageArgsSchema, ident_field, page_schema
from api.schemas.log import ReceiptSchema
from ledger.custody.grievances import (
    CATEGORIES,
    CONVERTED,
    CONVERTING,
    LANGUAGE_RE,
    MAX_TEXT,
    OPEN,
    PUBLIC_STATUSES,
)
from ledger.statements import ID_RE

_CATEGORY = validate.OneOf(sorted(CATEGORIES))
_STATUSES = (OPEN, CONVERTING, CONVERTED)


class GrievanceReportSchema(Schema):
    """What anyone may report. Nothing about the reporter is asked for, or kept."""

    site = fields.String(
        required=True,
        validate=FullMatch(ID_RE, error="not a site id."),
        metadata={"description": "The registered mine site the grievance is about."},
    )
    category = fields.String(
        required=True,
        validate=_CATEGORY,
        metadata={
            "description": "An OECD Annex II risk, or child_labour, labour, environment, "
            "health_safety, land, other."
        },
    )
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_TEXT),
        metadata={
            "description": "What happened, in any language; stored encrypted, read only by the "
            "registrar, auditors and regulators. Leave out names if you can."
        },
    )
    language = fields.String(
        load_default=None,
        validate=FullMatch(LANGUAGE_RE, error="not a language tag such as fr or sw."),
        metadata={"description": "OPTIONAL language tag of the text (BCP 47: fr, sw, rw ...)."},
    )


class GrievanceReceiptSchema(Schema):
    """The reporter's receipt: the grievance's id, and the day it was received."""

    id = fields.String(required=True)
    site = fields.String(required=True)
    category = fields.String(required=True)
    received = fields.String(required=True, metadata={"description": "The day (UTC), only."})
    status = fields.String(required=True, validate=validate.OneOf(PUBLIC_STATUSES))


class SiteGrievancesSchema(Schema):
    """A site's grievances, counted: never their text."""

    site = fields.String(required=True)
    total = fields.Integer(required=True)
    by_status = fields.Dict(
        keys=fields.String(validate=validate.OneOf(PUBLIC_STATUSES)),
        values=fields.Integer(),
        required=True,
        metadata={"description": "open (not yet an incident) and converted (now an incident)."},
    )
    by_category = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class GrievanceSchema(Schema):
    """A grievance as the registrar, auditors and regulators list it (no text)."""

    id = fields.String(required=True)
    site = fields.String(required=True)
    category = fields.String(required=True)
    language = fields.String(required=True, allow_none=True)
    received = fields.String(required=True, metadata={"description": "The day (UTC), only."})
    status = fields.String(required=True, validate=validate.OneOf(_STATUSES))
    incident = fields.String(
        required=True, allow_none=True, metadata={"description": "The incident it became."}
    )
    converted_seq = fields.Integer(
        required=True, allow_none=True, metadata={"description": "The entry of that incident."}
    )


class GrievanceTextSchema(GrievanceSchema):
    text = fields.String(required=True)


class GrievanceArgsSchema(PageArgsSchema):
    site = ident_field()
    status = fields.String(validate=validate.OneOf(_STATUSES))


class ConversionReceiptSchema(ReceiptSchema):
    grievance = fields.Nested(GrievanceSchema, required=True)


GrievancePageSchema = page_schema(GrievanceSchema)
