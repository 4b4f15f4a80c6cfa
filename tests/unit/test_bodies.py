"""Statement bodies: a valid body of every type passes; every field missing, mistyped or out of
range fails, naming the field's path."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from factories import World, signer

from ledger import bodies
from ledger.bodies import BODIES, MAX_MASS_G, PPM, PRIVATE_FIELDS, check_body
from ledger.canonical import b64encode
from ledger.errors import ValidationError
from ledger.statements import STATEMENT_TYPES

KEY = b64encode(signer("bodies").public_key)
KEY2 = b64encode(signer("bodies-2").public_key)
DIGEST = "ab" * 32

VALID: dict[str, dict[str, Any]] = {
    "genesis": World().genesis().envelope.statement.body,
    "actor.register": {
        "id": "trader-a",
        "name": "Trader A",
        "roles": ["trader", "exporter"],
        "country": "RW",
        "keys": [KEY, KEY2],
    },
    "actor.key.add": {"actor": "trader-a", "key": KEY},
    "actor.key.revoke": {
        "actor": "trader-a",
        "key": "cd" * 32,
        "effective": "2026-01-15T08:00:00Z",
        "reason": "phone lost",
    },
    "site.register": {
        "id": "site-a",
        "name": "Site A",
        "country": "CD",
        "region": "South Kivu",
        "location": {"lat_e6": -2_500_000, "lon_e6": 28_860_000},
        "minerals": ["tin", "tantalum"],
        "licence": {"number": "PE-1", "expires": "2030-12-31"},
        "cooperative": "coop-a",
        "capacity_g_month": 1_000_000,
        "inspection_status": "green",
    },
    "miner.register": {"id": "miner-1", "cooperative": "coop-a", "site": "site-a"},
    "lot.register": {
        "lot": "lot-1",
        "site": "site-a",
        "mineral": "tin",
        "form": "ore",
        "mass_g": 100_000,
        "grade_ppm": 650_000,
        "tags": ["T-1", "T/2"],
        "extracted": "2026-01-10",
    },
    "lot.dispatch": {"lot": "lot-1", "to": "trader-a", "mass_g": 100_000, "tags": ["T-1"]},
    "lot.receive": {"lot": "lot-1", "mass_g": 99_950},
    "lot.split": {
        "lot": "lot-1",
        "outputs": [
            {"lot": "lot-1a", "mass_g": 60_000, "tags": ["T-1a"]},
            {"lot": "lot-1b", "mass_g": 40_000, "tags": []},
        ],
    },
    "lot.merge": {
        "inputs": ["lot-1", "lot-2"],
        "output": {"lot": "lot-3", "mass_g": 200_000, "grade_ppm": 600_000, "tags": ["T-3"]},
    },
    "lot.process": {
        "inputs": ["lot-1"],
        "outputs": [
            {
                "lot": "lot-9",
                "mineral": "tin",
                "form": "metal",
                "mass_g": 50_000,
                "grade_ppm": 999_000,
                "tags": ["T-9"],
            }
        ],
    },
    "lot.export": {"lot": "lot-1", "certificate": "ICGLR-CD-0001", "destination": "MY"},
    "attestation": {
        "id": "att-1",
        "claim": "site.inspection",
        "subject": {"kind": "site", "id": "site-a"},
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "evidence": [DIGEST],
        "result": "green",
    },
    "attestation.revoke": {"attestation": "att-1", "reason": "issued in error"},
    "incident": {
        "id": "inc-1",
        "category": "non_state_armed_groups",
        "severity": "high",
        "subject": {"kind": "site", "id": "site-a"},
        "observed": "2026-01-14",
        "summary": "illegal taxation at the road checkpoint",
    },
    "incident.resolve": {"incident": "inc-1", "resolution": "checkpoint removed, verified"},
}
OPTIONAL = {("attestation", "body.result"), ("incident", "body.summary")}


def _nodes(value: Any, path: str = "body", steps: tuple[Any, ...] = ()) -> Iterator[Any]:
    """Every (path, steps, value) below the body, depth first (the body itself excluded)."""
    children: Any = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in children:
        child_path = f"{path}.{key}" if isinstance(value, dict) else f"{path}[{key}]"
        yield child_path, (*steps, key), isinstance(value, dict), child
        if isinstance(child, dict | list):
            yield from _nodes(child, child_path, (*steps, key))


def _replace(body: dict[str, Any], steps: tuple[Any, ...], new: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target: Any = body
    for step in steps[:-1]:
        target = target[step]
    target[steps[-1]] = new
    return body


def _delete(body: dict[str, Any], steps: tuple[Any, ...]) -> dict[str, Any]:
    body = copy.deepcopy(body)
    target: Any = body
    for step in steps[:-1]:
        target = target[step]
    del target[steps[-1]]
    return body


def _wrong_values(value: Any) -> list[Any]:
    """Values of the wrong JSON type for a field that holds ``value`` (unhashable ones too)."""
    if isinstance(value, bool):
        raise AssertionError("no boolean fields in bodies")
    if isinstance(value, int):
        return ["1", None, True, 1.5, [1], {"v": 1}]
    if isinstance(value, str):
        return [12345, None, True, [value], {"v": value}]
    if isinstance(value, list):
        return ["x", None, 3, {"v": 1}]
    return ["x", None, 3, [value]]


MISSING = [
    pytest.param(kind, path, steps, id=f"{kind}:{path}")
    for kind, body in VALID.items()
    for path, steps, in_object, _ in _nodes(body)
    if in_object and (kind, path) not in OPTIONAL
]
WRONG = [
    pytest.param(kind, path, steps, wrong, id=f"{kind}:{path}:{type(wrong).__name__}")
    for kind, body in VALID.items()
    for path, steps, _, value in _nodes(body)
    for wrong in _wrong_values(value)
]
OBJECTS = [
    pytest.param(kind, path, steps, id=f"{kind}:{path}")
    for kind, body in VALID.items()
    for path, steps, value in [("body", (), body)]
    + [(p, s, v) for p, s, _, v in _nodes(body) if isinstance(v, dict)]
]


def test_every_statement_type_has_a_body_schema_and_a_valid_example() -> None:
    assert set(BODIES) == set(STATEMENT_TYPES) == set(VALID)
    assert set(PRIVATE_FIELDS) <= set(STATEMENT_TYPES)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_valid_body_passes(kind: str) -> None:
    check_body(kind, copy.deepcopy(VALID[kind]))


@pytest.mark.parametrize(("kind", "path", "steps"), MISSING)
def test_missing_field(kind: str, path: str, steps: tuple[Any, ...]) -> None:
    with pytest.raises(ValidationError, match=rf"invalid: {_re(path)} is required\.$") as info:
        check_body(kind, _delete(VALID[kind], steps))
    assert info.value.code == "invalid"
    assert info.value.details["field"] == path


@pytest.mark.parametrize(("kind", "path", "steps", "wrong"), WRONG)
def test_wrong_type(kind: str, path: str, steps: tuple[Any, ...], wrong: Any) -> None:
    with pytest.raises(ValidationError, match=_re(path)) as info:
        check_body(kind, _replace(VALID[kind], steps, wrong))
    assert info.value.code == "invalid"
    assert info.value.details["field"] == path


@pytest.mark.parametrize(("kind", "path", "steps"), OBJECTS)
def test_unknown_field(kind: str, path: str, steps: tuple[Any, ...]) -> None:
    body = copy.deepcopy(VALID[kind])
    target: Any = body
    for step in steps:
        target = target[step]
    target["zz_extra"] = 1
    with pytest.raises(ValidationError, match="is not a field of this object") as info:
        check_body(kind, body)
    assert info.value.details["field"] == f"{path}.zz_extra"


def _re(path: str) -> str:
    return path.replace(".", r"\.").replace("[", r"\[").replace("]", r"\]")


# -- ranges, lengths and formats ---------------------------------------------------------------

_LONG_ID = "a" * 65
BAD: dict[str, tuple[str, str, Any, str]] = {
    # (type, dotted path inside body, new value, expected message fragment)
    "mass-zero": ("lot.register", "mass_g", 0, "integer from 1"),
    "mass-negative": ("lot.receive", "mass_g", -5, "integer from 1"),
    "mass-too-big": ("lot.dispatch", "mass_g", MAX_MASS_G + 1, f"to {MAX_MASS_G}"),
    "grade-negative": ("lot.register", "grade_ppm", -1, "integer from 0 to 1000000"),
    "grade-over-ppm": ("lot.register", "grade_ppm", PPM + 1, "integer from 0 to 1000000"),
    "merge-grade": ("lot.merge", "output.grade_ppm", PPM + 1, "integer from 0"),
    "process-grade": ("lot.process", "outputs[0].grade_ppm", PPM + 1, "integer from 0"),
    "lat": ("site.register", "location.lat_e6", 90_000_001, "integer from -90000000"),
    "lon": ("site.register", "location.lon_e6", -180_000_001, "integer from -180000000"),
    "capacity-zero": ("site.register", "capacity_g_month", 0, "integer from 1"),
    "policy-tolerance": ("genesis", "policy.split_tolerance_ppm", PPM + 1, "integer from 0"),
    "policy-skew": ("genesis", "policy.max_future_skew_s", 86_401, "to 86400"),
    "policy-negative": ("genesis", "policy.receipt_tolerance_ppm", -1, "integer from 0"),
    "registrars-none": ("genesis", "registrars", [], "list of 1 to 8"),
    "registrars-nine": ("genesis", "registrars", ["r"] * 9, "list of 1 to 8"),
    "registrar-no-keys": ("genesis", "registrars[0].keys", [], "list of 1 to 8"),
    "roles-empty": ("actor.register", "roles", [], "list of 1 to 10"),
    "roles-repeated": ("actor.register", "roles", ["trader", "trader"], "must not repeat"),
    "role-unknown": ("actor.register", "roles[0]", "smuggler", "must be one of"),
    "role-operator": ("actor.register", "roles[0]", "operator", "must be one of"),
    "keys-nine": ("actor.register", "keys", [KEY] * 9, "list of 1 to 8"),
    "keys-repeated": ("actor.register", "keys", [KEY, KEY], "must not repeat"),
    "key-31-bytes": ("actor.key.add", "key", b64encode(bytes(31)), "decode to 32 bytes"),
    "key-hex": ("actor.key.add", "key", "ab" * 32, "decode to 32 bytes"),
    "key-id-upper": ("actor.key.revoke", "key", "CD" * 32, "key id"),
    "key-id-newline": ("actor.key.revoke", "key", "cd" * 32 + "\n", "key id"),
    "effective-date-only": ("actor.key.revoke", "effective", "2026-01-15", "RFC 3339"),
    "reason-long": ("actor.key.revoke", "reason", "x" * 501, "1 to 500"),
    "id-long": ("actor.register", "id", _LONG_ID, "identifier"),
    "id-space": ("miner.register", "id", "miner 1", "identifier"),
    "id-newline": ("lot.register", "lot", "lot-1\n", "identifier"),
    "id-leading-dot": ("lot.register", "lot", ".lot", "identifier"),
    "name-empty": ("actor.register", "name", "", "1 to 200"),
    "name-padded": ("actor.register", "name", " Trader", "not padded"),
    "name-long": ("site.register", "name", "x" * 201, "1 to 200"),
    "country-lower": ("actor.register", "country", "cd", "alpha-2"),
    "country-three": ("site.register", "country", "COD", "alpha-2"),
    "country-newline": ("lot.export", "destination", "MY\n", "alpha-2"),
    "minerals-empty": ("site.register", "minerals", [], "list of 1 to 5"),
    "mineral-unknown": ("site.register", "minerals[0]", "coltan", "must be one of"),
    "status-unknown": ("site.register", "inspection_status", "purple", "must be one of"),
    "licence-date": ("site.register", "licence.expires", "2030-02-30", "not a real date"),
    "licence-date-format": ("site.register", "licence.expires", "31/12/2030", "date like"),
    "licence-date-newline": ("site.register", "licence.expires", "2030-12-31\n", "date like"),
    "register-form-metal": ("lot.register", "form", "metal", "must be one of concentrate, ore"),
    "register-no-tags": ("lot.register", "tags", [], "list of 1 to 256"),
    "register-tag-space": ("lot.register", "tags[0]", "T 1", "tag id"),
    "register-tag-newline": ("lot.register", "tags[0]", "T-1\n", "tag id"),
    "register-tags-repeated": ("lot.register", "tags", ["T-1", "T-1"], "must not repeat"),
    "register-tags-257": ("lot.register", "tags", [f"T{i}" for i in range(257)], "1 to 256"),
    "extracted-time": ("lot.register", "extracted", "2026-01-10T00:00:00Z", "date like"),
    "split-one-output": (
        "lot.split",
        "outputs",
        [{"lot": "x", "mass_g": 1, "tags": []}],
        "2 to 64",
    ),
    "split-output-mass": ("lot.split", "outputs[1].mass_g", 0, "integer from 1"),
    "merge-one-input": ("lot.merge", "inputs", ["lot-1"], "list of 2 to 64"),
    "merge-inputs-repeated": ("lot.merge", "inputs", ["lot-1", "lot-1"], "must not repeat"),
    "process-no-inputs": ("lot.process", "inputs", [], "list of 1 to 64"),
    "process-no-outputs": ("lot.process", "outputs", [], "list of 1 to 64"),
    "process-form": ("lot.process", "outputs[0].form", "ingot", "must be one of"),
    "certificate-long": ("lot.export", "certificate", "x" * 101, "1 to 100"),
    "claim-unknown": ("attestation", "claim", "conflict_free_forever", "must be one of"),
    "subject-kind": ("attestation", "subject.kind", "miner", "must be one of actor, lot, site"),
    "evidence-upper": ("attestation", "evidence[0]", DIGEST.upper(), "64 lowercase hex"),
    "evidence-33": ("attestation", "evidence", [f"{i:064x}" for i in range(33)], "0 to 32"),
    "result-long": ("attestation", "result", "x" * 101, "1 to 100"),
    "valid-from-format": ("attestation", "valid_from", "2026-1-1", "date like"),
}


def _steps(path: str) -> tuple[Any, ...]:
    steps: list[Any] = []
    for part in path.split("."):
        name, _, index = part.partition("[")
        steps.append(name)
        if index:
            steps.append(int(index.rstrip("]")))
    return tuple(steps)


@pytest.mark.parametrize(("kind", "path", "value", "match"), BAD.values(), ids=BAD.keys())
def test_out_of_range(kind: str, path: str, value: Any, match: str) -> None:
    body = _replace(VALID[kind], _steps(path), value)
    with pytest.raises(ValidationError, match=match) as info:
        check_body(kind, body)
    assert info.value.code == "invalid"
    field = info.value.details["field"]
    assert field == f"body.{path}" or field.startswith(f"body.{path}[")
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        ("lot.register", "mass_g", MAX_MASS_G),
        ("lot.register", "grade_ppm", 0),
        ("lot.register", "grade_ppm", PPM),
        ("lot.dispatch", "tags", []),
        ("site.register", "location.lat_e6", -90_000_000),
        ("actor.register", "name", "x" * 200),
        ("actor.register", "id", "a" * 64),
        ("lot.register", "tags", [f"T{i}" for i in range(256)]),
        ("attestation", "valid_until", "2026-01-01"),
        ("attestation", "evidence", []),
        ("genesis", "policy.max_future_skew_s", 0),
    ],
)
def test_boundaries_pass(kind: str, path: str, value: Any) -> None:
    check_body(kind, _replace(VALID[kind], _steps(path), value))


def test_attestation_valid_until_before_valid_from() -> None:
    body = _replace(VALID["attestation"], ("valid_until",), "2025-12-31")
    with pytest.raises(ValidationError, match=r"must not be before body\.valid_from") as info:
        check_body("attestation", body)
    assert info.value.details["field"] == "body.valid_until"


def test_attestation_result_is_optional() -> None:
    check_body("attestation", _delete(VALID["attestation"], ("result",)))


def test_body_not_an_object() -> None:
    with pytest.raises(ValidationError, match="body must be an object") as info:
        check_body("lot.receive", ["lot-1", 5])
    assert info.value.details["field"] == "body"


def test_split_output_ids_may_repeat_structurally_but_not_exactly() -> None:
    same = {"lot": "x", "mass_g": 1, "tags": []}
    body = {"lot": "lot-1", "outputs": [same, dict(same)]}
    with pytest.raises(ValidationError, match="must not repeat"):
        check_body("lot.split", body)


def test_checks_are_reusable_alone() -> None:
    assert bodies.mass(5, "m") == 5
    with pytest.raises(ValidationError, match=r"invalid: m must be an integer"):
        bodies.mass(True, "m")


@pytest.mark.parametrize(
    "origin", ["has space.example/l", "plus+sign.example/l", "", "tab\there", "é.example/l"]
)
def test_genesis_origin_must_be_a_checkpoint_key_name(origin: str) -> None:
    """The origin is also the signed-note key name: no white space, no '+', printable ASCII."""
    from ledger.bodies import origin as check_origin

    with pytest.raises(ValidationError, match="without spaces or '\\+'"):
        check_origin(origin, "body.origin")
    assert check_origin("cd.example.org/asm", "body.origin") == "cd.example.org/asm"
