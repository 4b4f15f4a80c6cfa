"""One error hierarchy for the whole ledger.

Every error carries a stable machine ``code`` (what clients and tests match on) and a sentence a
person can act on. The API maps the classes to HTTP statuses in one table; nothing else decides how
an error is shown. Library exceptions are wrapped with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Base class: ``code`` is stable, ``message`` is for people, ``details`` give context."""

    default_code = "ledger_error"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class ValidationError(LedgerError):
    """The input is malformed: wrong shape, wrong type, out of range, not canonical."""

    default_code = "invalid"


class TooLargeError(ValidationError):
    """The input exceeds a documented size limit."""

    default_code = "too_large"


class SignatureError(LedgerError):
    """A signature does not verify, or was made with a key that may not sign this."""

    default_code = "bad_signature"


class ProofError(LedgerError):
    """A Merkle inclusion or consistency proof, or a checkpoint, does not verify."""

    default_code = "bad_proof"


class ConflictError(LedgerError):
    """The statement conflicts with the log: stale ``after``, equivocation, duplicate identifier."""

    default_code = "conflict"


class NotFoundError(LedgerError):
    """A referenced object (actor, key, lot, entry ...) does not exist."""

    default_code = "not_found"


class AuthenticationError(LedgerError):
    """The request carries no API token, or one that is unknown, expired or revoked."""

    default_code = "unauthenticated"


class ForbiddenError(LedgerError):
    """The signer exists but lacks the role or relation the statement needs."""

    default_code = "forbidden"


class PolicyError(LedgerError):
    """A custody or mass-balance rule of the ledger's policy is violated."""

    default_code = "rule_violated"


class IntegrityError(LedgerError):
    """Stored state diverges from what the log proves (audit, start-up root check)."""

    default_code = "integrity"


class ConfigError(LedgerError):
    """The ledger is not configured or initialised as the command needs."""

    default_code = "config"
