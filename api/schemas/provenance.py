"""Public schemas of a lot's provenance (the account derived from its verified bundle).

The account holds nothing private: it is built from statement bodies, which carry no private
field (prices, invoices and miners' data are disclosures, never in a bundle).
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.log import EntrySchema


class CheckpointRefSchema(Schema):
    origin = fields.String(required=True)
    size = fields.Integer(required=True)


class ProvenanceSchema(Schema):
    lot = fields.Dict(
        required=True,
        metadata={"description": "The lot: mineral, form, mass_g, grade_ppm, status, tags, "
                  "origins, custodian and addressee (id, name, roles), head (hex), and "
                  "tainted_by: the open incidents that keep it from being exported."},
    )  # fmt: skip
    verified = fields.Boolean(
        required=True,
        metadata={"description": "Whether the buyer's verifier, run on the server's bundle, "
                  "passed."},
    )  # fmt: skip
    checkpoint = fields.Nested(CheckpointRefSchema, required=True, allow_none=True)
    reasons = fields.List(fields.String(), required=True)
    sites = fields.List(
        fields.Dict(), required=True,
        metadata={"description": "Origin mine sites: country, region, coordinates (lat_e6, "
                  "lon_e6), cooperative, attestations, and status: the status derived from the "
                  "bundle's inspections as of today (green, yellow, red or blue), its reason "
                  "(inspection, registration, never_inspected, lapsed, age), basis inspection "
                  "and date, and history (each change, with its entry and date)."},
    )  # fmt: skip
    timeline = fields.List(
        fields.Dict(), required=True,
        metadata={"description": "Custody steps, oldest first: type, time, actor, lots, "
                  "mass_g, addressee, the attestations that applied at the step, the site's "
                  "status at a registration, flags, and revoked_key when the step was signed "
                  "with a key revoked before it signed."},
    )  # fmt: skip
    attestations = fields.List(
        fields.Dict(), required=True,
        metadata={"description": "Attestations about the lots, sites and actors, with status "
                  "valid, expired, revoked or not_yet_valid as of today."},
    )  # fmt: skip
    incidents = fields.List(
        fields.Dict(), required=True,
        metadata={"description": "Incidents reported about the lots and origin sites (OECD "
                  "Annex II category, severity, subject, reporter, observed date), open first; "
                  "private details are never included."},
    )  # fmt: skip
    flags = fields.List(fields.Dict(), required=True)
    revoked_key_signatures = fields.List(
        fields.Dict(), required=True,
        metadata={"description": "Entries of the bundle signed with a key whose revocation "
                  "(actor.key.revoke in the bundle) is effective at or before the statement's "
                  "time: seq, type, actor, key, time, effective, revoked_seq, reason."},
    )  # fmt: skip
    warnings = fields.List(fields.String(), required=True)
    alerts = fields.List(
        fields.Dict(), required=True,
        metadata={"description": "The negative news, most serious (level red) first."},
    )  # fmt: skip
    entries = fields.List(fields.Nested(EntrySchema), required=True)


class BundleArgsSchema(Schema):
    since = fields.Integer(
        validate=validate.Range(min=1, max=2**63 - 1),
        metadata={"description": "The size of an older checkpoint you kept: the bundle then "
                  "carries a consistency proof from it."},
    )  # fmt: skip
