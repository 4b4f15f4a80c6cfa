"""Public schemas of the registry: actors and their keys, mine sites, miners.

Contact data (names of people, e-mail, phone, address) and miners' personal data are private
disclosures: they are in no table these schemas read, and no field here could carry them. A
miner is public only as a pseudonymous id, its cooperative and its site.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import Base64, PageArgsSchema, country_field, ident_field, page_schema
from ledger.bodies import INSPECTION_STATUSES

KEY_STATUSES = ("active", "revoked")


class KeySchema(Schema):
    key_id = fields.String(
        required=True, metadata={"description": "SHA-256 of the raw public key, hex."}
    )
    public_key = Base64(required=True)
    status = fields.String(required=True, validate=validate.OneOf(KEY_STATUSES))
    added_seq = fields.Integer(required=True)
    revoked_seq = fields.Integer(required=True, allow_none=True)
    revoked_effective = fields.String(required=True, allow_none=True)
    last_n = fields.Integer(
        required=True, metadata={"description": "The highest counter n logged for this key."}
    )


class ActorSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "The organisation's name."})
    roles = fields.List(fields.String(), required=True)
    country = fields.String(required=True)
    registered_seq = fields.Integer(required=True)
    keys = fields.List(fields.Nested(KeySchema), required=True)


class ActorArgsSchema(PageArgsSchema):
    country = country_field()


class LocationSchema(Schema):
    lat_e6 = fields.Integer(required=True)
    lon_e6 = fields.Integer(required=True)


class LicenceSchema(Schema):
    number = fields.String(required=True)
    expires = fields.String(required=True)


class SiteSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    country = fields.String(required=True)
    region = fields.String(required=True)
    location = fields.Nested(LocationSchema, required=True)
    minerals = fields.List(fields.String(), required=True)
    licence = fields.Nested(LicenceSchema, required=True)
    cooperative = fields.String(required=True)
    capacity_g_month = fields.Integer(required=True)
    inspection_status = fields.String(
        required=True,
        metadata={
            "description": "The status recorded when the site was registered (signed in its "
            "site.register statement). Its status today is `status`."
        },
    )
    status = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf(sorted(INSPECTION_STATUSES)),
        metadata={
            "description": "The site's status today (UTC), derived from its latest valid "
            "site.inspection: green, yellow, red, or blue (never inspected, lapsed, or green "
            "for more than a year). GET /v1/sites/{site_id}/status says what it rests on. "
            "null only for a site whose status has not been derived yet (run ledger "
            "rebuild-derived)."
        },
    )
    registered_seq = fields.Integer(required=True)


class SiteArgsSchema(PageArgsSchema):
    country = country_field()
    cooperative = ident_field()
    status = fields.String(
        validate=validate.OneOf(sorted(INSPECTION_STATUSES)),
        metadata={"description": "Sites with this status today."},
    )
    inspection_status = fields.String(
        validate=validate.OneOf(sorted(INSPECTION_STATUSES)),
        metadata={"description": "Sites whose registration recorded this status."},
    )


class MinerSchema(Schema):
    """The public view of a miner: nothing that identifies a person."""

    id = fields.String(required=True, metadata={"description": "Pseudonymous id."})
    cooperative = fields.String(required=True)
    site = fields.String(required=True)


class MinerArgsSchema(PageArgsSchema):
    cooperative = ident_field()
    site = ident_field()


ActorPageSchema = page_schema(ActorSchema)
SitePageSchema = page_schema(SiteSchema)
MinerPageSchema = page_schema(MinerSchema)
