"""Public schemas of due diligence: incidents, a lot's taint, a site's status and history.

An incident's ``details`` and ``witnesses`` are private disclosures; no field here carries them.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import PageArgsSchema, ident_field, page_schema
from api.schemas.custody import SubjectSchema
from ledger.bodies import INCIDENT_CATEGORIES, INSPECTION_STATUSES, SEVERITIES, SUBJECT_KINDS


class IncidentSchema(Schema):
    id = fields.String(required=True)
    category = fields.String(
        required=True,
        validate=validate.OneOf(sorted(INCIDENT_CATEGORIES)),
        metadata={"description": "The OECD Annex II risk reported."},
    )
    severity = fields.String(required=True, validate=validate.OneOf(sorted(SEVERITIES)))
    subject = fields.Nested(SubjectSchema, required=True)
    reporter = fields.String(required=True, metadata={"description": "The reporting actor."})
    observed = fields.String(required=True)
    seq = fields.Integer(required=True, metadata={"description": "The entry that reported it."})
    status = fields.String(required=True, validate=validate.OneOf(["open", "resolved"]))
    resolved_seq = fields.Integer(required=True, allow_none=True)
    resolved_by = fields.String(required=True, allow_none=True)


class IncidentArgsSchema(PageArgsSchema):
    subject_kind = fields.String(validate=validate.OneOf(sorted(SUBJECT_KINDS)))
    subject_id = ident_field()
    category = fields.String(validate=validate.OneOf(sorted(INCIDENT_CATEGORIES)))
    resolved = fields.Boolean(metadata={"description": "true: resolved only; false: open only."})


class LotTaintSchema(Schema):
    lot = fields.String(required=True)
    tainted = fields.Boolean(
        required=True, metadata={"description": "True while open incidents taint the lot."}
    )
    incidents = fields.List(
        fields.Nested(IncidentSchema),
        required=True,
        metadata={"description": "The open incidents on the lot, upstream of it or at an origin."},
    )


class StatusChangeSchema(Schema):
    seq = fields.Integer(required=True, metadata={"description": "The entry of the change."})
    status = fields.String(required=True, validate=validate.OneOf(sorted(INSPECTION_STATUSES)))
    basis = fields.String(required=True, allow_none=True)
    reason = fields.String(required=True)


class RecordedStatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(sorted(INSPECTION_STATUSES)))
    basis = fields.String(required=True, allow_none=True)
    since = fields.String(required=True, allow_none=True)
    seq = fields.Integer(
        required=True, metadata={"description": "The entry that last evaluated the status."}
    )


_REASONS = ("age", "inspection", "lapsed", "never_inspected", "registration", "registration_age")


class SiteStatusSchema(Schema):
    site = fields.String(required=True)
    status = fields.String(
        required=True,
        validate=validate.OneOf(sorted(INSPECTION_STATUSES)),
        metadata={
            "description": "The status on `as_of` (today, UTC): green, yellow, red, or blue "
            "(never inspected, lapsed, or green for more than a year)."
        },
    )
    reason = fields.String(
        required=True,
        validate=validate.OneOf(_REASONS),
        metadata={
            "description": "What the status rests on: an inspection, the status recorded at "
            "registration, nothing (never_inspected), or why it turned blue (lapsed: past the "
            "basis's valid_until; age, registration_age: green more than a year ago)."
        },
    )
    basis = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The inspection it rests on; null: the site's registration."},
    )
    date = fields.String(
        required=True, allow_none=True, metadata={"description": "The date of the basis."}
    )
    valid_until = fields.String(
        required=True, allow_none=True, metadata={"description": "The basis's end; null: none."}
    )
    green_until = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "The last day a green basis stays green, by age; null otherwise."},
    )
    as_of = fields.String(required=True, metadata={"description": "The date evaluated (UTC)."})
    recorded = fields.Nested(
        RecordedStatusSchema,
        required=True,
        metadata={
            "description": "The status the ledger last evaluated, at the last entry that "
            "concerned the site (the one lot registrations were checked against then)."
        },
    )
    history = fields.List(
        fields.Nested(StatusChangeSchema),
        required=True,
        metadata={"description": "Every change the ledger recorded, oldest first."},
    )


IncidentPageSchema = page_schema(IncidentSchema)
