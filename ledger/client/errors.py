"""Errors only the client raises, in the ledger's one hierarchy (:mod:`ledger.errors`).

* :class:`UnreachableError`: the server could not be asked or could not answer (connection
  refused, timeout, a 5xx). Nothing is lost: what was being sent stays pending in the journal.
* :class:`ResponseError`: the server answered something that is not the documented shape.
* :class:`ForkError` and :class:`RollbackError`: the server showed two checkpoints that cannot
  both be honest. They carry both signed notes verbatim, which is the evidence a third party
  needs: each verifies under the operator's key, and no single append-only log has both.
"""

from __future__ import annotations

from typing import Any

from ledger.errors import LedgerError, ProofError


class UnreachableError(LedgerError):
    """The server is down, slow or failing; try again later (nothing was lost)."""

    default_code = "unreachable"


class ResponseError(LedgerError):
    """The server's answer is not of the documented shape."""

    default_code = "bad_response"


class ForkError(ProofError):
    """Two checkpoints signed by the operator that no single append-only log can have both of.

    Attributes:
        seen_note: the signed checkpoint the client had verified before.
        new_note: the signed checkpoint that contradicts it.
    """

    default_code = "fork"

    def __init__(
        self,
        message: str,
        *,
        seen_note: str,
        new_note: str,
        code: str | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, code=code, **details)
        self.seen_note = seen_note
        self.new_note = new_note

    def evidence(self) -> str:
        """Both signed notes, labelled, as printed by ``ledger client check``."""
        return f"checkpoint seen before:\n{self.seen_note}\ncheckpoint now served:\n{self.new_note}"


class RollbackError(ForkError):
    """The server's latest checkpoint is smaller than one it signed before."""

    default_code = "rollback"
