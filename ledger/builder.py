"""Building and signing statements as an actor: the counter, the time, the private fields.

Used by the CLI, the demo and the tests. An :class:`Author` holds one actor's signer and the
next counter value for its key; :meth:`Author.sign` turns a type, a public body and a mapping
of private fields into a :class:`~ledger.statements.Submission` ready for the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ledger.crypto import Signer
from ledger.disclosures import Disclosure
from ledger.statements import Statement, Submission, format_time, sign


@dataclass
class Author:
    """One actor signing with one key; ``n`` is the last counter value used."""

    ledger: str
    actor: str
    signer: Signer
    n: int = 0

    def sign(
        self,
        statement_type: str,
        body: dict[str, Any],
        *,
        time: datetime | str,
        after: Mapping[str, bytes | str] | None = None,
        private: Mapping[str, Any] | None = None,
        salt: bytes | None = None,
    ) -> Submission:
        """Sign the next statement. ``salt`` fixes disclosure salts (examples and tests only)."""
        disclosures = tuple(
            Disclosure.new(name, value, salt=None if salt is None else salt + name.encode())
            for name, value in sorted((private or {}).items())
        )
        self.n += 1
        statement = Statement(
            ledger=self.ledger,
            type=statement_type,
            actor=self.actor,
            key=self.signer.key_id,
            n=self.n,
            time=time if isinstance(time, str) else format_time(time),
            after={k: v if isinstance(v, str) else v.hex() for k, v in (after or {}).items()},
            body=body,
            sd=tuple(sorted(d.digest() for d in disclosures)),
        )
        return Submission(sign(statement, self.signer), disclosures)


@dataclass(frozen=True)
class RegistrarSpec:
    id: str
    name: str
    country: str
    public_keys: tuple[bytes, ...]


def genesis(
    origin: str,
    operator: Signer,
    registrars: list[RegistrarSpec],
    policy: Mapping[str, int],
    *,
    time: datetime | str,
    operator_id: str = "operator",
    operator_name: str = "Ledger operator",
) -> Submission:
    """The genesis statement (entry 0), signed by the operator key it names."""
    from ledger.canonical import b64encode

    body = {
        "origin": origin,
        "operator": {
            "id": operator_id,
            "name": operator_name,
            "key": b64encode(operator.public_key),
        },
        "registrars": [
            {
                "id": r.id,
                "name": r.name,
                "country": r.country,
                "keys": [b64encode(k) for k in r.public_keys],
            }
            for r in registrars
        ],
        "policy": dict(policy),
    }
    return Author(origin, operator_id, operator).sign("genesis", body, time=time)
