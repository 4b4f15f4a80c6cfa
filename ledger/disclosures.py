"""Private fields as salted disclosures (the SD-JWT idea, over canonical JSON).

A disclosure is the JSON array ``[salt_b64, name, value]``. Its digest is
``SHA-256(b"asm-ledger/v1/disclosure\\n" + JCS(disclosure))`` in lowercase hex; the digests of a
statement's private fields are listed, sorted, in its ``sd`` field. The disclosures themselves are
stored off the log and shown only to those entitled, so a price can be revealed to one auditor, and
a miner's personal data erased, without touching any signature or proof.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ledger import canonical
from ledger.errors import ValidationError

DISCLOSURE_CONTEXT = b"asm-ledger/v1/disclosure\n"
SALT_SIZE = 16


@dataclass(frozen=True)
class Disclosure:
    salt: bytes
    name: str
    value: Any

    @classmethod
    def new(cls, name: str, value: Any, salt: bytes | None = None) -> Disclosure:
        """A disclosure with a fresh random salt (or a given one, for examples and tests)."""
        if salt is not None and len(salt) < SALT_SIZE:
            raise ValidationError(f"a disclosure salt must be at least {SALT_SIZE} bytes.")
        canonical.check_value(value)
        return cls(salt if salt is not None else os.urandom(SALT_SIZE), name, value)

    def to_json(self) -> list[Any]:
        return [canonical.b64encode(self.salt), self.name, self.value]

    def canonical(self) -> bytes:
        return self._canonical

    def digest(self) -> str:
        return self._digest

    # A disclosure is immutable: its bytes and digest are computed once (the sequencer needs
    # both, and rfc8785 is pure Python). cached_property writes the instance dict directly,
    # which a frozen dataclass allows.
    @cached_property
    def _canonical(self) -> bytes:
        return canonical.dumps(self.to_json())

    @cached_property
    def _digest(self) -> str:
        return hashlib.sha256(DISCLOSURE_CONTEXT + self._canonical).hexdigest()

    @classmethod
    def from_json(cls, obj: Any) -> Disclosure:
        if not isinstance(obj, list) or len(obj) != 3 or not isinstance(obj[1], str):
            raise ValidationError(
                "a disclosure is a JSON array [salt_b64, name, value].", field="disclosures"
            )
        salt = canonical.b64decode(obj[0], field="disclosure salt")
        if len(salt) < SALT_SIZE:
            raise ValidationError(
                f"a disclosure salt must be at least {SALT_SIZE} random bytes.",
                field="disclosures",
            )
        canonical.check_value(obj[2])
        return cls(salt, obj[1], obj[2])


def match(sd: tuple[str, ...], disclosures: list[Disclosure], allowed: frozenset[str]) -> None:
    """Check that each disclosure is one of ``sd`` and names a private field of the type."""
    seen: set[str] = set()
    names: set[str] = set()
    for disclosure in disclosures:
        if disclosure.name not in allowed:
            raise ValidationError(
                f"{disclosure.name!r} is not a private field of this statement type; "
                f"allowed: {', '.join(sorted(allowed)) or 'none'}.",
                field="disclosures",
            )
        if disclosure.name in names:
            raise ValidationError(
                f"the private field {disclosure.name!r} is disclosed twice.", field="disclosures"
            )
        digest = disclosure.digest()
        if digest not in sd:
            raise ValidationError(
                f"the disclosure of {disclosure.name!r} does not match any digest in statement.sd.",
                field="disclosures",
            )
        seen.add(digest)
        names.add(disclosure.name)
