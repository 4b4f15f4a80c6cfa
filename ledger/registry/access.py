"""Who may submit a statement over the API: the rule an API token is checked against. Pure.

An API token says which actor is calling (:class:`Caller`); it never says what the ledger
accepts. A statement is accepted only when its signature verifies with a key of
``statement.actor`` and the rules allow that actor to make it; the token only decides who may
*hand it in*:

- the signer itself (the token's actor is ``statement.actor``), for every statement type;
- a registrar, for the registry statements of :data:`REGISTRY_TYPES` signed by anyone: the
  registrar onboards cooperatives and their miners in the field, collects what they signed on
  their own devices (a key added, a miner registered) and relays it.

Nothing else: a trader cannot relay a cooperative's dispatch, and a registrar cannot relay a
custody statement. What a caller may *read* is :mod:`ledger.custody.privacy`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import ForbiddenError

REGISTRAR = "registrar"
REGISTRY_TYPES = frozenset(
    {"actor.register", "actor.key.add", "actor.key.revoke", "site.register", "miner.register"}
)


@dataclass(frozen=True)
class Caller:
    """The actor an API request acts for (from its token), with that actor's roles."""

    actor: str
    roles: frozenset[str]


def check_submitter(caller: Caller, signer: object, statement_type: object) -> None:
    """Raise :class:`ForbiddenError` unless ``caller`` may hand in a statement of
    ``statement_type`` signed by ``signer`` (both as the request states them, unchecked)."""
    if signer == caller.actor:
        return
    if (
        REGISTRAR in caller.roles
        and isinstance(statement_type, str)
        and statement_type in REGISTRY_TYPES
    ):
        return
    raise ForbiddenError(
        f"this API token is {caller.actor}'s, but the statement is signed by {signer!s:.64}; "
        "submit it with the signer's token (a registrar's token may also hand in registry "
        "statements: " + ", ".join(sorted(REGISTRY_TYPES)) + ").",
        code="token_actor_mismatch",
    )
