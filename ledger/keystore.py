"""Local keystore: Ed25519 private keys and the data key, encrypted at rest with a passphrase.

Private keys are PKCS#8 PEM files encrypted with the ``cryptography`` best available scheme;
the data key (for private disclosures) is wrapped the same way. Files are written 0600 in a
0700 directory and never overwritten. The passphrase comes from the caller (the CLI reads
``LEDGER_KEY_PASSPHRASE``); there is no default.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.crypto import Ed25519Signer
from ledger.errors import ConfigError, ConflictError, NotFoundError, ValidationError
from ledger.sealing import DATA_KEY_SIZE, Sealer
from ledger.statements import ID_RE

MIN_PASSPHRASE = 12
_SALT = 16
_NONCE = 12
_MAGIC = b"asm-ledger-data-key/v1\n"


class Keystore:
    """A directory of encrypted key files: ``NAME.key`` (Ed25519) and ``data.key``."""

    def __init__(self, directory: str | Path, passphrase: str | None) -> None:
        self.directory = Path(directory)
        self._passphrase = passphrase

    def _secret(self) -> bytes:
        if not self._passphrase:
            raise ConfigError(
                "LEDGER_KEY_PASSPHRASE is not set; it unlocks the keys in "
                f"{self.directory}. Set it in the environment from your secret store, never in "
                "a file under version control (for the demo ledger of `make run`: export "
                'LEDGER_KEY_PASSPHRASE="$(cat var/demo-passphrase)").',
                code="no_passphrase",
            )
        if len(self._passphrase) < MIN_PASSPHRASE:
            raise ConfigError(
                f"LEDGER_KEY_PASSPHRASE must be at least {MIN_PASSPHRASE} characters.",
                code="weak_passphrase",
            )
        return self._passphrase.encode("utf-8")

    def path(self, name: str) -> Path:
        if not ID_RE.match(name) or name == "data":
            raise ValidationError(f"{name!r} is not a valid key name.", field="name")
        return self.directory / f"{name}.key"

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def names(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.stem for p in self.directory.glob("*.key") if p.stem != "data")

    def create(self, name: str, seed: bytes | None = None) -> Ed25519Signer:
        """Generate (or, for demos and tests, derive from ``seed``) and store a new key."""
        signer = Ed25519Signer.from_seed(seed) if seed is not None else Ed25519Signer.generate()
        pem = signer.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(self._secret()),
        )
        self._write_new(self.path(name), pem)
        return signer

    def load(self, name: str) -> Ed25519Signer:
        path = self.path(name)
        if not path.exists():
            raise NotFoundError(f"no key named {name!r} in {self.directory}.", code="no_key")
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=self._secret())
        except ValueError as exc:
            raise ConfigError(
                f"cannot unlock {path}: wrong LEDGER_KEY_PASSPHRASE or a damaged file.",
                code="bad_passphrase",
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} does not hold an Ed25519 key.", code="bad_key_file")
        return Ed25519Signer(key)

    def sealer(self, create: bool = False) -> Sealer:
        """The data key that encrypts private disclosures at rest."""
        path = self.directory / "data.key"
        if not path.exists():
            if not create:
                raise NotFoundError(f"no data key in {self.directory}.", code="no_key")
            data_key = os.urandom(DATA_KEY_SIZE)
            self._write_new(path, self._wrap(data_key))
            return Sealer(data_key)
        return Sealer(self._unwrap(path.read_bytes()))

    def _kdf(self, salt: bytes) -> bytes:
        return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(self._secret())

    def _wrap(self, data_key: bytes) -> bytes:
        salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
        return _MAGIC + salt + nonce + AESGCM(self._kdf(salt)).encrypt(nonce, data_key, _MAGIC)

    def _unwrap(self, blob: bytes) -> bytes:
        if not blob.startswith(_MAGIC):
            raise ConfigError("data.key is not a ledger data key file.", code="bad_key_file")
        body = blob[len(_MAGIC) :]
        salt, nonce, sealed = body[:_SALT], body[_SALT : _SALT + _NONCE], body[_SALT + _NONCE :]
        try:
            return AESGCM(self._kdf(salt)).decrypt(nonce, sealed, _MAGIC)
        except Exception as exc:
            raise ConfigError(
                "cannot unlock data.key: wrong LEDGER_KEY_PASSPHRASE or a damaged file.",
                code="bad_passphrase",
            ) from exc

    def _write_new(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError as exc:
            raise ConflictError(
                f"{path} already exists; keys are never overwritten.", code="key_exists"
            ) from exc
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
