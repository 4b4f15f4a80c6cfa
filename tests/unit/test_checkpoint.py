"""Signed notes and checkpoints: golang.org/x/mod/sumdb/note vectors, round trips, strictness."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.checkpoint import (
    MAX_NOTE_BYTES,
    Checkpoint,
    VerifierKey,
    note_key_id,
    open_note,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
)
from ledger.crypto import Ed25519Signer
from ledger.errors import ProofError, TooLargeError, ValidationError

# golang.org/x/mod/sumdb/note: note.go package documentation and note_test.go.
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
PETER_SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6"
    "KE6RyyBwJnAM=\n"
)
ENOCH_SIG = (
    "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WW"
    "d1RvMc+QQ=\n"
)
PETER = VerifierKey.parse(PETER_VKEY)
ENOCH = VerifierKey.parse(ENOCH_VKEY)

# c2sp.org/tlog-checkpoint example body.
SPEC_BODY = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

ORIGIN = "asm-ledger.example/ledger"
SIGNER = Ed25519Signer.from_seed(bytes(32))
KEY = VerifierKey.from_public_key(ORIGIN, SIGNER.public_key)
ROOT = hashlib.sha256(b"root").digest()


def _peter_signer() -> Ed25519Signer:
    raw = base64.b64decode(PETER_SKEY.split("+", 4)[-1])  # the key data may hold "+"
    assert raw[0] == 1  # algorithm byte, then the 32-byte seed
    return Ed25519Signer.from_seed(raw[1:])


# --------------------------------------------------------------------------------------------
# Published vectors


def test_go_verifier_key_parses_and_round_trips() -> None:
    assert PETER.name == "PeterNeumann"
    assert PETER.key_id == bytes.fromhex("c74f20a3")
    assert str(PETER) == PETER_VKEY
    assert str(ENOCH) == ENOCH_VKEY
    assert str(VerifierKey.from_public_key("PeterNeumann", _peter_signer().public_key)) == (
        PETER_VKEY
    )
    assert note_key_id("PeterNeumann", PETER.public_key) == PETER.key_id


def test_go_sign_vector_is_reproduced_byte_for_byte() -> None:
    assert sign_note(TEXT, "PeterNeumann", _peter_signer()) == TEXT + "\n" + PETER_SIG


def test_go_open_vectors() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [PETER]) == (TEXT, ["PeterNeumann"])
    assert open_note(note.encode(), [PETER, ENOCH]) == (TEXT, ["PeterNeumann", "EnochRoot"])
    with pytest.raises(ProofError, match="no signature by a known key"):
        open_note(note, [])
    # Unused duplicated verifier, duplicated verified and unverified signatures.
    assert open_note(TEXT + "\n" + PETER_SIG, [ENOCH, PETER, ENOCH]) == (TEXT, ["PeterNeumann"])
    enoch_abcd = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    repeated = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG + enoch_abcd
    assert open_note(repeated, [PETER]) == (TEXT, ["PeterNeumann"])


def test_go_invalid_signature_vector() -> None:
    note = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(ProofError, match=r"PeterNeumann\+c74f20a3 does not verify"):
        open_note(note, [PETER])


def test_go_too_many_signatures_vector() -> None:
    with pytest.raises(TooLargeError, match="at most 100 signatures"):
        open_note(TEXT + "\n" + PETER_SIG * 101, [PETER])
    assert open_note(TEXT + "\n" + PETER_SIG * 100, [PETER]) == (TEXT, ["PeterNeumann"])


GO_BAD_MESSAGES = {
    "text only": (TEXT, "no blank line"),
    "no signatures": (TEXT + "\n", "signature block must be non-empty"),
    "no final newline": (TEXT + "\n" + PETER_SIG[:-1], "end in newline"),
    "control character": ("\x01" + TEXT + "\n" + PETER_SIG, "control character"),
    "bad name": (TEXT + "\n— Bad Name " + PETER_SIG.split(" ")[-1], "not valid base64"),
    "unexpected line": (TEXT + "\n" + PETER_SIG + "Unexpected line.\n", "em dash"),
}


@pytest.mark.parametrize("case", GO_BAD_MESSAGES)
def test_go_malformed_message_vectors(case: str) -> None:
    note, match = GO_BAD_MESSAGES[case]
    with pytest.raises(ValidationError, match=match):
        open_note(note, [PETER])


def test_go_invalid_utf8_vector() -> None:
    with pytest.raises(ValidationError, match="not valid UTF-8"):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [PETER])


def test_go_mangled_verifier_keys_are_rejected() -> None:
    raw = PETER_VKEY.encode()
    mangled = {raw[i:j] for i in range(len(raw) + 1) for j in range(i + 1, len(raw) + 1)}
    mangled.discard(raw)
    for i in range(len(raw)):
        mangled.add(raw[:i] + bytes([raw[i] + 1]) + raw[i + 1 :])
    for candidate in sorted(mangled):
        with pytest.raises(ValidationError, match=r"verifier key|key name|base64|key id"):
            VerifierKey.parse(candidate.decode())
    # Go rejects this one for its length; its base64 already has non-zero padding bits.
    with pytest.raises(ValidationError, match="not canonical base64"):
        VerifierKey.parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
    with pytest.raises(ValidationError, match="not of signature type 0x01"):
        VerifierKey.parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


def test_go_misnamed_and_wrong_hash_signatures_count_as_unknown() -> None:
    misnamed = PETER_SIG.replace("PeterNeumann", "CarmenSandiego")
    wrong_hash = PETER_SIG.replace("x08g", "xxxx")
    for sig in (misnamed, wrong_hash):
        with pytest.raises(ProofError, match="no signature by a known key"):
            open_note(TEXT + "\n" + sig, [PETER])


# --------------------------------------------------------------------------------------------
# Checkpoints


def test_spec_checkpoint_body_parses_and_formats() -> None:
    checkpoint = Checkpoint.parse(SPEC_BODY)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root == base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    assert checkpoint.extensions == ()
    assert checkpoint.body() == SPEC_BODY


def test_checkpoint_round_trip_with_fixed_seed() -> None:
    checkpoint = Checkpoint(ORIGIN, 42, ROOT, ("ext one", "ext-two"))
    note = sign_checkpoint(checkpoint, ORIGIN, SIGNER)
    assert verify_checkpoint(note, KEY, origin=ORIGIN) == checkpoint
    assert verify_checkpoint(note.encode(), KEY) == checkpoint
    assert Checkpoint.parse(checkpoint.body()) == checkpoint


def test_signed_checkpoint_format_checked_independently() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 0, ROOT), ORIGIN, SIGNER)
    body = f"{ORIGIN}\n0\n{base64.b64encode(ROOT).decode()}\n"
    assert note.startswith(body + "\n")
    line = note[len(body) + 1 :]
    assert line.endswith("\n")
    assert line.count("\n") == 1
    dash, name, encoded = line[:-1].split(" ")
    assert (dash, name) == ("\u2014", ORIGIN)
    raw = base64.b64decode(encoded, validate=True)
    want_id = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + SIGNER.public_key).digest()[:4]
    assert raw[:4] == want_id
    assert len(raw) == 68
    Ed25519PublicKey.from_public_bytes(SIGNER.public_key).verify(raw[4:], body.encode())
    key_data = base64.b64encode(b"\x01" + SIGNER.public_key).decode()
    assert str(KEY) == f"{ORIGIN}+{want_id.hex()}+{key_data}"


def test_verify_checkpoint_rejects_wrong_origin_and_wrong_key() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, SIGNER)
    with pytest.raises(ProofError, match=r"origin 'asm-ledger\.example/ledger', not 'x/y'") as e:
        verify_checkpoint(note, KEY, origin="x/y")
    assert e.value.details == {"expected": "x/y", "computed": ORIGIN}
    other = VerifierKey.from_public_key(ORIGIN, Ed25519Signer.from_seed(bytes([1]) * 32).public_key)
    with pytest.raises(ProofError, match="no signature by a known key"):
        verify_checkpoint(note, other)


def test_unknown_cosignatures_are_ignored_but_known_bad_ones_fail() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, SIGNER)
    witness = Ed25519Signer.from_seed(bytes([2]) * 32)
    witness_line = sign_note(Checkpoint(ORIGIN, 7, ROOT).body(), "witness.example", witness)
    cosigned = note + witness_line.split("\n\n")[-1]
    assert verify_checkpoint(cosigned, KEY) == Checkpoint(ORIGIN, 7, ROOT)
    witness_key = VerifierKey.from_public_key("witness.example", witness.public_key)
    assert open_note(cosigned, [KEY, witness_key])[1] == [ORIGIN, "witness.example"]
    forged_line = sign_note("other text\n", "witness.example", witness).split("\n\n")[-1]
    with pytest.raises(ProofError, match=r"witness\.example\+[0-9a-f]{8} does not verify"):
        open_note(note + forged_line, [KEY, witness_key])
    assert open_note(note + forged_line, [KEY])[1] == [ORIGIN]  # unknown: ignored


def test_sixteen_signatures_are_accepted() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 7, ROOT), ORIGIN, SIGNER)
    extra = "".join(f"— other{i}.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n" for i in range(15))
    assert verify_checkpoint(note + extra, KEY).size == 7


def test_every_byte_of_a_signed_checkpoint_is_protected() -> None:
    note = sign_checkpoint(Checkpoint(ORIGIN, 1234, ROOT, ("extension",)), ORIGIN, SIGNER)
    data = note.encode()
    for position in range(len(data)):
        for mask in (0x01, 0x20):
            tampered = data[:position] + bytes([data[position] ^ mask]) + data[position + 1 :]
            with pytest.raises((ProofError, ValidationError)) as info:
                verify_checkpoint(tampered, KEY, origin=ORIGIN)
            assert info.value.code in {"bad_proof", "invalid"}, (position, mask)


BAD_BODIES = {
    "no final newline": (SPEC_BODY[:-1], "must end in a newline"),
    "two lines": ("example.com/log\n5\n", "origin, size and root hash lines"),
    "empty origin": ("\n5\n" + SPEC_BODY.split("\n")[2] + "\n", "none of them empty"),
    "empty extension": (SPEC_BODY + "\n", "none of them empty"),
    "leading zero": (SPEC_BODY.replace("20852163", "020852163"), "without leading zeros"),
    "plus sign": (SPEC_BODY.replace("20852163", "+20852163"), "without leading zeros"),
    "negative": (SPEC_BODY.replace("20852163", "-1"), "without leading zeros"),
    "space in size": (SPEC_BODY.replace("20852163", "20852163 "), "without leading zeros"),
    "arabic digits": (SPEC_BODY.replace("20852163", "\u0662\u0660"), "without leading zeros"),
    "size over 2**64": (SPEC_BODY.replace("20852163", str(1 << 64)), "below 2\\*\\*64"),
    "root not base64": (SPEC_BODY.replace("CsUY", "CsU!"), "not valid base64"),
    "root not canonical": (SPEC_BODY.replace("q2I=", "q2J="), "not canonical base64"),
    "root 31 bytes": ("o\n1\n" + base64.b64encode(bytes(31)).decode() + "\n", "32 bytes"),
    "root hex": ("o\n1\n" + "00" * 32 + "\n", "32 bytes, not 48"),
    "carriage return": (SPEC_BODY.replace("\n", "\r\n"), r"without leading zeros"),
    "control in origin": ("o\x07\n1\n" + SPEC_BODY.split("\n")[2] + "\n", "control characters"),
}


@pytest.mark.parametrize("case", BAD_BODIES)
def test_checkpoint_parse_is_strict(case: str) -> None:
    body, match = BAD_BODIES[case]
    with pytest.raises(ValidationError, match=match):
        Checkpoint.parse(body)


def test_zero_size_checkpoint_parses() -> None:
    assert Checkpoint.parse("o\n0\n" + base64.b64encode(ROOT).decode() + "\n").size == 0


BAD_CHECKPOINTS = {
    "origin with newline": (("a\nb", 1, ROOT, ()), "origin line must be non-empty, one line"),
    "empty origin": (("", 1, ROOT, ()), "origin line must be non-empty"),
    "empty extension": (("o", 1, ROOT, ("",)), "extension line must be non-empty"),
    "negative size": (("o", -1, ROOT, ()), r"size is an integer in \[0, 2\*\*64\)"),
    "bool size": (("o", True, ROOT, ()), r"size is an integer"),
    "huge size": (("o", 1 << 64, ROOT, ()), r"size is an integer"),
    "short root": (("o", 1, ROOT[:31], ()), "root hash is 32 bytes"),
}


@pytest.mark.parametrize("case", BAD_CHECKPOINTS)
def test_checkpoint_values_are_checked(case: str) -> None:
    args, match = BAD_CHECKPOINTS[case]
    with pytest.raises(ValidationError, match=match):
        Checkpoint(*args)


_SIG = PETER_SIG.split(" ")[-1]
BAD_NOTES = {
    "hyphen instead of em dash": (TEXT + "\n- PeterNeumann " + _SIG, ValidationError, "em dash"),
    "no space after dash": (TEXT + "\n—PeterNeumann " + _SIG, ValidationError, "em dash"),
    "plus in name": (TEXT + "\n— Peter+Neumann " + _SIG, ValidationError, "key name"),
    "no-break space in name": (TEXT + "\n— Peter\u00a0N " + _SIG, ValidationError, "key name"),
    "empty name": (TEXT + "\n—  " + _SIG, ValidationError, "key name ''"),
    "empty signature": (TEXT + "\n— PeterNeumann \n", ValidationError, "too short"),
    "short signature": (TEXT + "\n— PeterNeumann AAAAAA==\n", ValidationError, "too short"),
    "non-canonical base64": (
        TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),
        ValidationError,
        "not canonical base64",
    ),
    "tab in text": ("a\tb\n\n" + PETER_SIG, ValidationError, "control character"),
    "carriage return": (TEXT.replace("\n", "\r\n") + "\n" + PETER_SIG, ValidationError, "control"),
    "text altered": (TEXT.upper() + "\n" + PETER_SIG, ProofError, "does not verify"),
    "signature line repeated with a bad copy": (
        TEXT + "\n" + PETER_SIG + PETER_SIG.replace("x08go/ZJ", "x08go/ZK"),
        ProofError,
        "does not verify",
    ),
    "too large": ("a" * MAX_NOTE_BYTES + "\n\n" + PETER_SIG, TooLargeError, "at most"),
}


@pytest.mark.parametrize("case", BAD_NOTES)
def test_open_note_is_strict(case: str) -> None:
    note, error, match = BAD_NOTES[case]
    with pytest.raises(error, match=match):
        open_note(note, [PETER])
    with pytest.raises(error, match=match):
        open_note(note.encode(), [PETER])


def test_open_note_rejects_ambiguous_verifiers() -> None:
    # Two keys of one name whose 4-byte key ids collide; built without the key-id check.
    forged = VerifierKey.__new__(VerifierKey)
    object.__setattr__(forged, "name", PETER.name)
    object.__setattr__(forged, "key_id", PETER.key_id)
    object.__setattr__(forged, "public_key", ENOCH.public_key)
    with pytest.raises(ValidationError, match="two verifier keys share"):
        open_note(TEXT + "\n" + PETER_SIG, [PETER, forged])


BAD_SIGNING = {
    "no final newline": ("text", ORIGIN, "end in a newline"),
    "empty text": ("", ORIGIN, "non-empty and end in a newline"),
    "control character": ("a\x00b\n", ORIGIN, "control character"),
    "space in name": ("text\n", "a b", "key name 'a b'"),
    "plus in name": ("text\n", "a+b", "key name 'a\\+b'"),
    "empty name": ("text\n", "", "key name ''"),
}


@pytest.mark.parametrize("case", BAD_SIGNING)
def test_sign_note_rejects_bad_input(case: str) -> None:
    text, name, match = BAD_SIGNING[case]
    with pytest.raises(ValidationError, match=match):
        sign_note(text, name, SIGNER)


def test_sign_note_rejects_oversized_note() -> None:
    with pytest.raises(TooLargeError, match="at most"):
        sign_note("a" * MAX_NOTE_BYTES + "\n", ORIGIN, SIGNER)


BAD_VKEYS = {
    "two parts": ("PeterNeumann+c74f20a3", "<name>\\+<8 lowercase hex>"),
    "extra plus in the key data": (PETER_VKEY + "+x", "not valid base64"),
    "uppercase hex": (PETER_VKEY.replace("c74f20a3", "C74F20A3"), "lowercase hex"),
    "wrong key id": (PETER_VKEY.replace("c74f20a3", "c74f20a4"), "key id .* does not match"),
    "other name": (PETER_VKEY.replace("PeterNeumann", "Peter"), "key id .* does not match"),
    "space in name": (PETER_VKEY.replace("PeterNeumann", "Peter Neumann"), "key name"),
    "extra padding": (PETER_VKEY + "=", "not canonical base64"),
    "33 key bytes": (
        "PeterNeumann+00000000+" + base64.b64encode(bytes([1]) * 34).decode(),
        "holds 32 key bytes",
    ),
}


@pytest.mark.parametrize("case", BAD_VKEYS)
def test_verifier_key_parse_is_strict(case: str) -> None:
    text, match = BAD_VKEYS[case]
    with pytest.raises(ValidationError, match=match):
        VerifierKey.parse(text)


def test_verifier_key_from_public_key_checks_length() -> None:
    with pytest.raises(ValidationError, match="public key is 32 bytes"):
        VerifierKey.from_public_key(ORIGIN, SIGNER.public_key[:31])


def test_verifier_key_whose_base64_contains_plus_round_trips() -> None:
    """Regression: a public key whose base64 holds "+" was split into too many parts."""
    from ledger.crypto import Ed25519Signer as _Signer

    for i in range(256):
        signer = _Signer.from_seed(bytes([i]) * 32)
        text = str(VerifierKey.from_public_key("example.org/log", signer.public_key))
        if "+" in text.split("+", 2)[2]:
            assert VerifierKey.parse(text).public_key == signer.public_key
            return
    raise AssertionError("no seed in 0..255 gives a key whose base64 contains '+'")
