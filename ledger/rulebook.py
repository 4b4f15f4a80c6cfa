"""Shared vocabulary for the rule modules: the entry context, handlers, and small checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ledger.errors import ConflictError, ForbiddenError, NotFoundError
from ledger.registry.types import Actor
from ledger.state import State
from ledger.statements import Statement


@dataclass(frozen=True)
class Context:
    """What the sequencer assigned to the entry being applied."""

    seq: int
    leaf_hash: bytes
    logged: str


@dataclass(frozen=True)
class Handler:
    """A statement type's rules: the subjects whose heads it needs, and its effects.

    ``apply`` returns the subjects whose head becomes this entry (new ones included).
    """

    subjects: Callable[[Statement], tuple[str, ...]]
    apply: Callable[[State, Statement, Context], tuple[str, ...]]


def no_subjects(statement: Statement) -> tuple[str, ...]:
    return ()


def signer(state: State, statement: Statement) -> Actor:
    actor = state.actor(statement.actor)
    if actor is None:
        raise NotFoundError(f"actor {statement.actor!r} is not registered.", code="unknown_actor")
    return actor


def require_role(actor: Actor, roles: set[str], what: str) -> None:
    if not roles.intersection(actor.roles):
        raise ForbiddenError(
            f"{actor.id} may not {what}: that needs the role {' or '.join(sorted(roles))}, and "
            f"{actor.id} has {', '.join(actor.roles)}.",
            code="wrong_role",
        )


def require_new(exists: bool, subject: str) -> None:
    if exists:
        raise ConflictError(
            f"{subject} already exists; choose another identifier.", code="duplicate_id"
        )
