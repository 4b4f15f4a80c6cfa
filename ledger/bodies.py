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

POLICY = obj(
    {
        "receipt_tolerance_ppm": integer(0, PPM),
        "split_tolerance_ppm": integer(0, PPM),
        "merge_tolerance_ppm": integer(0, PPM),
        "capacity_tolerance_ppm": integer(0, PPM),
        "max_future_skew_s": integer(0, 86_400),
    }
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
        {"result": text(100)},
    ),
    "attestation.revoke": obj({"attestation": ident, "reason": text(500)}),
}


def check_body(statement_type: str, body: Any) -> None:
    """Raise :class:`ValidationError` unless ``body`` is a valid body of ``statement_type``."""
    BODIES[statement_type](body, "body")
    if statement_type == "attestation" and body["valid_until"] < body["valid_from"]:
        raise _fail("body.valid_until", "must not be before body.valid_from.")
