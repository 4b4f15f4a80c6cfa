"""Any change to a bundle is detected, with a reason: bit flips anywhere in the file, in the
entries, their proofs, the checkpoint and the signatures; missing entries; garbage input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import canonical
from ledger.bundle import FORMAT, parse, verify
from ledger.checkpoint import VerifierKey
from ledger.custody.bundles import bundle_bytes
from ledger.custody.log import Ledger
from ledger.demo import DemoSummary
from ledger.entries import _STATEMENT_AT
from ledger.errors import ValidationError

SIG_AT = len(b'{"envelope":{"sig":"')  # the base64 signature starts here in an entry


@pytest.fixture(scope="module")
def showcase(demo_sqlite: tuple[Ledger, DemoSummary]) -> tuple[bytes, VerifierKey]:
    ledger, summary = demo_sqlite
    return bundle_bytes(ledger, summary.showcase_lot), ledger.verifier_key()


def _flip(data: bytes, index: int, bit: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 1 << bit
    return bytes(changed)


def _rebuild(data: bytes, change: Any) -> bytes:
    value = json.loads(data)
    change(value)
    return canonical.dumps(value)


def _refused(data: bytes, key: VerifierKey) -> list[str]:
    verdict = verify(data, key)
    assert not verdict.ok
    assert verdict.reasons and all(reason.strip() for reason in verdict.reasons)
    return verdict.reasons


def test_the_unchanged_bundle_verifies(showcase: tuple[bytes, VerifierKey]) -> None:
    data, key = showcase
    assert verify(data, key).ok
    assert verify(data + b"\n", key).ok  # one final newline, as a file may end


@given(position=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_bit_flip_in_the_file_fails(
    showcase: tuple[bytes, VerifierKey], position: float, bit: int
) -> None:
    data, key = showcase
    _refused(_flip(data, int(position * len(data)), bit), key)


@given(which=st.floats(0, 1, exclude_max=True), position=st.floats(0, 1, exclude_max=True),
       bit=st.integers(0, 7))  # fmt: skip
def test_any_bit_flip_in_an_entry_fails(
    showcase: tuple[bytes, VerifierKey], which: float, position: float, bit: int
) -> None:
    data, key = showcase

    def change(value: dict[str, Any]) -> None:
        item = value["entries"][int(which * len(value["entries"]))]
        raw = canonical.b64decode(item["entry"])
        item["entry"] = canonical.b64encode(_flip(raw, int(position * len(raw)), bit))

    reasons = _refused(_rebuild(data, change), key)
    assert any(r.startswith("inclusion:") for r in reasons), reasons


@given(which=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 255))
def test_any_bit_flip_in_a_proof_fails(
    showcase: tuple[bytes, VerifierKey], which: float, bit: int
) -> None:
    data, key = showcase

    def change(value: dict[str, Any]) -> None:
        item = value["entries"][int(which * len(value["entries"]))]
        path = bytes.fromhex(item["proof"][0])
        item["proof"][0] = _flip(path, bit // 8, bit % 8).hex()

    reasons = _refused(_rebuild(data, change), key)
    assert any(r.startswith("inclusion:") and "inclusion proof" in r for r in reasons), reasons


@given(position=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7))
def test_any_bit_flip_in_the_checkpoint_fails(
    showcase: tuple[bytes, VerifierKey], position: float, bit: int
) -> None:
    data, key = showcase

    def change(value: dict[str, Any]) -> None:
        note = value["checkpoint"].encode("utf-8")
        flipped = _flip(note, int(position * len(note)), bit)
        value["checkpoint"] = flipped.decode("utf-8", errors="replace")

    reasons = _refused(_rebuild(data, change), key)
    assert any(r.startswith(("checkpoint:", "format:")) for r in reasons), reasons


def test_a_flipped_signature_fails_its_signature_check(
    showcase: tuple[bytes, VerifierKey],
) -> None:
    """Re-proving a changed signature would need the operator's key; without the inclusion
    check the signature check alone still catches it (the parse of the entry passes)."""
    data, key = showcase
    value = json.loads(data)
    item = value["entries"][5]
    raw = canonical.b64decode(item["entry"])
    sig = canonical.b64decode(raw[SIG_AT : SIG_AT + 88].decode())
    forged = canonical.b64encode(_flip(sig, 10, 3)).encode()
    item["entry"] = canonical.b64encode(raw[:SIG_AT] + forged + raw[SIG_AT + 88 :])
    reasons = _refused(canonical.dumps(value), key)
    assert any(r.startswith("inclusion:") for r in reasons)
    seq = item["seq"]
    assert any(r.startswith("signatures:") and f"entry {seq} " in r for r in reasons), reasons
    assert _STATEMENT_AT > SIG_AT + 88


def test_a_missing_entry_breaks_the_chain(showcase: tuple[bytes, VerifierKey]) -> None:
    data, key = showcase
    value = json.loads(data)
    registrations = [
        i for i, e in enumerate(value["entries"])
        if b'"type":"lot.register"' in canonical.b64decode(e["entry"])
    ]  # fmt: skip
    del value["entries"][registrations[0]]
    reasons = _refused(canonical.dumps(value), key)
    assert any(r.startswith("custody:") and "not in the bundle" in r for r in reasons), reasons


def test_a_missing_key_registration_fails_the_signatures(
    showcase: tuple[bytes, VerifierKey],
) -> None:
    data, key = showcase
    value = json.loads(data)
    value["entries"] = [
        e for e in value["entries"]
        if b'"type":"actor.register"' not in canonical.b64decode(e["entry"])
    ]  # fmt: skip
    reasons = _refused(canonical.dumps(value), key)
    assert any(r.startswith("signatures:") and "not registered" in r for r in reasons), reasons


def test_another_key_fails_the_checkpoint(showcase: tuple[bytes, VerifierKey]) -> None:
    data, key = showcase
    other = VerifierKey.from_public_key(key.name, bytes(31) + b"\x01")
    reasons = _refused(data, other)
    assert reasons[0].startswith("checkpoint:")


def test_a_non_canonical_bundle_is_refused(showcase: tuple[bytes, VerifierKey]) -> None:
    data, key = showcase
    spaced = json.dumps(json.loads(data), indent=1).encode()
    assert _refused(spaced, key)[0].startswith("format:")
    with pytest.raises(ValidationError, match="canonical"):
        parse(spaced)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda v: v.update(format="asm-ledger/v0/bundle"), "format"),
        (lambda v: v.update(extra=1), "exactly the fields"),
        (lambda v: v.update(entries=[]), "list of 1 to"),
        (lambda v: v.update(head="AB" * 32), "lowercase hex"),
        (lambda v: v.update(key_id="XYZ"), "key_id"),
        (lambda v: v["entries"].reverse(), "sorted by seq"),
        (lambda v: v.update(consistency={"old_size": 0, "proof": []}), "positive"),
    ],
)
def test_malformed_bundles_name_the_problem(
    showcase: tuple[bytes, VerifierKey], mutate: Any, message: str
) -> None:
    data, _ = showcase
    with pytest.raises(ValidationError, match=message):
        parse(_rebuild(data, mutate))


@given(st.binary(max_size=300))
def test_garbage_never_raises(garbage: bytes) -> None:
    key = VerifierKey.from_public_key("x.example/log", bytes(31) + b"\x01")
    verdict = verify(garbage, key)
    assert not verdict.ok and verdict.reasons


def test_a_json_object_of_the_wrong_kinds_never_raises() -> None:
    key = VerifierKey.from_public_key("x.example/log", bytes(31) + b"\x01")
    value = {"format": FORMAT, "lot": "L", "head": "00" * 32, "checkpoint": "x\n\n",
             "key_id": key.key_id.hex(), "entries": [{"seq": 0, "entry": "", "proof": []}],
             "consistency": None}  # fmt: skip
    verdict = verify(canonical.dumps(value), key)
    assert not verdict.ok
    assert verdict.reasons[0].startswith(("checkpoint:", "format:"))
