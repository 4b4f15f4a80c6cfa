"""The body of each statement type: fields, types, ranges, and which fields are private.

Bodies are checked here, structurally, before any rule looks at the log. The checks are plain
functions over the parsed JSON so that the offline verifier can run them with no dependency
beyond the standard library. Private fields never appear in a body; they travel as disclosures
whose digests are in ``sd`` (see ``ledger.disclosures``), and :data:`PRIVATE_FIELDS` says which
names each type may disclose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ledger import canonical
from ledger.crypto import PUBLIC_KEY_SIZE
from ledger.errors import ValidationError
from ledger.statements import ID_RE, KEY_ID_RE, parse_time

ROLES = frozenset(
    {
        "cooperative",
        "trader",
        "exporter",
        "processor",
        "refiner",
        "buyer",
        "auditor",
        "inspector",
        "registrar",
        "regulator",
    }
)
MINERALS = frozenset({"tin", "tantalum", "tungsten", "gold", "cobalt"})
FORMS = frozenset({"ore", "concentrate", "dore", "metal"})
INSPECTION_STATUSES = frozenset({"green", "yellow", "red", "blue"})
SITE_EFFECTS = frozenset({"accept", "flag", "refuse"})  # what a site's status does to its lots
CLAIMS = frozenset(
    {
        "site.inspection",
        "child_labour_free",
        "mercury_free",
        "mercury_use_reduced",
        "no_armed_group_presence",
        "no_security_force_abuse",
        "ohs_training",
        "women_participation",
        "fair_payment",
        "assay",
    }
)
SUBJECT_KINDS = frozenset({"site", "actor", "lot"})
# OECD Due Diligence Guidance, Annex II: the risks an incident reports.
INCIDENT_CATEGORIES = frozenset(
    {
        "serious_abuses",
        "non_state_armed_groups",
        "security_forces",
        "bribery_fraudulent_origin",
        "money_laundering",
        "taxes_fees_royalties",
    }
)
SEVERITIES = frozenset({"low", "medium", "high", "critical"})
VOCABULARY = 1  # the latest version of the attestation vocabulary (see CLAIM_RULES)
MAX_MASS_G = 10**12  # a million tonnes: far beyond any lot, well inside the safe integer range
PPM = 1_000_000

PRIVATE_FIELDS: dict[str, frozenset[str]] = {
    "actor.register": frozenset({"contact_name", "email", "phone", "address"}),
    "miner.register": frozenset({"name", "national_id", "phone", "sex", "birth_year"}),
    "lot.register": frozenset({"price", "miners"}),
    "lot.dispatch": frozenset({"price", "invoice"}),
    "lot.receive": frozenset({"invoice"}),
    "lot.export": frozenset({"price", "invoice"}),
    "attestation": frozenset({"report"}),
    "incident": frozenset({"details", "witnesses"}),
}

Check = Callable[[Any, str], Any]

# "\Z", not "$": "$" also matches before a trailing newline ("T-1\n" would be a new tag).
_COUNTRY_RE = re.compile(r"^[A-Z]{2}\Z")
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_TAG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}\Z")


def _fail(path: str, sentence: str) -> ValidationError:
    return ValidationError(f"{path} {sentence}", field=path)


_ORIGIN_RE = re.compile(r"^[!-*,-~]{1,200}\Z")  # printable ASCII, no space, no "+"


def origin(value: Any, path: str) -> str:
    """A ledger origin: also the checkpoint key name, so no spaces and no "+" (C2SP)."""
    if not isinstance(value, str) or not _ORIGIN_RE.match(value):
        raise _fail(path, "must be 1-200 printable ASCII characters without spaces or '+', "
                    "like cd.example.org/asm.")  # fmt: skip
    return value


def ident(value: Any, path: str) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise _fail(path, "must be an identifier (1-64 of A-Z a-z 0-9 . _ : -).")
    return value


def text(max_len: int = 200) -> Check:
    def check(value: Any, path: str) -> str:
        if not isinstance(value, str) or not 1 <= len(value) <= max_len or value != value.strip():
            raise _fail(path, f"must be text of 1 to {max_len} characters, not padded with spaces.")
        return value

    return check


def integer(lo: int, hi: int) -> Check:
    def check(value: Any, path: str) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise _fail(path, f"must be an integer from {lo} to {hi}.")
        return value

    return check


def choice(options: frozenset[str]) -> Check:
    def check(value: Any, path: str) -> str:
        if not isinstance(value, str) or value not in options:  # a list or object is unhashable
            raise _fail(path, f"must be one of {', '.join(sorted(options))}.")
        return str(value)

    return check


def country(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _COUNTRY_RE.match(value):
        raise _fail(path, "must be an ISO 3166-1 alpha-2 country code such as CD or RW.")
    return value


def day(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _DATE_RE.match(value):
        raise _fail(path, "must be a date like 2026-01-31.")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise _fail(path, "is not a real date.") from exc
    return value


def moment(value: Any, path: str) -> str:
    parse_time(value, path)
    return str(value)


def public_key(value: Any, path: str) -> str:
    canonical.b64decode(value, field=path, size=PUBLIC_KEY_SIZE)
    return str(value)


def key_id(value: Any, path: str) -> str:
    if not isinstance(value, str) or not KEY_ID_RE.match(value):
        raise _fail(path, "must be a key id (64 lowercase hex characters).")
    return value


def digest(value: Any, path: str) -> str:
    canonical.hex32(value, field=path)
    return str(value)


def tag(value: Any, path: str) -> str:
    if not isinstance(value, str) or not _TAG_RE.match(value):
        raise _fail(path, "must be a tag id (1-64 of A-Z a-z 0-9 . _ : / -).")
    return value


def listof(item: Check, lo: int, hi: int, *, unique: bool = True) -> Check:
    def check(value: Any, path: str) -> list[Any]:
        if not isinstance(value, list) or not lo <= len(value) <= hi:
            raise _fail(path, f"must be a list of {lo} to {hi} items.")
        try:
            out = [item(v, path) for v in value]
        except ValidationError:  # check again, naming the item's index in the message
            out = [item(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if unique and len(_distinct(value)) != len(value):
            raise _fail(path, "must not repeat an item.")
        return out

    return check


def _distinct(values: list[Any]) -> set[Any]:
    """The distinct items of a checked list: strings and integers as they are, objects by their
    canonical bytes (the items have passed their checks, so the fast encoder is exact)."""
    return {v if isinstance(v, str | int) else canonical.dumps_fast(v) for v in values}


def obj(fields: dict[str, Check], optional: dict[str, Check] | None = None) -> Check:
    optional = optional or {}
    every = {**fields, **optional}
    allowed = frozenset(every)

    def check(value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _fail(path, "must be an object.")
        missing = [name for name in fields if name not in value]
        if missing:
            raise _fail(f"{path}.{missing[0]}", "is required.")
        if not allowed.issuperset(value):
            unknown = sorted(set(value) - allowed)
            raise _fail(f"{path}.{unknown[0]}", "is not a field of this object.")
        for name, sub in every.items():
            if name in value:
                sub(value[name], f"{path}.{name}")
        return value

    return check


mass = integer(1, MAX_MASS_G)
grade = integer(0, PPM)
tags = listof(tag, 0, 256)


def _any_object(value: Any, path: str) -> dict[str, Any]:
    """Any object: its members are checked by the claim's own schema (:data:`CLAIM_RULES`)."""
    if not isinstance(value, dict):
        raise _fail(path, "must be an object.")
    return value


