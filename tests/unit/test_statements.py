"""Statements and envelopes: common-field checks, the signing input, round trips, tampering."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from factories import ORIGIN, signer

from ledger import canonical, crypto
from ledger.errors import SignatureError, TooLargeError, ValidationError
from ledger.statements import (
    MAX_DISCLOSURES,
    MAX_STATEMENT_BYTES,
    SIGNATURE_CONTEXT,
    Envelope,
    Statement,
    format_time,
    parse_time,
    sign,
    signing_input,
)

ALICE = signer("alice")
MALLORY = signer("mallory")
HASH = "ab" * 32
B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _statement(**changes: Any) -> Statement:
    fields: dict[str, Any] = {
        "ledger": ORIGIN,
        "type": "lot.receive",
        "actor": "trader-a",
        "key": ALICE.key_id,
        "n": 7,
        "time": "2026-01-15T08:00:00Z",
        "after": {"lot:lot-1": HASH},
        "body": {"lot": "lot-1", "mass_g": 1000},
        "sd": (),
    }
    fields.update(changes)
    return Statement(**fields)


def _json(**changes: Any) -> dict[str, Any]:
    obj = _statement().to_json()
    obj.update(changes)
    return obj


def _non_canonical(sig_b64: str) -> str:
    """Set a padding bit of a 64-byte signature's base64: same bytes, non-canonical text."""
    assert sig_b64.endswith("==")
    index = B64_ALPHABET.index(sig_b64[-3])
    return sig_b64[:-3] + B64_ALPHABET[index | 1] + "=="


@pytest.fixture
def envelope() -> Envelope:
    return sign(_statement(sd=("01" * 32, "02" * 32)), ALICE)


# -- the signing input -------------------------------------------------------------------------


def test_signature_covers_domain_prefix_and_canonical_bytes(envelope: Envelope) -> None:
    assert SIGNATURE_CONTEXT == b"asm-ledger/v1/statement\n"
    assert envelope.statement_bytes == canonical.dumps(envelope.statement.to_json())
    assert signing_input(envelope.statement_bytes) == SIGNATURE_CONTEXT + envelope.statement_bytes
    crypto.verify(ALICE.public_key, envelope.sig, SIGNATURE_CONTEXT + envelope.statement_bytes)
    envelope.verify(ALICE.public_key)


def test_signature_over_plain_jcs_bytes_does_not_verify(envelope: Envelope) -> None:
    bare = Envelope(
        envelope.statement, ALICE.sign(envelope.statement_bytes), envelope.statement_bytes
    )
    with pytest.raises(SignatureError, match="does not verify") as info:
        bare.verify(ALICE.public_key)
    assert info.value.code == "bad_signature"


def test_verify_with_another_key_fails(envelope: Envelope) -> None:
    with pytest.raises(SignatureError, match="does not verify") as info:
        envelope.verify(MALLORY.public_key)
    assert info.value.code == "bad_signature"


def test_every_flipped_bit_of_statement_bytes_fails(envelope: Envelope) -> None:
    data = envelope.statement_bytes
    for bit in range(len(data) * 8):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        tampered = Envelope(envelope.statement, envelope.sig, bytes(flipped))
        with pytest.raises(SignatureError, match="does not verify"):
            tampered.verify(ALICE.public_key)


