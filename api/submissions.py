"""Submitting signed statements over HTTP: parse strictly, append, answer with a proof.

The request's outer shape is checked by the schemas; each envelope and disclosure is then
parsed by the core's own parsers (:meth:`Envelope.from_json`, :meth:`Disclosure.from_json`), and
the :class:`~ledger.custody.log.Ledger` decides, in one transaction, what is accepted. An
accepted or duplicate statement comes back with its inclusion proof against a signed checkpoint
that covers it: a proof, not a promise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api import errors, proofs
from api.limits import MAX_BATCH
from ledger.custody.grievances import refuse_elsewhere
from ledger.custody.log import ACCEPTED, REJECTED, Ledger, Result
from ledger.disclosures import Disclosure
from ledger.errors import ConfigError, LedgerError, TooLargeError
from ledger.statements import MAX_DISCLOSURES, Envelope, Submission


@dataclass(frozen=True)
class Receipt:
    """What the log says about one submitted statement that it holds."""

    status: str  # accepted | duplicate
    seq: int
    leaf_hash: bytes
    type: str
    actor: str
    key: str
    n: int
    inclusion: proofs.InclusionProof
    checkpoint: proofs.SignedCheckpoint

    @property
    def created(self) -> bool:
        return self.status == ACCEPTED


@dataclass(frozen=True)
class ItemResult:
    """One statement of a batch: a receipt's fields when held, else the error."""

    index: int
    status: str  # accepted | duplicate | rejected
    seq: int | None = None
    leaf_hash: bytes | None = None
    type: str | None = None
    inclusion: proofs.InclusionProof | None = None
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class BatchReceipt:
    results: list[ItemResult]
    checkpoint: proofs.SignedCheckpoint | None  # None when nothing was accepted or held


def parse(item: Mapping[str, Any]) -> Submission:
    """An envelope and its disclosures, parsed by the core (raises its ValidationError).

    ``item`` is (part of) a request body: the API's parser (:class:`api.blueprint.StrictParser`,
    with :func:`ledger.canonical.parse`) has checked it against the data model already, so the
    statement is not walked again.
    """
    envelope = Envelope.from_json(item["envelope"], parsed=True)
    found = item.get("disclosures") or []
    if len(found) > MAX_DISCLOSURES:
        raise TooLargeError(
            f"a statement has at most {MAX_DISCLOSURES} disclosures.", field="disclosures"
        )
    return Submission(envelope, tuple(Disclosure.from_json(d) for d in found))


def submit(ledger: Ledger, item: Mapping[str, Any], *, converting: bool = False) -> Receipt:
    """Append one statement; a rejection raises its LedgerError and writes nothing.

    An incident that converts a grievance is refused unless ``converting`` (the grievance
    route, which checks and records the conversion, says so).
    """
    _require_operator(ledger)
    submission = parse(item)
    if not converting:
        refuse_elsewhere(submission.envelope.statement)
    result = ledger.append(submission)
    assert result.seq is not None
    assert result.leaf_hash is not None
    checkpoint = proofs.covering(ledger, result.seq)
    statement = submission.envelope.statement
    return Receipt(
        result.status,
        result.seq,
        result.leaf_hash,
        statement.type,
        statement.actor,
        statement.key,
        statement.n,
        proofs.inclusion_in(ledger, result.seq, result.leaf_hash, checkpoint),
        checkpoint,
    )


def submit_batch(ledger: Ledger, items: Sequence[Mapping[str, Any]]) -> BatchReceipt:
    """Append statements in order in one transaction; each gets its own result.

    An item the core cannot parse is rejected like one the rules refuse; the others go on.
    """
    if len(items) > MAX_BATCH:
        raise TooLargeError(
            f"a batch holds at most {MAX_BATCH} statements; split it.", field="statements"
        )
    _require_operator(ledger)
    parsed = [_parse_or_error(item) for item in items]
    submissions = [p for p in parsed if isinstance(p, Submission)]
    appended = iter(ledger.append_batch(submissions) if submissions else [])
    outcomes = [
        next(appended) if isinstance(p, Submission) else Result(REJECTED, error=p) for p in parsed
    ]
    held = [r.seq for r in outcomes if r.seq is not None]
    checkpoint = proofs.covering(ledger, max(held)) if held else None
    paths = (
        dict(zip(held, ledger.inclusion_proofs(held, checkpoint.size), strict=True))
        if checkpoint
        else {}
    )
    results = [
        _item_result(index, outcome, parsed[index], checkpoint, paths)
        for index, outcome in enumerate(outcomes)
    ]
    return BatchReceipt(results, checkpoint)


def _parse_or_error(item: Mapping[str, Any]) -> Submission | LedgerError:
    try:
        submission = parse(item)
        refuse_elsewhere(submission.envelope.statement)
        return submission
    except LedgerError as exc:
        return exc


def _item_result(
    index: int,
    outcome: Result,
    parsed: Submission | LedgerError,
    checkpoint: proofs.SignedCheckpoint | None,
    paths: dict[int, list[bytes]],
) -> ItemResult:
    if outcome.error is not None or outcome.seq is None or outcome.leaf_hash is None:
        error = outcome.error or LedgerError("the statement was not appended.")
        return ItemResult(index, REJECTED, error=errors.describe(error))
    assert checkpoint is not None
    assert isinstance(parsed, Submission)
    return ItemResult(
        index,
        outcome.status,
        outcome.seq,
        outcome.leaf_hash,
        parsed.envelope.statement.type,
        proofs.InclusionProof(
            outcome.seq, checkpoint.size, outcome.leaf_hash, checkpoint.root, paths[outcome.seq]
        ),
    )


def _require_operator(ledger: Ledger) -> None:
    """Refuse writes before touching the log when no checkpoint could be signed for them."""
    if ledger.operator is None:
        raise ConfigError(
            "this server has no operator key, so it cannot sign a checkpoint for a new entry.",
            code="no_operator_key",
        )