# -- the attestation vocabulary, version 1 ---------------------------------------------------


@dataclass(frozen=True)
class ClaimRule:
    """What a claim of the vocabulary needs: its fields, subjects and signers.

    ``fields`` checks ``body.fields``; ``check`` (optional) relates fields to each other or to
    the rest of the body; ``subjects`` are the subject kinds the claim may be about, ``signers``
    the roles that may sign it. The rules (``ledger.custody.rules``) enforce the last two.
    """

    fields: Check
    subjects: frozenset[str]
    signers: frozenset[str]
    check: Callable[[dict[str, Any]], None] | None = None


_COUNT = integer(0, 10_000_000)
_VISITS = integer(1, 1_000)
_BOTH = frozenset({"auditor", "inspector"})


def _women_within_workers(body: dict[str, Any]) -> None:
    if body["fields"]["women"] > body["fields"]["workers"]:
        raise _fail("body.fields.women", "must not exceed body.fields.workers.")


def _use_reduced(body: dict[str, Any]) -> None:
    if body["fields"]["current_g_month"] >= body["fields"]["baseline_g_month"]:
        raise _fail("body.fields.current_g_month", "must be below body.fields.baseline_g_month "
                    "for the use to be reduced.")  # fmt: skip


def _assay_has_evidence(body: dict[str, Any]) -> None:
    if not body["evidence"]:
        raise _fail("body.evidence", "must hold the digest of the assay certificate.")


