"""Custody domain objects, as the rules see them (frozen; storage maps them to rows)."""

from __future__ import annotations

from dataclasses import dataclass

HELD = "held"
IN_TRANSIT = "in_transit"
CONSUMED = "consumed"
EXPORTED = "exported"
LOT_STATUSES = (HELD, IN_TRANSIT, CONSUMED, EXPORTED)


@dataclass(frozen=True)
class Lot:
    id: str
    mineral: str
    form: str
    mass_g: int
    initial_mass_g: int  # the mass when the lot was created: receipts may not quietly grow it
    grade_ppm: int
    custodian: str
    status: str
    tags: tuple[str, ...]
    origins: tuple[str, ...]  # sorted ids of the mine sites the material came from
    created_seq: int
    updated_seq: int
    addressee: str | None = None
    dispatched_mass_g: int | None = None


@dataclass(frozen=True)
class Attestation:
    id: str
    claim: str
    subject_kind: str
    subject_id: str
    attestor: str
    valid_from: str
    valid_until: str
    result: str | None
    seq: int
    revoked_seq: int | None = None


@dataclass(frozen=True)
class Flag:
    """A derived warning attached to a subject by the entry that caused it."""

    seq: int
    code: str
    severity: str
    subject: str
    message: str


# A site's inspection record: (attestation id, "" for the registration; result; date made;
# valid_from; valid_until), kept in log order while not revoked.
InspectionRecord = tuple[str, str, str, str, str]


@dataclass(frozen=True)
class SiteStatus:
    """A site's inspection status as last evaluated (green, yellow, red or blue), derived.

    ``basis`` is the inspection the status rests on (None: the status recorded at the site's
    registration, or no record in force); ``since`` the date of that basis; ``records`` every
    inspection record of the site that is not revoked, in log order.
    """

    site: str
    status: str
    basis: str | None
    since: str | None
    records: tuple[InspectionRecord, ...]
    updated_seq: int


@dataclass(frozen=True)
class SiteStatusChange:
    """One row of a site's status history: from entry ``seq`` on, the site was ``status``."""

    site: str
    seq: int
    status: str
    basis: str | None
    reason: str


@dataclass(frozen=True)
class Incident:
    """A reported due-diligence incident (OECD Annex II category) about a site, lot or actor."""

    id: str
    category: str
    severity: str
    subject_kind: str
    subject_id: str
    reporter: str
    observed: str
    seq: int
    resolved_seq: int | None = None
    resolved_by: str | None = None
