"""Hashing, Ed25519 signing and verification, key identifiers.

Keys enter the ledger through a :class:`Signer`: code that signs is handed one and never sees a
path or a passphrase. This module reads no files; ``ledger.keystore`` loads encrypted key files
and returns Signers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.errors import SignatureError, ValidationError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_HEX_LENGTH = 64  # lowercase hex of SHA-256(raw public key)


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def key_id(public_key: bytes) -> str:
    """The ledger's key id: lowercase hex SHA-256 of the raw 32-byte Ed25519 public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValidationError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes.")
    return hashlib.sha256(public_key).hexdigest()


class Signer(Protocol):
    """Something that holds a private key and signs messages with it."""

    @property
    def public_key(self) -> bytes: ...

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class Ed25519Signer:
    """A :class:`Signer` over an in-memory ``cryptography`` private key."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Ed25519Signer:
        """Deterministic key from a 32-byte seed (test vectors, the demo, docs examples)."""
        if len(seed) != 32:
            raise ValidationError("an Ed25519 seed is 32 bytes.")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    # Deriving the public key is a scalar multiplication (about a third of a signature's cost),
    # and checkpoint signing asks for it every time: computed once. A frozen dataclass allows
    # cached_property, which writes the instance dict directly.
    @cached_property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes_raw()

    @cached_property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


class Verifier:
    """Ed25519 verification with a cache of parsed public keys (parsing costs ~5% of a verify)."""

    def __init__(self) -> None:
        self._keys: dict[bytes, Ed25519PublicKey] = {}

    def verify(self, public_key: bytes, signature: bytes, message: bytes) -> None:
        """Raise :class:`SignatureError` unless ``signature`` is valid for ``message``."""
        key = self._keys.get(public_key)
        if key is None:
            key = load_public_key(public_key)
            if len(self._keys) < 4096:
                self._keys[public_key] = key
        if len(signature) != SIGNATURE_SIZE:
            raise SignatureError(f"an Ed25519 signature is {SIGNATURE_SIZE} bytes.")
        try:
            key.verify(signature, message)
        except InvalidSignature as exc:
            raise SignatureError("the signature does not verify with the signer's key.") from exc


def load_public_key(public_key: bytes) -> Ed25519PublicKey:
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValidationError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes.")
    try:
        return Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError as exc:
        raise ValidationError("not a valid Ed25519 public key.") from exc


def verify(public_key: bytes, signature: bytes, message: bytes) -> None:
    """One-shot verification; raises :class:`SignatureError`."""
    _DEFAULT_VERIFIER.verify(public_key, signature, message)


_DEFAULT_VERIFIER = Verifier()
