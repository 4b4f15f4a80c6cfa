"""Which subjects a statement must name in ``after``, and whose head it becomes once logged.

The first comes from the rule engine itself (:data:`ledger.rules.HANDLERS`); the second is the
"heads set to the new entry" column of docs/PROTOCOL.md section 10.1: the subjects named in
``after`` plus those the statement creates. The server decides the latter while applying the
rules; a client that has only its receipt derives it from the statement, and the tests check
this derivation against the rule engine.
"""

from __future__ import annotations

from typing import Any

from ledger import bodies
from ledger.errors import ValidationError
from ledger.rules import HANDLERS
from ledger.statements import Statement

# Statement types that create one subject named by a body field: type -> (kind, field).
_CREATES: dict[str, tuple[str, str]] = {
    "actor.register": ("actor", "id"),
    "site.register": ("site", "id"),
    "miner.register": ("miner", "id"),
    "lot.register": ("lot", "lot"),
    "attestation": ("attestation", "id"),
    "incident": ("incident", "id"),
}


def after_subjects(probe: Statement) -> tuple[str, ...]:
    """The subjects ``probe`` must name in ``after``; checks the type and the body first.

    Raises:
        ValidationError: the type cannot be made by an actor, or the body is malformed.
    """
    if probe.type not in HANDLERS:
        raise ValidationError(
            f"{probe.type!r} is not a statement type an actor can sign; choose one of "
            f"{', '.join(sorted(HANDLERS))}.",
            field="type",
        )
    bodies.check_body(probe.type, probe.body)
    return HANDLERS[probe.type].subjects(probe)


def touched(statement: Statement) -> tuple[str, ...]:
    """Every subject whose head becomes this statement's entry once it is logged, sorted."""
    subjects = set(after_subjects(statement))
    subjects.update(_created(statement.type, statement.body))
    return tuple(sorted(subjects))


def _created(statement_type: str, body: dict[str, Any]) -> list[str]:
    if statement_type in _CREATES:
        kind, name = _CREATES[statement_type]
        return [f"{kind}:{body[name]}"]
    if statement_type in ("lot.split", "lot.process"):
        return [f"lot:{output['lot']}" for output in body["outputs"]]
    if statement_type == "lot.merge":
        return [f"lot:{body['output']['lot']}"]
    return []
