"""Canonical JSON: the data model, RFC 8785 bytes, the fast encoder, strict parsing and decoding."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ledger import canonical
from ledger.canonical import MAX_DEPTH, MAX_SAFE_INTEGER
from ledger.errors import ValidationError

# -- strategies --------------------------------------------------------------------------------

KEYS = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=64
)
# Every code point except lone surrogates, with the characters JSON escaping cares about made
# frequent: quotes, backslashes, the C0 controls, DEL, U+2028/2029 and non-BMP characters.
SPECIAL = st.sampled_from(
    ['"', "\\", "/", "\x00", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1f", "\x7f", "\u2028",
     "\u2029", "\ufeff", "\uffff", "\U0001f600", "\U0010ffff", "é", "€"]
)  # fmt: skip
CHARS = st.one_of(st.characters(exclude_categories=("Cs",)), SPECIAL)
STRINGS = st.lists(CHARS, max_size=24).map("".join)
SAFE_INTS = st.one_of(
    st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    st.sampled_from([0, -1, MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER, 2**31, 2**32 + 1]),
)
SCALARS = st.one_of(st.none(), st.booleans(), SAFE_INTS, STRINGS)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=25,
)


def _passes(value: Any) -> bool:
    try:
        canonical.check_value(value)
    except ValidationError:
        return False
    return True


def _nested(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


# -- the fast encoder is the RFC 8785 encoder on the data model ---------------------------------


def _fast_equals_rfc8785(value: Any) -> None:
    assume(_passes(value))
    expected = bytes(rfc8785.dumps(value))
    assert canonical.dumps(value) == expected
    assert canonical.dumps_fast(value) == expected
    assert canonical.dumps_received(value) == expected


@settings(max_examples=150, deadline=None)
@given(VALUES)
def test_dumps_fast_equals_rfc8785(value: Any) -> None:
    _fast_equals_rfc8785(value)


@pytest.mark.slow
@settings(max_examples=1_000, deadline=None)
@given(VALUES)
def test_dumps_fast_equals_rfc8785_many(value: Any) -> None:
    _fast_equals_rfc8785(value)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(KEYS, STRINGS, min_size=2, max_size=8))
def test_dumps_fast_sorts_keys_like_rfc8785(value: dict[str, str]) -> None:
    assert canonical.dumps_fast(value) == bytes(rfc8785.dumps(value))


@settings(max_examples=60, deadline=None)
@given(VALUES)
def test_loads_inverts_dumps(value: Any) -> None:
    assume(_passes(value))
    data = canonical.dumps(value)
    assert canonical.loads(data) == value
    assert canonical.parse(data.decode("utf-8")) == value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": [1, True, None], "a": ""}, b'{"a":"","b":[1,true,null]}'),
        ("\n\t\x1f\x7f\u2028", b'"\\n\\t\\u001f\x7f\xe2\x80\xa8"'),
        ('"\\/', b'"\\"\\\\/"'),
        ("\U0001f600", '"\U0001f600"'.encode()),
        ({"b": 1, "B": 2, "a b": 3, "_": 4}, b'{"B":2,"_":4,"a b":3,"b":1}'),
        (-MAX_SAFE_INTEGER, b"-9007199254740991"),
    ],
    ids=["keys-sorted", "controls", "quote-backslash-slash", "non-bmp", "ascii-order", "min-int"],
)
def test_dumps_known_bytes(value: Any, expected: bytes) -> None:
    assert canonical.dumps(value) == expected
    assert canonical.dumps_fast(value) == expected
    assert canonical.dumps_received(value) == expected


# -- check_value: the data model ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "field", "match"),
    [
        (1.0, "$", "floating-point"),
        ({"a": [1, 2.5]}, "$.a[1]", "floating-point"),
        (MAX_SAFE_INTEGER + 1, "$", "safe integer range"),
        (-MAX_SAFE_INTEGER - 1, "$", "safe integer range"),
        ([2**64], "$[0]", "safe integer range"),
        ("\ud800", "$", "lone surrogate"),
        ({"k": ["ok", "x\udfffy"]}, "$.k[1]", "lone surrogate"),
        ({"clé": 1}, "$", "printable ASCII"),
        ({"": 1}, "$", "printable ASCII"),
        ({"k" * 65: 1}, "$", "printable ASCII"),
        ({"a\n": 1}, "$", "printable ASCII"),
        ({"tab\there": 1}, "$", "printable ASCII"),
        ({1: "x"}, "$", "printable ASCII"),
        ((1, 2), "$", "cannot represent"),
        ({"a": b"bytes"}, "$.a", "cannot represent"),
        ({"a": {1, 2}}, "$.a", "cannot represent"),
        (_nested(MAX_DEPTH + 1), "$" + "[0]" * (MAX_DEPTH + 1), "nested deeper"),
    ],
    ids=[
        "float", "nested-float", "int-too-big", "int-too-small", "int-64", "lone-surrogate",
        "nested-surrogate", "non-ascii-key", "empty-key", "long-key", "key-trailing-newline",
        "key-tab", "int-key", "tuple", "bytes", "set", "too-deep",
    ],
)  # fmt: skip
def test_check_value_rejects(value: Any, field: str, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        canonical.check_value(value)
    with pytest.raises(ValidationError, match=match):  # received values are checked the same
        canonical.dumps_received(value)
    assert info.value.code == "invalid"
    assert info.value.details["field"] == field
    with pytest.raises(ValidationError, match=match):
        canonical.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        _nested(MAX_DEPTH),
        MAX_SAFE_INTEGER,
        -MAX_SAFE_INTEGER,
        {"k" * 64: None},
        {" ~": True},
        "\U0010ffff\x00",
    ],
    ids=["max-depth", "max-int", "min-int", "key-64", "key-edges", "string-edges"],
)
def test_check_value_accepts_boundaries(value: Any) -> None:
    canonical.check_value(value)
    assert canonical.loads(canonical.dumps(value)) == value


# -- parse and loads: strict input ----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b'{"a":1,"a":2}', "duplicate key 'a'"),
        (b'{"x":{"a":1,"b":2,"a":1}}', "duplicate key 'a'"),
        (b"NaN", "NaN is not a JSON number"),
        (b"[Infinity]", "Infinity is not a JSON number"),
        (b"-Infinity", "-Infinity is not a JSON number"),
        (b'"\xff"', "not valid UTF-8"),
        (b'{"a":"\xc3\x28"}', "not valid UTF-8"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"[1,]", "not valid JSON"),
        (b"1.5", "floating-point"),
        (b"1e3", "floating-point"),
        (b"9007199254740992", "safe integer range"),
        (b'{"mass_g":' + b"9" * 5000 + b"}", "safe integer range"),
        (b'"\\ud800"', "lone surrogate"),
        (b'{"\\u00e9":1}', "printable ASCII"),
        (b"[" * 17 + b"0" + b"]" * 17, "nested deeper"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
    ],
    ids=[
        "duplicate-key", "nested-duplicate", "nan", "infinity", "minus-infinity", "bad-utf8",
        "bad-utf8-pair", "bom", "truncated", "trailing-comma", "float", "exponent", "big-int",
        "huge-int", "escaped-surrogate", "escaped-non-ascii-key", "too-deep", "recursion-bomb",
    ],
)  # fmt: skip
def test_parse_rejects(data: bytes, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        canonical.parse(data)
    assert info.value.code == "invalid"


def test_parse_duplicate_key_names_the_key() -> None:
    with pytest.raises(ValidationError, match="duplicate") as info:
        canonical.parse(b'{"mass_g":1,"mass_g":2}')
    assert info.value.details["field"] == "mass_g"


@pytest.mark.parametrize(
    "data",
    [
        b'{"b":1,"a":2}',
        b'{"a": 1}',
        b' {"a":1}',
        b'{"a":1}\n',
        b'"\\u0041"',
        b'"\\u001F"',
        b'"\\/"',
        b"-0",
        b"[1 ,2]",
        b'"\\u00e9"',
    ],
    ids=[
        "key-order", "space-after-colon", "leading-space", "trailing-newline", "escaped-letter",
        "uppercase-escape", "escaped-slash", "minus-zero", "space-before-comma",
        "escaped-non-ascii",
    ],
)  # fmt: skip
def test_loads_rejects_non_canonical(data: bytes) -> None:
    canonical.parse(data)  # valid JSON in the data model ...
    with pytest.raises(ValidationError, match="not in RFC 8785 canonical form") as info:
        canonical.loads(data)  # ... but not in canonical form
    assert info.value.code == "invalid"


def test_loads_accepts_canonical() -> None:
    data = b'{"a":[1,"\\n",null],"b":{"c":true}}'
    assert canonical.loads(data) == {"a": [1, "\n", None], "b": {"c": True}}


# -- parse: the plain parser answers exactly as the strict one -------------------------------
# parse() first tries a parser that checks the data model while it parses, and leaves anything
# it is not sure of to the strict parser (json.loads, then check_value), the reference here.


def _outcome(parse: Any, data: bytes | str) -> tuple[Any, ...]:
    try:
        return ("value", parse(data))
    except ValidationError as exc:
        return ("error", exc.message, exc.code, exc.details)


def _strictly(data: bytes | str) -> Any:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError("input is not valid UTF-8.") from exc
    return canonical._parse_strictly(data)


def _same_as_strict(data: bytes | str) -> None:
    assert _outcome(canonical.parse, data) == _outcome(_strictly, data)
    if isinstance(data, str):
        try:
            encoded = data.encode("utf-8")
        except UnicodeEncodeError:
            return
        assert _outcome(canonical.parse, encoded) == _outcome(_strictly, encoded)


def _object_text(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{key}:{value}" for key, value in pairs) + "}"


# JSON texts, valid or not, near the edges of the data model: floats, integers around 2**53,
# NaN, lone surrogates raw and escaped, keys that are empty, long, non-ASCII or with controls,
# repeated keys, escapes, whitespace.
SCALAR_TEXTS = st.one_of(
    st.sampled_from(
        ["0", "-0", "1", "-1", "1.5", "1e3", "-2E-1", "true", "false", "null", "NaN",
         "-Infinity", "9007199254740991", "-9007199254740991", "9007199254740992",
         "-9007199254740992", "123456789012345678901234567890", '"\\ud800"', '"\\udfff x"',
         '"\\ud83d\\ude00"', '"\\u00e9"', '"\u00e9"', '"\ud800"', '"a\\"b"', " 1 "]
    ),
    STRINGS.map(lambda text: json.dumps(text, ensure_ascii=False)),
    STRINGS.map(json.dumps),
    SAFE_INTS.map(str),
)  # fmt: skip
KEY_TEXTS = st.one_of(
    KEYS.map(json.dumps),
    st.sampled_from(
        ['"a"', '"b"', '""', '"' + "k" * 65 + '"', '"\\u00e9"', '"a\\n"', '"\\ud800"', '"v"']
    ),
)  # fmt: skip
JSON_TEXTS = st.recursive(
    SCALAR_TEXTS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(st.tuples(KEY_TEXTS, inner), max_size=4).map(_object_text),
    ),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(JSON_TEXTS)
def test_parse_answers_as_the_strict_parser(text: str) -> None:
    _same_as_strict(text)


@settings(max_examples=100, deadline=None)
@given(VALUES, st.booleans())
def test_parse_of_valid_values_answers_as_the_strict_parser(value: Any, ascii_only: bool) -> None:
    _same_as_strict(json.dumps(value, ensure_ascii=ascii_only))


@pytest.mark.parametrize(
    "text",
    [
        "[" * MAX_DEPTH + "0" + "]" * MAX_DEPTH,
        "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1),
        "[" * (MAX_DEPTH + 1) + "0" + "]" * (MAX_DEPTH + 1),
        '{"a":' * MAX_DEPTH + "{}" + "}" * MAX_DEPTH,
        '{"a":' * MAX_DEPTH + '{"b":1}' + "}" * MAX_DEPTH,
        "[" * 100_000 + "]" * 100_000,
        '{"a":1.5,"a":2}',
        '{"a":2,"a":1.5}',
        '{"\\u00e9":1,"a":1,"a":2}',
        '{"a":1,"a":2,"b":NaN}',
        '[NaN, {"a":1,"a":2}]',
        '{"a":[1,2.5],"b":{"c":9007199254740992}}',
        "\ufeff{}",
        "",
        '"\ud800"',
    ],
    ids=[
        "depth-16", "empty-at-depth-16", "depth-17", "objects-depth-16", "objects-depth-17",
        "recursion-bomb", "float-then-duplicate", "duplicate-then-float", "bad-key-then-duplicate",
        "duplicate-then-nan", "nan-then-duplicate", "float-and-big-int", "bom", "empty",
        "raw-surrogate",
    ],
)  # fmt: skip
def test_parse_edges_answer_as_the_strict_parser(text: str) -> None:
    _same_as_strict(text)


def test_ordinary_input_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cases above would pass if parse() always used the strict parser; it must not."""

    def strictly(_text: str) -> None:
        raise AssertionError("parsed strictly")

    monkeypatch.setattr(canonical, "_parse_strictly", strictly)
    data = b'{"envelope":{"statement":{"v":1,"n":7,"body":{"mass_g":1200,"tags":["T-1"]}},'
    data += b'"sig":"AAAA"},"disclosures":[["c2FsdA==","price",{"usd":1,"note":"\xc3\xa9"}]]}'
    assert canonical.parse(data)["envelope"]["statement"]["n"] == 7
    assert canonical.parse(data.decode("utf-8"))["disclosures"][0][2]["note"] == "\u00e9"


