"""Disclosures: the digest definition, parsing, and matching against a statement's ``sd``."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
import rfc8785
from factories import ORIGIN, signer

from ledger import disclosures
from ledger.builder import Author
from ledger.disclosures import DISCLOSURE_CONTEXT, SALT_SIZE, Disclosure
from ledger.errors import ValidationError

SALT = bytes(range(16))
ALLOWED = frozenset({"price", "invoice"})


def _by_hand(salt: bytes, name: str, value: Any) -> str:
    encoded = rfc8785.dumps([base64.b64encode(salt).decode(), name, value])
    return hashlib.sha256(b"asm-ledger/v1/disclosure\n" + encoded).hexdigest()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("price", {"amount": 123_450, "currency": "USD"}),
        ("name", "Amani Bisimwa"),
        ("phone", "+243 81 000 0000"),
        ("miners", ["m-1", "m-2"]),
        ("birth_year", 1990),
        ("note", 'quote " backslash \\ newline \n emoji \U0001f600'),
        ("none", None),
    ],
)
def test_digest_definition(name: str, value: Any) -> None:
    disclosure = Disclosure.new(name, value, salt=SALT)
    assert DISCLOSURE_CONTEXT == b"asm-ledger/v1/disclosure\n"
    assert disclosure.to_json() == [base64.b64encode(SALT).decode(), name, value]
    assert disclosure.canonical() == bytes(rfc8785.dumps(disclosure.to_json()))
    assert disclosure.digest() == _by_hand(SALT, name, value)


def test_digest_depends_on_salt_name_and_value() -> None:
    base = Disclosure.new("price", 100, salt=SALT)
    others = [
        Disclosure.new("price", 100, salt=SALT[:-1] + b"\xff"),
        Disclosure.new("invoice", 100, salt=SALT),
        Disclosure.new("price", 101, salt=SALT),
        Disclosure.new("price", "100", salt=SALT),
    ]
    assert len({base.digest(), *(d.digest() for d in others)}) == 5


def test_new_draws_a_random_salt() -> None:
    one, two = Disclosure.new("price", 1), Disclosure.new("price", 1)
    assert len(one.salt) == SALT_SIZE == 16
    assert one.salt != two.salt
    assert one.digest() != two.digest()


def test_from_json_round_trip() -> None:
    disclosure = Disclosure.new("invoice", {"no": "INV-7", "lines": [1, 2]}, salt=SALT * 2)
    assert Disclosure.from_json(disclosure.to_json()) == disclosure


@pytest.mark.parametrize(
    ("obj", "field", "match"),
    [
        ({"salt": "x"}, "disclosures", r"\[salt_b64, name, value\]"),
        (["AAAAAAAAAAAAAAAAAAAAAA==", "price"], "disclosures", r"\[salt_b64, name, value\]"),
        (["AAAAAAAAAAAAAAAAAAAAAA==", "price", 1, 2], "disclosures", r"\[salt_b64"),
        (["AAAAAAAAAAAAAAAAAAAAAA==", 7, 1], "disclosures", r"\[salt_b64, name, value\]"),
        ([base64.b64encode(bytes(15)).decode(), "price", 1], "disclosures", "at least 16"),
        ([b"salt", "price", 1], "disclosure salt", "base64 string"),
        (["AAAAAAAAAAAAAAAAAAAAAB==", "price", 1], "disclosure salt", "canonical base64"),
        (["AAAA AAAAAAAAAAAAAAAAAA==", "price", 1], "disclosure salt", "not valid base64"),
        (["AAAAAAAAAAAAAAAAAAAAAA==", "price", 1.5], "$", "floating-point"),
    ],
    ids=[
        "object", "two-items", "four-items", "name-not-text", "short-salt", "salt-bytes",
        "salt-padding", "salt-space", "float-value",
    ],
)  # fmt: skip
def test_from_json_rejects(obj: Any, field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        Disclosure.from_json(obj)
    assert info.value.code == "invalid"
    assert info.value.details["field"] == field


def test_from_json_accepts_16_byte_salt() -> None:
    disclosure = Disclosure.from_json([base64.b64encode(bytes(16)).decode(), "price", 1])
    assert disclosure.salt == bytes(16)


# -- match ---------------------------------------------------------------------------------


def _sd(*items: Disclosure) -> tuple[str, ...]:
    return tuple(sorted(d.digest() for d in items))


def test_match_accepts_disclosures_of_sd() -> None:
    price, invoice = Disclosure.new("price", 10, salt=SALT), Disclosure.new("invoice", "I-1")
    sd = _sd(price, invoice)
    disclosures.match(sd, [price, invoice], ALLOWED)
    disclosures.match(sd, [invoice], ALLOWED)  # a withheld or erased disclosure is fine
    disclosures.match(sd, [], ALLOWED)


def test_match_rejects_a_field_the_type_does_not_allow() -> None:
    secret = Disclosure.new("miners", ["m-1"])
    with pytest.raises(ValidationError, match="'miners' is not a private field") as info:
        disclosures.match(_sd(secret), [secret], ALLOWED)
    assert info.value.details["field"] == "disclosures"
    with pytest.raises(ValidationError, match="allowed: none"):
        disclosures.match(_sd(secret), [secret], frozenset())


def test_match_rejects_a_field_disclosed_twice() -> None:
    one, two = Disclosure.new("price", 10), Disclosure.new("price", 11)
    with pytest.raises(ValidationError, match="'price' is disclosed twice") as info:
        disclosures.match(_sd(one, two), [one, two], ALLOWED)
    assert info.value.details["field"] == "disclosures"


def test_match_rejects_a_digest_not_in_sd() -> None:
    signed = Disclosure.new("price", 10, salt=SALT)
    swapped = Disclosure.new("price", 9, salt=SALT)  # same salt and name, another value
    with pytest.raises(ValidationError, match="does not match any digest") as info:
        disclosures.match(_sd(signed), [swapped], ALLOWED)
    assert info.value.details["field"] == "disclosures"


def test_author_puts_sorted_digests_in_sd() -> None:
    author = Author(ORIGIN, "coop-a", signer("coop-a"))
    submission = author.sign(
        "lot.dispatch",
        {"lot": "lot-1", "to": "trader-a", "mass_g": 1, "tags": []},
        time="2026-01-15T08:00:00Z",
        private={"price": {"amount": 5, "currency": "USD"}, "invoice": "INV-1"},
    )
    statement = submission.envelope.statement
    assert statement.sd == tuple(sorted(d.digest() for d in submission.disclosures))
    assert [d.name for d in submission.disclosures] == ["invoice", "price"]
    disclosures.match(statement.sd, list(submission.disclosures), ALLOWED)


def test_new_refuses_a_short_salt_and_floats() -> None:
    with pytest.raises(ValidationError, match="at least 16 bytes"):
        Disclosure.new("price", 1, salt=b"short")
    with pytest.raises(ValidationError, match="floating-point"):
        Disclosure.new("price", 1.5)
