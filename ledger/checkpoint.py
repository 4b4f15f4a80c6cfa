"""C2SP signed notes (Ed25519) and tlog-checkpoints: formatting, signing, strict parsing, verifying.

What it does:

* signed notes as in https://c2sp.org/signed-note and ``golang.org/x/mod/sumdb/note``: the note
  text, a blank line, then lines ``— <name> <base64(key id || signature)>``; the Ed25519 key id is
  ``SHA-256(name || 0x0A || 0x01 || public key)[:4]``; verifier keys are written
  ``<name>+<hex key id>+<base64(0x01 || public key)>``;
* checkpoints as in https://c2sp.org/tlog-checkpoint: origin, decimal tree size, base64 root hash
  and optional extension lines.

What it does not do: no other signature types (cosignatures, ECDSA), no key storage (keys enter as
a :class:`~ledger.crypto.Signer`), no Merkle proofs (see :mod:`ledger.merkle`), no I/O.

Parsing is strict and a little stricter than the Go reference: base64 must be canonical, verifier
key ids lowercase hex, and *every* signature by a known key must verify, not only the first.
Malformed text raises :class:`~ledger.errors.ValidationError`; a signature that does not verify,
a note no known key signed, or an unexpected origin raises :class:`~ledger.errors.ProofError`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.canonical import b64decode, b64encode
from ledger.crypto import PUBLIC_KEY_SIZE, Signer, load_public_key, verify
from ledger.errors import ProofError, SignatureError, TooLargeError, ValidationError

ED25519_TYPE = b"\x01"
KEY_ID_SIZE = 4
MAX_NOTE_BYTES = 1 << 20
MAX_SIGNATURES = 100  # the limit of golang.org/x/mod/sumdb/note
MAX_TREE_SIZE = (1 << 64) - 1

SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX8_RE = re.compile(r"[0-9a-f]{8}")
_SIZE_RE = re.compile(r"0|[1-9][0-9]*")


# --------------------------------------------------------------------------------------------
# Keys


def note_key_id(name: str, public_key: bytes) -> bytes:
    """Return the 4-byte signed-note key id: ``SHA-256(name || 0x0A || 0x01 || key)[:4]``."""
    _check_name(name)
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValidationError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes.")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + ED25519_TYPE + public_key).digest()
    return digest[:KEY_ID_SIZE]


@dataclass(frozen=True)
class VerifierKey:
    """A signed-note verifier key: who signs (``name``), under which ``key_id``, with which key."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        if note_key_id(self.name, self.public_key) != self.key_id:
            raise ValidationError(
                f"the key id of verifier key {self.name!r} does not match its public key."
            )
        load_public_key(self.public_key)

    @classmethod
    def from_public_key(cls, name: str, public_key: bytes) -> VerifierKey:
        """Build the verifier key of ``name`` for a raw 32-byte Ed25519 public key."""
        return cls(name, note_key_id(name, public_key), public_key)

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        """Parse ``<name>+<8 lowercase hex>+<base64(0x01 || public key)>``.

        Raises:
            ValidationError: the text is malformed, the type is not Ed25519, or the key id does
                not match the name and key.
        """
        # The name holds no "+", but standard base64 may: split at the first two only.
        parts = text.split("+", 2) if isinstance(text, str) else []
        if len(parts) != 3 or not _HEX8_RE.fullmatch(parts[1]):
            raise ValidationError("a verifier key is <name>+<8 lowercase hex>+<base64 key>.")
        name, key_id_hex, key_b64 = parts
        _check_name(name)
        key = b64decode(key_b64, field="verifier key data")
        if key[:1] != ED25519_TYPE:
            raise ValidationError("the verifier key is not of signature type 0x01 (Ed25519).")
        if len(key) != 1 + PUBLIC_KEY_SIZE:
            raise ValidationError(f"an Ed25519 verifier key holds {PUBLIC_KEY_SIZE} key bytes.")
        return cls(name, bytes.fromhex(key_id_hex), key[1:])

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id.hex()}+{b64encode(ED25519_TYPE + self.public_key)}"