def _inspection_result(body: dict[str, Any]) -> None:
    if body.get("result") not in {"green", "yellow", "red"}:
        raise ValidationError(
            "a site.inspection attests a site, with result green, yellow or red.",
            code="bad_claim",
            field="body.result",
        )


CLAIM_RULES: dict[str, ClaimRule] = {
    "site.inspection": ClaimRule(
        obj({"inspector": text(), "agency": text(), "date": day}),
        frozenset({"site"}),
        frozenset({"inspector"}),
        _inspection_result,
    ),
    "child_labour_free": ClaimRule(
        obj({"visits": _VISITS}, {"workers_checked": _COUNT}),
        frozenset({"site", "actor", "lot"}),
        _BOTH,
    ),
    "mercury_free": ClaimRule(
        obj({"method": text()}, {"samples": _COUNT}), frozenset({"site", "actor", "lot"}), _BOTH
    ),
    "mercury_use_reduced": ClaimRule(
        obj({"baseline_g_month": _COUNT, "current_g_month": _COUNT}),
        frozenset({"site", "actor"}),
        _BOTH,
        _use_reduced,
    ),
    "no_armed_group_presence": ClaimRule(
        obj({"visits": _VISITS}, {"interviews": _COUNT}), frozenset({"site", "lot"}), _BOTH
    ),
    "no_security_force_abuse": ClaimRule(
        obj({"visits": _VISITS}, {"interviews": _COUNT}), frozenset({"site"}), _BOTH
    ),
    "ohs_training": ClaimRule(
        obj({"trained": integer(1, 10_000_000), "topics": listof(text(100), 1, 32)}),
        frozenset({"site", "actor"}),
        _BOTH,
    ),
    "women_participation": ClaimRule(
        obj({"women": _COUNT, "workers": integer(1, 10_000_000)}),
        frozenset({"site", "actor"}),
        _BOTH,
        _women_within_workers,
    ),
    "fair_payment": ClaimRule(
        obj({"basis": text()}, {"price_share_ppm": grade}), frozenset({"actor", "lot"}), _BOTH
    ),
    "assay": ClaimRule(
        obj(
            {"grade_ppm": grade, "method": text(100), "laboratory": text()},
            {"mineral": choice(MINERALS)},
        ),
        frozenset({"lot"}),
        frozenset({"auditor"}),
        _assay_has_evidence,
    ),
}

POLICY = obj(
    {
        "receipt_tolerance_ppm": integer(0, PPM),
        "split_tolerance_ppm": integer(0, PPM),
        "merge_tolerance_ppm": integer(0, PPM),
        "capacity_tolerance_ppm": integer(0, PPM),
        "max_future_skew_s": integer(0, 86_400),
    },
    {
        "site_status": obj(
            {},
            {status: choice(SITE_EFFECTS) for status in ("yellow", "blue", "red")},
        ),
        "max_transit_days": integer(1, 3650),
    },
)

_OUTPUT = obj({"lot": ident, "mass_g": mass, "tags": tags})
_PROCESS_OUTPUT = obj(
    {
        "lot": ident,
        "mineral": choice(MINERALS),
        "form": choice(FORMS),
        "mass_g": mass,
        "grade_ppm": grade,
        "tags": tags,
    }
)

