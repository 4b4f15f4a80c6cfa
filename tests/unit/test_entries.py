"""Log entries: the fast encoder equals JCS, decode inverts encode, framing is strict."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import ORIGIN, signer
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import canonical, entries
from ledger.entries import MAX_ENTRY_BYTES
from ledger.errors import ValidationError
from ledger.statements import Envelope, Statement, format_time, sign

SIGNER = signer("entries")
PREV = hashlib.sha256(b"previous entry").digest()
LOGGED = "2026-01-16T08:00:00.5Z"

KEYS = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12
)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=16)
LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-(2**53) + 1, 2**53 - 1), TEXT)
BODIES = st.dictionaries(
    KEYS,
    st.recursive(
        LEAVES,
        lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(KEYS, c, max_size=3)),
        max_leaves=8,
    ),
    max_size=6,
)
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(format_time)
DIGESTS = st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=3, unique=True)


def _envelope(body: dict[str, Any] | None = None, n: int = 1, **changes: Any) -> Envelope:
    fields: dict[str, Any] = {
        "ledger": ORIGIN,
        "type": "lot.receive",
        "actor": "trader-a",
        "key": SIGNER.key_id,
        "n": n,
        "time": "2026-01-15T08:00:00Z",
        "after": {"lot:lot-1": "cd" * 32},
        "body": {"lot": "lot-1", "mass_g": 1000} if body is None else body,
    }
    fields.update(changes)
    return sign(Statement(**fields), SIGNER)


def _by_jcs(seq: int, prev: bytes | None, logged: str, envelope: Envelope) -> bytes:
    return canonical.dumps(
        {
            "seq": seq,
            "prev": None if prev is None else prev.hex(),
            "logged": logged,
            "envelope": envelope.to_json(),
        }
    )


@settings(max_examples=80, deadline=None)
@given(
    seq=st.one_of(st.integers(0, 10**15), st.sampled_from([0, 1, 9, 10, 10**15 - 1])),
    prev=st.one_of(st.none(), st.binary(min_size=32, max_size=32)),
    logged=TIMES,
    body=BODIES,
    time=TIMES,
    n=st.integers(1, 2**53 - 1),
    sd=DIGESTS,
)
def test_encode_equals_jcs_and_decode_inverts(
    seq: int,
    prev: bytes | None,
    logged: str,
    body: dict[str, Any],
    time: str,
    n: int,
    sd: list[str],
) -> None:
    envelope = _envelope(body, n=n, time=time, sd=tuple(sorted(sd)))
    data = entries.encode(seq, prev, logged, envelope)
    assert data == _by_jcs(seq, prev, logged, envelope)

    entry = entries.decode(data)
    assert (entry.seq, entry.prev, entry.logged, entry.data) == (seq, prev, logged, data)
    assert entry.envelope == envelope
    assert entry.statement == envelope.statement
    assert entry.leaf_hash == hashlib.sha256(b"\x00" + data).digest()
    assert entries.split(data) == (seq, prev, logged, envelope.sig, envelope.statement_bytes)
    entry.envelope.verify(SIGNER.public_key)


def test_make_computes_the_rfc6962_leaf_hash() -> None:
    envelope = _envelope()
    entry = entries.make(3, PREV, LOGGED, envelope)
    assert entry.data == _by_jcs(3, PREV, LOGGED, envelope)
    assert entry.leaf_hash == hashlib.sha256(b"\x00" + entry.data).digest()
    assert entry.leaf_hash != hashlib.sha256(entry.data).digest()
    assert entries.decode(entry.data) == entry


def test_make_genesis_entry_has_null_prev() -> None:
    entry = entries.make(0, None, LOGGED, _envelope())
    assert b'"prev":null,"seq":0}' in entry.data
    assert entries.decode(entry.data).prev is None


def test_make_refuses_oversized_entry() -> None:
    envelope = _envelope({"blob": "x" * 16_000})
    assert len(entries.make(0, None, LOGGED, envelope).data) < MAX_ENTRY_BYTES
    padded = envelope.statement_bytes + b" " * (MAX_ENTRY_BYTES - len(envelope.statement_bytes))
    huge = Envelope(envelope.statement, envelope.sig, padded)
    with pytest.raises(ValidationError, match=f"exceed {MAX_ENTRY_BYTES} bytes") as info:
        entries.make(0, None, LOGGED, huge)
    assert info.value.code == "invalid"


# -- strict framing --------------------------------------------------------------------------


GOOD = entries.encode(5, PREV, LOGGED, _envelope())


def _swap(old: bytes, new: bytes) -> bytes:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


TAMPERED: dict[str, bytes] = {
    "trailing-newline": GOOD + b"\n",
    "trailing-space": GOOD + b" ",
    "leading-space": b" " + GOOD,
    "no-final-brace": GOOD[:-1],
    "seq-leading-zero": _swap(b'"seq":5}', b'"seq":05}'),
    "seq-negative": _swap(b'"seq":5}', b'"seq":-5}'),
    "seq-string": _swap(b'"seq":5}', b'"seq":"5"}'),
    "seq-17-digits": _swap(b'"seq":5}', b'"seq":12345678901234567}'),
    "prev-upper": _swap(PREV.hex().encode(), PREV.hex().upper().encode()),
    "prev-short": _swap(PREV.hex().encode(), PREV.hex()[:-2].encode()),
    "prev-bare": _swap(b'"' + PREV.hex().encode() + b'"', PREV.hex().encode()),
    "logged-escape": _swap(LOGGED.encode(), b"2026-01-16T08:00:00\\u005a"),
    "keys-reordered": _swap(b',"prev":', b',"zprev":'),
    "extra-field": _swap(b',"seq":5}', b',"seq":5,"x":1}'),
    "sig-field-renamed": _swap(b'{"envelope":{"sig":"', b'{"envelope":{"sog":"'),
    "sig-short": GOOD[:30] + GOOD[31:],
    "mid-renamed": _swap(b'","statement":', b'","statemenT":'),
    "tail-space": _swap(b'},"logged":', b'}, "logged":'),
    "logged-non-ascii": _swap(LOGGED.encode(), "2026-01-16T08:00:00\u00e9".encode()),
    "logged-latin1": _swap(LOGGED.encode(), b"2026-01-16T08:00:00\xff"),
    "sig-non-ascii": GOOD[:25] + b"\xff" + GOOD[26:],
    "sig-utf8": GOOD[:25] + "\u00e9".encode() + GOOD[27:],
}


@pytest.mark.parametrize("data", TAMPERED.values(), ids=TAMPERED.keys())
def test_split_rejects_tampered_framing(data: bytes) -> None:
    entries.split(GOOD)
    with pytest.raises(ValidationError) as info:
        entries.split(data)
    assert info.value.code == "invalid"
    with pytest.raises(ValidationError):
        entries.decode(data, strict=False)


def test_split_rejects_non_canonical_signature_base64() -> None:
    start = len(b'{"envelope":{"sig":"')
    sig = GOOD[start : start + 88].decode()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    bad = sig[:-3] + alphabet[alphabet.index(sig[-3]) | 1] + "=="
    with pytest.raises(ValidationError, match="canonical base64") as info:
        entries.split(GOOD.replace(sig.encode(), bad.encode()))
    assert info.value.details["field"] == "sig"


def test_split_rejects_oversized_bytes() -> None:
    padded = GOOD.replace(b'"mass_g":1000', b'"mass_g":1000' + b" " * MAX_ENTRY_BYTES)
    with pytest.raises(ValidationError, match="not a canonical ledger entry"):
        entries.split(padded)


def test_split_finds_the_real_tail_when_the_body_mimics_it() -> None:
    fake_tail = '},"logged":"2020-01-01T00:00:00Z","prev":null,"seq":0}'
    envelope = _envelope({"lot": "lot-1", "note": fake_tail})
    data = entries.encode(9, PREV, LOGGED, envelope)
    assert entries.split(data)[0] == 9
    assert entries.decode(data).envelope == envelope


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"mass_g":1000', b'"mass_g": 1000'),
        (b'{"lot":"lot-1","mass_g":1000}', b'{"mass_g":1000,"lot":"lot-1"}'),
        (b'"lot":"lot-1"', b'"lot":"lot\\u002d1"'),
    ],
    ids=["whitespace", "key-order", "escaped-char"],
)
def test_strict_decode_rejects_non_canonical_statement_bytes(old: bytes, new: bytes) -> None:
    assert GOOD.count(old) == 1
    data = GOOD.replace(old, new)
    with pytest.raises(ValidationError, match="not in canonical form") as info:
        entries.decode(data)
    assert info.value.code == "invalid"
    loose = entries.decode(data, strict=False)  # framing is fine; only the statement differs
    assert loose.statement == entries.decode(GOOD).statement
    assert loose.envelope.statement_bytes != entries.decode(GOOD).envelope.statement_bytes


@pytest.mark.parametrize(
    "logged",
    [b"2026-02-30T08:00:00Z", b"yesterday", b"2026-01-16T08:00:00"],
    ids=["not-real", "word", "no-z"],
)
def test_decode_rejects_bad_logged_time(logged: bytes) -> None:
    data = GOOD.replace(LOGGED.encode(), logged)
    entries.split(data)  # the framing is fine
    with pytest.raises(ValidationError, match="logged") as info:
        entries.decode(data)
    assert info.value.details["field"] == "logged"


def test_split_rejects_logged_time_with_space() -> None:
    with pytest.raises(ValidationError, match="not a canonical ledger entry"):
        entries.split(GOOD.replace(LOGGED.encode(), b"2026-01-16 08:00:00Z"))


def test_decode_rejects_a_statement_with_bad_common_fields() -> None:
    data = GOOD.replace(b'"n":1,', b'"n":0,')
    with pytest.raises(ValidationError, match="positive integer") as info:
        entries.decode(data)
    assert info.value.details["field"] == "statement.n"


def test_decode_rejects_statement_that_is_not_json() -> None:
    data = GOOD.replace(b'"mass_g":1000', b'"mass_g":1000,')
    with pytest.raises(ValidationError, match="not valid JSON"):
        entries.decode(data)


def test_entries_chain_by_prev() -> None:
    start = datetime(2026, 1, 16, tzinfo=UTC)
    prev: bytes | None = None
    for seq in range(5):
        logged = format_time(start + timedelta(seconds=seq))
        entry = entries.make(seq, prev, logged, _envelope(n=seq + 1))
        assert entries.decode(entry.data).prev == prev
        prev = entry.leaf_hash