def _check_name(name: object) -> None:
    """Key names are non-empty UTF-8 without Unicode spaces, ``+`` or control characters."""
    if (
        not isinstance(name, str)
        or not name
        or "+" in name
        or any(char.isspace() for char in name)
        or _CONTROL_RE.search(name)
    ):
        raise ValidationError(
            f"key name {name!r} must be non-empty, without spaces, '+' or control characters."
        )
    _encode(name)


# --------------------------------------------------------------------------------------------
# Signed notes


def sign_note(text: str, name: str, signer: Signer) -> str:
    """Sign ``text`` as ``name`` and return the note with its single signature line.

    Raises:
        ValidationError: the text is empty, does not end in a newline, holds control characters
            or is too large, or the name is not a valid key name.
    """
    _check_name(name)
    _check_text(text)
    message = _encode(text)
    key_id = note_key_id(name, signer.public_key)
    signature = b64encode(key_id + signer.sign(message))
    note = f"{text}\n{SIGNATURE_PREFIX}{name} {signature}\n"
    if len(_encode(note)) > MAX_NOTE_BYTES:
        raise TooLargeError(f"a note is at most {MAX_NOTE_BYTES} bytes.")
    return note


def open_note(note: str | bytes, verifiers: Iterable[VerifierKey]) -> tuple[str, list[str]]:
    """Check a signed note against known verifier keys and return its text.

    Signatures by unknown keys (no verifier with that name *and* key id) are ignored; every
    signature by a known key must verify, and at least one must be present.

    Args:
        note: the whole note, as text or UTF-8 bytes.
        verifiers: the trusted keys.

    Returns:
        The note text (ending in a newline) and the names whose signatures verified, in order.

    Raises:
        ValidationError: the note is malformed (``TooLargeError`` when over the limits).
        ProofError: a known key's signature does not verify, or no known key signed.
    """
    text, lines = _split_note(_decode_note(note))
    known = _index_verifiers(verifiers)
    message = _encode(text)
    names: list[str] = []
    for name, key_id, signature in lines:
        key = known.get((name, key_id))
        if key is None:
            continue
        try:
            verify(key.public_key, signature, message)
        except SignatureError as exc:
            raise ProofError(
                f"the signature of {name}+{key_id.hex()} does not verify on the note text.",
                name=name,
                key_id=key_id.hex(),
            ) from exc
        if name not in names:
            names.append(name)
    if not names:
        raise ProofError(
            "the note has no signature by a known key.",
            expected=sorted(f"{n}+{k.hex()}" for n, k in known),
            computed=[f"{n}+{k.hex()}" for n, k, _ in lines],
        )
    return text, names


def _decode_note(note: str | bytes) -> str:
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise TooLargeError(f"a note is at most {MAX_NOTE_BYTES} bytes.")
        try:
            return note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError("the note is not valid UTF-8.") from exc
    if not isinstance(note, str):
        raise ValidationError("a note is text or UTF-8 bytes.")
    if len(_encode(note)) > MAX_NOTE_BYTES:
        raise TooLargeError(f"a note is at most {MAX_NOTE_BYTES} bytes.")
    return note


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """Split at the last blank line into the text and parsed signature lines."""
    if _CONTROL_RE.search(note):
        raise ValidationError("the note holds an ASCII control character other than newline.")
    split = note.rfind("\n\n")
    if split < 0:
        raise ValidationError("the note has no blank line before its signatures.")
    text, block = note[: split + 1], note[split + 2 :]
    if not block or not block.endswith("\n"):
        raise ValidationError("the note's signature block must be non-empty and end in newline.")
    raw_lines = block[:-1].split("\n")
    if len(raw_lines) > MAX_SIGNATURES:
        raise TooLargeError(f"a note carries at most {MAX_SIGNATURES} signatures.")
    return text, [_parse_signature_line(line) for line in raw_lines]


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    if not line.startswith(SIGNATURE_PREFIX):
        raise ValidationError(f"signature line {line[:40]!r} does not start with an em dash.")
    name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
    _check_name(name)
    raw = b64decode(encoded, field=f"the signature of {name}")
    if len(raw) <= KEY_ID_SIZE:
        raise ValidationError(f"the signature of {name} is too short to hold a key id.")
    return name, raw[:KEY_ID_SIZE], raw[KEY_ID_SIZE:]