def test_every_flipped_bit_of_signature_fails(envelope: Envelope) -> None:
    for bit in range(len(envelope.sig) * 8):
        sig = bytearray(envelope.sig)
        sig[bit // 8] ^= 1 << (bit % 8)
        tampered = Envelope(envelope.statement, bytes(sig), envelope.statement_bytes)
        with pytest.raises(SignatureError, match="does not verify"):
            tampered.verify(ALICE.public_key)


@pytest.mark.parametrize("size", [0, 63, 65])
def test_signature_of_wrong_length_fails(envelope: Envelope, size: int) -> None:
    tampered = Envelope(envelope.statement, bytes(size), envelope.statement_bytes)
    with pytest.raises(SignatureError, match="64 bytes"):
        tampered.verify(ALICE.public_key)


def test_sign_refuses_a_signer_of_another_key() -> None:
    with pytest.raises(SignatureError, match="not the key id of the signer") as info:
        sign(_statement(), MALLORY)
    assert info.value.code == "bad_signature"


def test_sign_refuses_what_the_ledger_would_not_parse() -> None:
    with pytest.raises(ValidationError, match="positive integer") as info:
        sign(_statement(n=0), ALICE)
    assert info.value.details["field"] == "statement.n"


def test_sign_refuses_oversized_statement() -> None:
    big = _statement(body={"blob": "x" * MAX_STATEMENT_BYTES})
    with pytest.raises(TooLargeError, match="exceeds") as info:
        sign(big, ALICE)
    assert info.value.code == "too_large"


# -- envelopes -----------------------------------------------------------------------------


def test_envelope_round_trip(envelope: Envelope) -> None:
    again = Envelope.from_bytes(envelope.canonical())
    assert again == envelope
    assert again.canonical() == envelope.canonical()
    again.verify(ALICE.public_key)


def test_envelope_from_non_canonical_json_recomputes_canonical_bytes(envelope: Envelope) -> None:
    obj = envelope.to_json()
    reordered = {"statement": dict(reversed(list(obj["statement"].items()))), "sig": obj["sig"]}
    text = canonical.dumps_fast(reordered).replace(b",", b", ")
    again = Envelope.from_bytes(text)
    assert again.statement_bytes == envelope.statement_bytes
    again.verify(ALICE.public_key)


@pytest.mark.parametrize(
    ("mutate", "field", "match"),
    [
        (lambda e: e.pop("sig"), "envelope", "exactly the fields"),
        (lambda e: e.update(extra=1), "envelope", "exactly the fields"),
        (lambda e: e.update(sig=e["sig"][:-4]), "sig", "64 bytes"),
        (lambda e: e.update(sig=_non_canonical(e["sig"])), "sig", "canonical base64"),
        (lambda e: e.update(sig=7), "sig", "base64 string"),
        (lambda e: e["statement"].update(n=0), "statement.n", "positive integer"),
        (lambda e: e["statement"]["body"].update(ratio=0.5), "$.body.ratio", "floating-point"),
    ],
    ids=["no-sig", "extra", "short-sig", "sig-padding", "sig-type", "bad-statement", "float"],
)
def test_envelope_from_json_rejects(
    envelope: Envelope, mutate: Any, field: str, match: str
) -> None:
    obj = copy.deepcopy(envelope.to_json())
    mutate(obj)
    with pytest.raises(ValidationError, match=match) as info:
        Envelope.from_json(obj)
    assert info.value.details.get("field") == field


@pytest.mark.parametrize(
    ("mutate", "field", "match"),
    [
        (lambda e: e.pop("sig"), "envelope", "exactly the fields"),
        (lambda e: e.update(sig=_non_canonical(e["sig"])), "sig", "canonical base64"),
        (lambda e: e["statement"].update(n=0), "statement.n", "positive integer"),
        (lambda e: e["statement"].update(extra=0), "statement.extra", "unknown field"),
        (lambda e: e["statement"].pop("sd"), "statement.sd", "missing sd"),
        (lambda e: e["statement"]["body"].update(blob="x" * MAX_STATEMENT_BYTES), "statement",
         "the limit is"),
    ],
    ids=["no-sig", "sig-padding", "bad-statement", "extra-field", "missing-field", "too-large"],
)  # fmt: skip
def test_a_parsed_envelope_is_refused_alike(
    envelope: Envelope, mutate: Any, field: str, match: str
) -> None:
    """What canonical.parse returned is not walked again; every other check still applies."""
    obj = copy.deepcopy(envelope.to_json())
    mutate(obj)
    for parsed in (False, True):
        with pytest.raises(ValidationError, match=match) as info:
            Envelope.from_json(canonical.parse(canonical.dumps_fast(obj)), parsed=parsed)
        assert info.value.details.get("field") == field


def test_a_parsed_envelope_is_the_same_envelope(
    envelope: Envelope, monkeypatch: pytest.MonkeyPatch
) -> None:
    obj = envelope.to_json()
    reordered = {"sig": obj["sig"], "statement": dict(reversed(list(obj["statement"].items())))}
    text = canonical.dumps_fast(reordered).replace(b",", b", ")
    value = canonical.parse(text)
    assert Envelope.from_json(value, parsed=True) == Envelope.from_json(value) == envelope
    assert Envelope.from_bytes(text) == envelope

    def walked(_value: Any, *_args: Any) -> None:
        raise AssertionError("walked again")

    monkeypatch.setattr(canonical, "check_value", walked)
    assert Envelope.from_json(value, parsed=True) == envelope  # not walked again
    with pytest.raises(AssertionError, match="walked again"):
        Envelope.from_json(value)  # anything else is


def test_envelope_not_an_object() -> None:
    with pytest.raises(ValidationError, match="exactly the fields") as info:
        Envelope.from_json([1, 2])
    assert info.value.details["field"] == "envelope"


def test_envelope_oversized_statement(envelope: Envelope) -> None:
    obj = copy.deepcopy(envelope.to_json())
    obj["statement"]["body"]["blob"] = "x" * MAX_STATEMENT_BYTES
    with pytest.raises(TooLargeError, match="the limit is 16384") as info:
        Envelope.from_json(obj)
    assert info.value.code == "too_large"
    assert info.value.details["field"] == "statement"


def test_envelope_at_the_size_limit_is_accepted(envelope: Envelope) -> None:
    obj = copy.deepcopy(envelope.to_json())
    obj["statement"]["body"]["blob"] = ""
    room = MAX_STATEMENT_BYTES - len(canonical.dumps(obj["statement"]))
    obj["statement"]["body"]["blob"] = "x" * room
    assert len(Envelope.from_json(obj).statement_bytes) == MAX_STATEMENT_BYTES
    obj["statement"]["body"]["blob"] += "x"
    with pytest.raises(TooLargeError):
        Envelope.from_json(obj)


# -- Statement.from_json: each common field -----------------------------------------------------


def test_from_json_round_trip() -> None:
    statement = _statement(sd=("01" * 32,))
    assert Statement.from_json(statement.to_json()) == statement


@pytest.mark.parametrize(
    "name", ["v", "ledger", "type", "actor", "key", "n", "time", "after", "body", "sd"]
)
def test_from_json_missing_field(name: str) -> None:
    obj = _json()
    del obj[name]
    with pytest.raises(ValidationError, match=f"missing {name}") as info:
        Statement.from_json(obj)
    assert info.value.details["field"] == f"statement.{name}"


def test_from_json_extra_field() -> None:
    with pytest.raises(ValidationError, match="unknown field") as info:
        Statement.from_json(_json(zeta=1, alpha=2))
    assert info.value.details["field"] == "statement.alpha"


def test_from_json_not_an_object() -> None:
    with pytest.raises(ValidationError, match="JSON object") as info:
        Statement.from_json([])
    assert info.value.details["field"] == "statement"


BAD_FIELDS: dict[str, tuple[str, Any, str]] = {
    "v-2": ("v", 2, "must be 1"),
    "v-0": ("v", 0, "must be 1"),
    "v-true": ("v", True, "must be 1"),
    "v-string": ("v", "1", "must be 1"),
    "v-float": ("v", 1.0, "must be 1"),
    "ledger-empty": ("ledger", "", "1 to 200"),
    "ledger-long": ("ledger", "x" * 201, "1 to 200"),
    "ledger-int": ("ledger", 5, "1 to 200"),
    "type-unknown": ("type", "lot.steal", "not a known statement type"),
    "type-none": ("type", None, "not a known statement type"),
    "type-list": ("type", ["lot.receive"], "not a known statement type"),
    "type-object": ("type", {"a": 1}, "not a known statement type"),
    "actor-empty": ("actor", "", "identifier"),
    "actor-dash": ("actor", "-coop", "identifier"),
    "actor-space": ("actor", "co op", "identifier"),
    "actor-long": ("actor", "a" * 65, "identifier"),
    "actor-newline": ("actor", "coop\n", "identifier"),
    "actor-unicode": ("actor", "coopé", "identifier"),
    "actor-int": ("actor", 12, "identifier"),
    "key-upper": ("key", "AB" * 32, "key id"),
    "key-short": ("key", "ab" * 31, "key id"),
    "key-newline": ("key", "ab" * 32 + "\n", "key id"),
    "key-none": ("key", None, "key id"),
    "n-0": ("n", 0, "positive integer"),
    "n-negative": ("n", -1, "positive integer"),
    "n-true": ("n", True, "positive integer"),
    "n-false": ("n", False, "positive integer"),
    "n-string": ("n", "1", "positive integer"),
    "n-float": ("n", 1.0, "positive integer"),
    "time-space": ("time", "2026-01-15 08:00:00Z", "RFC 3339"),
    "time-offset": ("time", "2026-01-15T08:00:00+00:00", "RFC 3339"),
    "time-no-z": ("time", "2026-01-15T08:00:00", "RFC 3339"),
    "time-7-digits": ("time", "2026-01-15T08:00:00.1234567Z", "RFC 3339"),
    "time-newline": ("time", "2026-01-15T08:00:00Z\n", "RFC 3339"),
    "time-not-real": ("time", "2026-02-30T08:00:00Z", "not a real date"),
    "time-hour-24": ("time", "2026-01-15T24:00:00Z", "not a real date"),
    "time-int": ("time", 1_768_464_000, "RFC 3339"),
    "time-arabic-digits": ("time", "\u0662\u0660\u0662\u0666-01-15T08:00:00Z", "RFC 3339"),
    "after-list": ("after", [], "must be an object"),
    "after-null": ("after", None, "must be an object"),
    "body-list": ("body", [], "must be an object"),
    "sd-object": ("sd", {}, "list of digests"),
    "sd-unsorted": ("sd", ["02" * 32, "01" * 32], "sorted and without duplicates"),
    "sd-duplicate": ("sd", ["01" * 32, "01" * 32], "sorted and without duplicates"),
}

AFTER_FIELDS: dict[str, tuple[Any, str, str]] = {
    "no-kind": ({"lot-1": HASH}, "statement.after", "not a subject"),
    "unknown-kind": ({"truck:1": HASH}, "statement.after", "not a subject"),
    "bad-id": ({"lot:-1": HASH}, "statement.after", "not a subject"),
    "newline": ({"lot:lot-1\n": HASH}, "statement.after", "not a subject"),
    "short-hash": ({"lot:lot-1": "ab"}, "statement.after.lot:lot-1", "64 lowercase hex"),
    "upper-hash": ({"lot:lot-1": HASH.upper()}, "statement.after.lot:lot-1", "64 lowercase hex"),
    "null-hash": ({"lot:lot-1": None}, "statement.after.lot:lot-1", "64 lowercase hex"),
}


@pytest.mark.parametrize(("name", "value", "match"), BAD_FIELDS.values(), ids=BAD_FIELDS.keys())
def test_from_json_bad_field(name: str, value: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        Statement.from_json(_json(**{name: value}))
    assert info.value.code == "invalid"
    assert info.value.details["field"] == f"statement.{name}"


@pytest.mark.parametrize(
    ("after", "field", "match"), AFTER_FIELDS.values(), ids=AFTER_FIELDS.keys()
)
def test_from_json_bad_after(after: Any, field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        Statement.from_json(_json(after=after))
    assert info.value.details["field"] == field


@pytest.mark.parametrize(
    ("sd", "match"),
    [(["AB" * 32], "64 lowercase hex"), ([7], "64 lowercase hex"), (["ab" * 32 + "\n"], "hex")],
    ids=["upper", "int", "newline"],
)
def test_from_json_bad_sd_digest(sd: list[Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        Statement.from_json(_json(sd=sd))
    assert info.value.details["field"] == "statement.sd[]"


def test_from_json_too_many_after_subjects() -> None:
    after = {f"lot:l{i}": HASH for i in range(65)}
    with pytest.raises(TooLargeError, match="more than 64") as info:
        Statement.from_json(_json(after=after))
    assert info.value.details["field"] == "statement.after"
    del after["lot:l64"]
    assert len(Statement.from_json(_json(after=after)).after) == 64


def test_from_json_too_many_disclosure_digests() -> None:
    sd = sorted(f"{i:064x}" for i in range(MAX_DISCLOSURES + 1))
    with pytest.raises(TooLargeError, match=f"more than {MAX_DISCLOSURES}") as info:
        Statement.from_json(_json(sd=sd))
    assert info.value.details["field"] == "statement.sd"
    assert len(Statement.from_json(_json(sd=sd[:-1])).sd) == MAX_DISCLOSURES


# -- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 15, 8, 0, tzinfo=UTC), "2026-01-15T08:00:00Z"),
        (datetime(2026, 1, 15, 8, 0, 0, 120_000, tzinfo=UTC), "2026-01-15T08:00:00.12Z"),
        (datetime(2026, 1, 15, 8, 0, 0, 1, tzinfo=UTC), "2026-01-15T08:00:00.000001Z"),
    ],
)
def test_format_and_parse_time(moment: datetime, text: str) -> None:
    assert format_time(moment) == text
    assert parse_time(text) == moment