def test_new_keys_are_checked_once_the_known_ones_are_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(canonical, "_KEYS_SEEN", set())
    monkeypatch.setattr(canonical, "_MAX_KEYS_SEEN", 2)
    assert canonical.parse(b'{"a":{"b":{"c":{"d":1}}}}') == {"a": {"b": {"c": {"d": 1}}}}
    assert len(canonical._KEYS_SEEN) == 2
    for bad in (b'{"a":{"\\u00e9":1}}', b'{"x\\n":1}', b'{"' + b"k" * 65 + b'":1}'):
        with pytest.raises(ValidationError, match="printable ASCII"):
            canonical.parse(bad)


# -- base64 and hex --------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=100))
def test_b64_round_trip(data: bytes) -> None:
    text = canonical.b64encode(data)
    assert text == base64.b64encode(data).decode()
    assert canonical.b64decode(text) == data
    assert canonical.b64decode(text, size=len(data)) == data


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("AB==", "not canonical base64"),
        ("AAB=", "not canonical base64"),
        ("AA", "not valid base64"),
        ("AA=", "not valid base64"),
        ("AA==\n", "not valid base64"),
        (" AA==", "not valid base64"),
        ("A A=", "not valid base64"),
        ("-_8=", "not valid base64"),
        ("AAé=", "not valid base64"),
        (b"AA==", "must be a base64 string"),
        (None, "must be a base64 string"),
    ],
    ids=[
        "extra-bits-1", "extra-bits-2", "no-padding", "short-padding", "trailing-newline",
        "leading-space", "inner-space", "urlsafe", "non-ascii", "bytes", "none",
    ],
)  # fmt: skip
def test_b64decode_rejects(text: Any, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as info:
        canonical.b64decode(text, field="sig")
    assert info.value.code == "invalid"
    assert info.value.details["field"] == "sig"


@pytest.mark.parametrize("size", [31, 33])
def test_b64decode_wrong_size(size: int) -> None:
    text = canonical.b64encode(bytes(32))
    with pytest.raises(ValidationError, match=f"must decode to {size} bytes, not 32") as info:
        canonical.b64decode(text, field="key", size=size)
    assert info.value.details["field"] == "key"


def test_hex32_accepts_lowercase() -> None:
    digest = bytes(range(32))
    assert canonical.hex32(digest.hex()) == digest


@pytest.mark.parametrize(
    "text",
    [
        "AB" * 32,
        "ab" * 31,
        "ab" * 33,
        "ab" * 31 + "a",
        "ab" * 32 + "\n",
        "ab" * 31 + "a ",
        " " + "ab" * 31 + "a",
        "gg" * 32,
        b"ab" * 32,
        None,
        64,
    ],
    ids=[
        "uppercase", "short", "long", "odd", "trailing-newline", "trailing-space",
        "leading-space", "not-hex", "bytes", "none", "int",
    ],
)  # fmt: skip
def test_hex32_rejects(text: Any) -> None:
    with pytest.raises(ValidationError, match="64 lowercase hex characters") as info:
        canonical.hex32(text, field="after")
    assert info.value.code == "invalid"
    assert info.value.details["field"] == "after"
