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
    path = _from_round(result, checkpoint)
    inclusion = (
        proofs.inclusion_in(ledger, result.seq, result.leaf_hash, checkpoint)
        if path is None
        else proofs.InclusionProof(
            result.seq, checkpoint.size, result.leaf_hash, checkpoint.root, path
        )
    )
    return Receipt(
        result.status,
        result.seq,
        result.leaf_hash,
        statement.type,
        statement.actor,
        statement.key,
        statement.n,
        inclusion,
        checkpoint,
    )


def _from_round(result: Result, checkpoint: proofs.SignedCheckpoint) -> list[bytes] | None:
    """The entry's inclusion proof from its own transaction's tree, when the checkpoint is of
    that very tree (the usual case: a receipt carries its own round's checkpoint); None when
    it must be read (a duplicate, or a later commit's checkpoint)."""
    tree = result.tree
    if tree is None or result.seq is None:
        return None
    if tree.size != checkpoint.size or tree.root != checkpoint.root:
        return None
    return tree.inclusion_path(result.seq)


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
    paths: dict[int, list[bytes]] = {}
    if checkpoint is not None:
        for outcome in outcomes:
            path = _from_round(outcome, checkpoint)
            if path is not None and outcome.seq is not None:
                paths[outcome.seq] = path
        unread = [seq for seq in held if seq not in paths]
        if unread:
            paths.update(zip(unread, ledger.inclusion_proofs(unread, checkpoint.size), strict=True))
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