BODIES: dict[str, Check] = {
    "genesis": obj(
        {
            "origin": origin,
            "operator": obj({"id": ident, "name": text(), "key": public_key}),
            "registrars": listof(
                obj(
                    {
                        "id": ident,
                        "name": text(),
                        "country": country,
                        "keys": listof(public_key, 1, 8),
                    }
                ),
                1,
                8,
            ),
            "policy": POLICY,
        }
    ),
    "actor.register": obj(
        {
            "id": ident,
            "name": text(),
            "roles": listof(choice(ROLES), 1, len(ROLES)),
            "country": country,
            "keys": listof(public_key, 1, 8),
        }
    ),
    "actor.key.add": obj({"actor": ident, "key": public_key}),
    "actor.key.revoke": obj(
        {"actor": ident, "key": key_id, "effective": moment, "reason": text(500)}
    ),
    "site.register": obj(
        {
            "id": ident,
            "name": text(),
            "country": country,
            "region": text(),
            "location": obj(
                {
                    "lat_e6": integer(-90_000_000, 90_000_000),
                    "lon_e6": integer(-180_000_000, 180_000_000),
                }
            ),
            "minerals": listof(choice(MINERALS), 1, len(MINERALS)),
            "licence": obj({"number": text(100), "expires": day}),
            "cooperative": ident,
            "capacity_g_month": mass,
            "inspection_status": choice(INSPECTION_STATUSES),
        }
    ),
    "miner.register": obj({"id": ident, "cooperative": ident, "site": ident}),
    "lot.register": obj(
        {
            "lot": ident,
            "site": ident,
            "mineral": choice(MINERALS),
            "form": choice(frozenset({"ore", "concentrate"})),
            "mass_g": mass,
            "grade_ppm": grade,
            "tags": listof(tag, 1, 256),
            "extracted": day,
        }
    ),
    "lot.dispatch": obj({"lot": ident, "to": ident, "mass_g": mass, "tags": tags}),
    "lot.receive": obj({"lot": ident, "mass_g": mass}),
    "lot.split": obj({"lot": ident, "outputs": listof(_OUTPUT, 2, 64)}),
    "lot.merge": obj(
        {
            "inputs": listof(ident, 2, 64),
            "output": obj({"lot": ident, "mass_g": mass, "grade_ppm": grade, "tags": tags}),
        }
    ),
    "lot.process": obj({"inputs": listof(ident, 1, 64), "outputs": listof(_PROCESS_OUTPUT, 1, 64)}),
    "lot.export": obj({"lot": ident, "certificate": text(100), "destination": country}),
    "attestation": obj(
        {
            "id": ident,
            "claim": choice(CLAIMS),
            "subject": obj({"kind": choice(SUBJECT_KINDS), "id": ident}),
            "valid_from": day,
            "valid_until": day,
            "evidence": listof(digest, 0, 32),
        },
        {"result": text(100), "vocabulary": integer(1, VOCABULARY), "fields": _any_object},
    ),
    "attestation.revoke": obj({"attestation": ident, "reason": text(500)}),
    "incident": obj(
        {
            "id": ident,
            "category": choice(INCIDENT_CATEGORIES),
            "severity": choice(SEVERITIES),
            "subject": obj({"kind": choice(SUBJECT_KINDS), "id": ident}),
            "observed": day,
        },
        {"summary": text(200), "grievance": ident},  # grievance: off the log, see §21
    ),
    "incident.resolve": obj({"incident": ident, "resolution": text(500)}),
}


def check_body(statement_type: str, body: Any) -> None:
    """Raise :class:`ValidationError` unless ``body`` is a valid body of ``statement_type``."""
    BODIES[statement_type](body, "body")
    if statement_type == "attestation":
        _check_attestation(body)


def _check_attestation(body: dict[str, Any]) -> None:
    """The common date order, then the claim's own fields under vocabulary 1.

    An attestation without ``vocabulary`` is checked as before the vocabulary existed (version
    0: ``result`` free text, no ``fields``), so that entries already logged stay valid.
    """
    if body["valid_until"] < body["valid_from"]:
        raise _fail("body.valid_until", "must not be before body.valid_from.")
    if "vocabulary" not in body:
        if "fields" in body:
            raise _fail("body.fields", "needs body.vocabulary (the attestation vocabulary "
                        f"version, {VOCABULARY}).")  # fmt: skip
        return
    if "fields" not in body:
        raise _fail("body.fields", f"is required under vocabulary {body['vocabulary']}.")
    claim = CLAIM_RULES[body["claim"]]
    claim.fields(body["fields"], "body.fields")
    if claim.check is not None:
        claim.check(body)
    if body["claim"] == "site.inspection" and body["fields"]["date"] > body["valid_from"]:
        raise _fail("body.valid_from", "must not be before body.fields.date (the inspection).")
