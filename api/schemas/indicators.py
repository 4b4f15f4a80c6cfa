"""The schema of ``GET /v1/indicators`` (see :mod:`ledger.custody.indicators` for each figure)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from ledger.custody.indicators import MARKER, THRESHOLD


def _counts(description: str, *, nullable: bool = False) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.Integer(allow_none=nullable),
        required=True,
        metadata={"description": description},
    )


def _table(description: str) -> fields.Dict:
    return fields.Dict(
        keys=fields.String(),
        values=fields.Dict(keys=fields.String(), values=fields.Integer()),
        required=True,
        metadata={"description": description},
    )


class AttestedMassSchema(Schema):
    backed_g = fields.Integer(required=True)
    registered_g = fields.Integer(required=True)
    share_ppm = fields.Integer(
        required=True, metadata={"description": "backed_g * 1000000 // registered_g."}
    )


class IndicatorsSchema(Schema):
    as_of = fields.String(required=True, metadata={"description": "The date D (UTC)."})
    log_size = fields.Integer(required=True, metadata={"description": "Entries in the log."})
    threshold = fields.Integer(
        required=True,
        metadata={"description": f"A cell counting fewer people ({THRESHOLD}) is suppressed."},
    )
    suppressed = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": f"The suppressed cells (null here, '{MARKER}' in CSV), as "
            "indicator.cell."
        },
    )
    miners_by_sex = _counts(
        "Registered miners: female, male, other, unknown (not disclosed or erased), total; "
        "null when suppressed.",
        nullable=True,
    )
    cooperatives = fields.Integer(required=True)
    sites_by_status = _counts("Mine sites by inspection status on as_of.")
    mass_by_mineral_g = _counts("Grams registered at mine sites (lot.register), by mineral.")
    mass_by_origin_status_g = _counts(
        "The same grams, by the origin site's status when the lot was registered."
    )
    attested_mass = fields.Nested(
        AttestedMassSchema,
        required=True,
        metadata={
            "description": "Registered grams whose lot or origin site has a valid, unrevoked "
            "attestation (other than site.inspection) on as_of."
        },
    )
    incidents_by_category = _table("Incidents by OECD Annex II category: open, resolved.")
    grievances_by_site = _table("Grievances (reports, not people) per site: open, converted.")


class IndicatorArgsSchema(Schema):
    format = fields.String(
        load_default=None,
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "json (default) or csv; or send Accept: text/csv."},
    )