def _index_verifiers(verifiers: Iterable[VerifierKey]) -> dict[tuple[str, bytes], VerifierKey]:
    known: dict[tuple[str, bytes], VerifierKey] = {}
    for key in verifiers:
        if not isinstance(key, VerifierKey):
            raise ValidationError("verifiers must be VerifierKey values.")
        other = known.setdefault((key.name, key.key_id), key)
        if other != key:
            raise ValidationError(f"two verifier keys share the name and key id of {key}.")
    return known


def _check_text(text: object) -> None:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise ValidationError("a note text must be non-empty and end in a newline.")
    if _CONTROL_RE.search(text):
        raise ValidationError("a note text holds an ASCII control character other than newline.")


def _encode(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("the text contains a lone surrogate.") from exc


# --------------------------------------------------------------------------------------------
# Checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """A log's signed statement of its size and root hash (tlog-checkpoint note text)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for line, what in [(self.origin, "origin"), *((e, "extension") for e in self.extensions)]:
            if not isinstance(line, str) or not line or "\n" in line or _CONTROL_RE.search(line):
                raise ValidationError(
                    f"a checkpoint {what} line must be non-empty, one line, without control "
                    "characters.",
                    field=what,
                )
            _encode(line)
        size_ok = isinstance(self.size, int) and not isinstance(self.size, bool)
        if not size_ok or not 0 <= self.size <= MAX_TREE_SIZE:
            raise ValidationError("a checkpoint size is an integer in [0, 2**64).", field="size")
        if not isinstance(self.root, bytes) or len(self.root) != 32:
            raise ValidationError("a checkpoint root hash is 32 bytes.", field="root")

    def body(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each ending in newline."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """Parse a checkpoint note text strictly.

        Raises:
            ValidationError: missing lines, empty lines, a size that is not canonical decimal,
                a root that is not canonical base64 of 32 bytes, or a missing final newline.
        """
        if not isinstance(body, str) or not body.endswith("\n"):
            raise ValidationError("a checkpoint body must end in a newline.")
        lines = body[:-1].split("\n")
        if len(lines) < 3 or not all(lines):
            raise ValidationError(
                "a checkpoint body is origin, size and root hash lines, then optional extension "
                "lines, none of them empty."
            )
        origin, size_text, root_text, *extensions = lines
        if not _SIZE_RE.fullmatch(size_text) or int(size_text) > MAX_TREE_SIZE:
            raise ValidationError(
                f"checkpoint size {size_text[:24]!r} is not a decimal below 2**64 without "
                "leading zeros.",
                field="size",
            )
        root = b64decode(root_text, field="checkpoint root hash", size=32)
        return cls(origin, int(size_text), root, tuple(extensions))


def note_checkpoint(note: str) -> Checkpoint:
    """The checkpoint a signed note carries, parsed strictly but NOT verified.

    For a ledger reading back notes it signed itself; anyone else uses
    :func:`verify_checkpoint`.
    """
    text, _signatures = _split_note(_decode_note(note))
    return Checkpoint.parse(text)


def sign_checkpoint(checkpoint: Checkpoint, name: str, signer: Signer) -> str:
    """Return ``checkpoint`` as a signed note signed by ``signer`` under key name ``name``."""
    return sign_note(checkpoint.body(), name, signer)


def verify_checkpoint(
    note: str | bytes, verifier_key: VerifierKey, origin: str | None = None
) -> Checkpoint:
    """Verify a signed checkpoint against one verifier key and return it.

    Args:
        note: the signed note.
        verifier_key: the log's key; signatures by other keys are ignored.
        origin: when given, the origin line the checkpoint must carry.

    Raises:
        ValidationError: the note or the checkpoint body is malformed.
        ProofError: the log's signature is missing or invalid, or the origin differs.
    """
    text, _ = open_note(note, [verifier_key])
    checkpoint = Checkpoint.parse(text)
    if origin is not None and checkpoint.origin != origin:
        raise ProofError(
            f"the checkpoint is for origin {checkpoint.origin!r}, not {origin!r}.",
            expected=origin,
            computed=checkpoint.origin,
        )
    return checkpoint
