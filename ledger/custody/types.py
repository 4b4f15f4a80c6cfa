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
