"""Encryption at rest for private disclosures (AES-256-GCM, the digest as associated data).

Binding the ciphertext to the disclosure's digest means a stored ciphertext cannot be moved to
another statement's private field without failing to decrypt.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ledger.errors import IntegrityError, ValidationError

DATA_KEY_SIZE = 32
_NONCE = 12


@dataclass(frozen=True)
class Sealer:
    data_key: bytes = field(repr=False)  # never in a log line or traceback

    def __post_init__(self) -> None:
        if len(self.data_key) != DATA_KEY_SIZE:
            raise ValidationError(f"the data key must be {DATA_KEY_SIZE} bytes.")

    @cached_property
    def _cipher(self) -> AESGCM:
        return AESGCM(self.data_key)

    def seal(self, plaintext: bytes, digest: str) -> bytes:
        nonce = os.urandom(_NONCE)
        return nonce + self._cipher.encrypt(nonce, plaintext, digest.encode("ascii"))

    def open(self, sealed: bytes, digest: str) -> bytes:
        try:
            return self._cipher.decrypt(sealed[:_NONCE], sealed[_NONCE:], digest.encode("ascii"))
        except InvalidTag as exc:
            raise IntegrityError(
                "a stored disclosure does not decrypt with this ledger's data key.",
                code="disclosure_corrupt",
            ) from exc
