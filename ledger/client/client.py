"""The actor's client: sign locally, journal, send when the server is reachable, verify
everything.

:class:`Client` signs statements with the actor's local key and keeps them in a
:class:`~ledger.client.journal.Journal` before anything goes on the network, so a device with no
network loses nothing. :meth:`Client.sync` pushes the pending statements in journal order
through ``POST /v1/statements/batch`` and stores a receipt for each only after verifying it (the
operator's signature on the checkpoint, the inclusion proof, and that the proven entry holds
exactly the bytes sent). Every checkpoint the client sees is checked against the newest one it
saw before with a consistency proof; a fork or a rollback raises
:class:`~ledger.client.errors.ForkError` with both signed notes.

Design decisions:

* **Counters.** ``n`` is reserved in the journal, above the journal's last ``n`` for the key and
  above the server's (``GET /v1/actors/{id}``, asked whenever online), so a journal that was
  copied or reset never reuses one that is already logged. A journal that has never reached the
  server refuses to sign offline (``counter_unknown``): reusing an ``n`` with other bytes is
  equivocation, which the log keeps as evidence against the actor.
* **after.** The log assigns an entry's hash (it covers the sequence number and the log's time),
  so a statement cannot be signed after a statement that is still pending: that is refused with
  ``head_pending`` (sync first). Heads come from the journal (receipts) or, for lots when online,
  from ``GET /v1/lots/{id}``; the newer by sequence number wins. Heads of other subjects are
  learnt from this client's receipts, or passed explicitly with ``after=``.
* **Rejections.** :meth:`Client.sync` marks a rejected statement with the server's code and
  message and goes on with the rest. This cannot cascade through ``after``: no pending statement
  names the head of another pending one (see above). A later statement that depends on a
  rejected one in another way (an attestation about a lot whose registration was rejected) is
  rejected on its own merits and reported the same way. The CLI exits non-zero when anything was
  rejected.
* **Unreachable.** A connection error, a timeout or a 5xx stops the sync; whatever was not
  settled stays pending and is sent again next time. So does an item the server failed on (a
  5xx in its result) or one the API token may not hand in (``token_actor_mismatch``): neither is
  the log's verdict on the statement. Resending is safe: the log answers an
  identical envelope with ``duplicate`` and the same entry and proof.
* **Trust in the operator key.** ``verifier_key`` pins the operator's key in the journal. When it
  is not given and none is pinned, the server's own key is fetched and pinned on first use (trust
  on first use); the CLI always asks for it explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from ledger.builder import Author
from ledger.checkpoint import VerifierKey, verify_checkpoint
from ledger.client import tables as t
from ledger.client.errors import ResponseError, UnreachableError
from ledger.client.journal import (
    Head,
    Journal,
    JournalItem,
    PendingStatement,
    Receipt,
    Rejection,
)
from ledger.client.server import (
    DEFAULT_TIMEOUT,
    BatchAnswer,
    InclusionProof,
    ItemResult,
    Server,
)
from ledger.client.subjects import after_subjects
from ledger.client.verify import SeenCheckpoint, check_consistency, check_receipt
from ledger.crypto import Signer
from ledger.errors import (
    ConfigError,
    ConflictError,
    LedgerError,
    NotFoundError,
    ProofError,
    ValidationError,
)
from ledger.statements import Statement, Submission, format_time

# The server's documented limit on one batch (api.limits.MAX_BATCH; a test checks they agree).
MAX_BATCH = 100
VERIFIER_KEY_SETTING = "verifier_key"
# Per-item refusals that are about the API token, not the statement (ledger.registry.access).
_TOKEN_REFUSALS = frozenset({"token_actor_mismatch"})
Progress = Callable[[int], None]


@dataclass(frozen=True)
class SyncReport:
    """What one :meth:`Client.sync` did.

    Attributes:
        accepted: statements newly appended to the log in this run.
        duplicate: statements the log already held (sent before, answer lost), now proven.
        rejected: statements the log refused in this run, with the server's code and message.
        pending: statements still waiting after this run.
        problem: why the run stopped early (the server unreachable, or failing), else None.
        checkpoint: the newest verified checkpoint after this run.
    """

    accepted: int = 0
    duplicate: int = 0
    rejected: tuple[JournalItem, ...] = ()
    pending: int = 0
    problem: str | None = None
    checkpoint: SeenCheckpoint | None = None

    @property
    def complete(self) -> bool:
        """Nothing is left pending and nothing was rejected."""
        return self.pending == 0 and not self.rejected and self.problem is None


@dataclass(frozen=True)
class SubmitResult:
    """The journalled statement after one attempt to send it, and that attempt's sync report."""

    item: JournalItem
    report: SyncReport


@dataclass(frozen=True)
class Status:
    counts: dict[str, int]
    checkpoint: SeenCheckpoint | None
    rejected: tuple[JournalItem, ...] = field(default_factory=tuple)


@dataclass
class _Tally:
    accepted: int = 0
    duplicate: int = 0
    rejected: list[int] = field(default_factory=list)
    problem: str | None = None


class Client:
    """One actor's client of one ledger server.

    Args:
        base_url: the server, e.g. ``https://ledger.example.org`` (paths ``/v1/...`` are added).
        token: the API token, sent as ``Authorization: Bearer <token>``; writes need one.
        signer: the actor's key (needed only to sign; syncing and checking need none).
        actor: the actor id the statements are signed as.
        journal: the local journal.
        verifier_key: the operator's checkpoint verifier key (text or parsed); see the module
            docstring for what happens when it is None.
        transport: an httpx transport (tests: ``httpx.WSGITransport(app=...)``).
        batch_size: statements per batch request, at most :data:`MAX_BATCH`.
        clock: the time source for statement times (default: now, UTC).
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        signer: Signer | None = None,
        actor: str,
        journal: Journal,
        verifier_key: VerifierKey | str | None = None,
        transport: httpx.BaseTransport | None = None,
        batch_size: int = MAX_BATCH,
        clock: Callable[[], datetime] | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ConfigError(f"batch_size must be 1 to {MAX_BATCH}.", code="bad_batch_size")
        self.server = Server(base_url, token=token, transport=transport, timeout=timeout)
        self.signer = signer
        self.actor = actor
        self.journal = journal
        self.batch_size = batch_size
        self._clock = clock or (lambda: datetime.now(UTC))
        self._key = self._pin(verifier_key)

    def close(self) -> None:
        """Close the HTTP connections (the journal is the caller's to close)."""
        self.server.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the operator key -------------------------------------------------------------------
    def _pin(self, given: VerifierKey | str | None) -> VerifierKey | None:
        pinned = self.journal.setting(VERIFIER_KEY_SETTING)
        if given is None:
            return None if pinned is None else VerifierKey.parse(pinned)
        key = given if isinstance(given, VerifierKey) else VerifierKey.parse(given)
        if pinned is not None and pinned != str(key):
            raise ConfigError(
                f"this journal belongs to the ledger with operator key {pinned}, not {key}; "
                "use another journal for another ledger.",
                code="other_ledger",
            )
        self.journal.put_settings({VERIFIER_KEY_SETTING: str(key)})
        return key

    @property
    def verifier_key(self) -> VerifierKey:
        """The pinned operator key (fetched from the server and pinned on first use if none)."""
        if self._key is None:
            self._key = self._pin(self.server.operator_key())
        assert self._key is not None
        return self._key

    @property
    def origin(self) -> str:
        """The ledger's origin: the name of its operator key (statements carry it)."""
        return self.verifier_key.name

    # -- signing ----------------------------------------------------------------------------
    def sign(
        self,
        statement_type: str,
        body: dict[str, Any],
        *,
        private: Mapping[str, Any] | None = None,
        after: Mapping[str, bytes | str] | None = None,
        offline: bool = False,
    ) -> JournalItem:
        """Build, sign and journal a statement (pending); nothing is sent.

        Args:
            statement_type: e.g. ``lot.dispatch``.
            body: the public body.
            private: private fields, each becoming a salted disclosure.
            after: the heads to sign after; by default those the type needs, from the journal
                or (for lots, when online) the server.
            offline: do not ask the server for the counter or heads.

        Raises:
            ValidationError: unknown type or malformed body.
            ConfigError: ``counter_unknown``: offline, and the server was never asked how far
                this key has counted.
            ConflictError: ``head_pending``: a subject will be moved by a pending statement.
            NotFoundError: ``unknown_head``: no head is known for a subject ``after`` needs.
        """
        signer = self._require_signer()
        time = format_time(self._clock())
        origin = self.origin
        probe = Statement(origin, statement_type, self.actor, signer.key_id, 1, time, body=body)
        needed = after_subjects(probe)
        floor = None if offline else self._server_last_n(signer.key_id)
        online = floor is not None
        heads = dict(after) if after is not None else self._heads(needed, online=online)

        def make(n: int) -> Submission:
            author = Author(origin, self.actor, signer, n=n - 1)
            return author.sign(statement_type, body, time=time, after=heads, private=private)

        return self.journal.record(signer.key_id, make, floor=floor)

    def submit(
        self,
        statement_type: str,
        body: dict[str, Any],
        *,
        private: Mapping[str, Any] | None = None,
        after: Mapping[str, bytes | str] | None = None,
        progress: Progress | None = None,
    ) -> SubmitResult:
        """Sign and journal a statement, then try to send it now (with anything pending first).

        When the server is unreachable the statement stays pending: ``result.item.status`` is
        ``pending`` and ``result.report.problem`` says why.
        """
        item = self.sign(statement_type, body, private=private, after=after)
        report = self.sync(progress=progress)
        return SubmitResult(self.journal.item(item.id), report)

    def _require_signer(self) -> Signer:
        if self.signer is None:
            raise ConfigError("this client has no signing key.", code="no_signer")
        return self.signer

    def _server_last_n(self, key_id: str) -> int | None:
        """The server's last counter of ``key_id``; None when the server is unreachable."""
        try:
            return self.server.key_last_n(self.actor, key_id)
        except UnreachableError:
            return None

    def _heads(self, subjects: Sequence[str], *, online: bool) -> dict[str, bytes]:
        busy = self.journal.busy_subjects(subjects)
        if busy:
            subject, item_id = min(busy.items())
            raise ConflictError(
                f"{subject} will be moved by pending statement #{item_id}, whose entry hash only "
                "the log can assign; sync it before signing a statement after it.",
                code="head_pending",
                field="after",
            )
        return {subject: self._head(subject, online=online).leaf_hash for subject in subjects}

    def _head(self, subject: str, *, online: bool) -> Head:
        known = self.journal.head(subject)
        if online and subject.startswith("lot:"):
            try:
                fetched = self.server.lot_head(subject.removeprefix("lot:"))
                known = self.journal.note_head(
                    Head(subject, fetched.leaf_hash, fetched.seq, "server")
                )
            except UnreachableError:
                pass  # fall back on what the journal knows
        if known is None:
            raise NotFoundError(
                f"no head of {subject} is known here: it is learnt from this client's receipts, "
                "or for lots from the server when online; or pass after= explicitly.",
                code="unknown_head",
                field="after",
            )
        return known

    # -- syncing ----------------------------------------------------------------------------
    def sync(self, *, progress: Progress | None = None) -> SyncReport:
        """Push every pending statement, in journal order, in batches; verify and store receipts.

        Safe to run again at any point. Stops early (``report.problem``) when the server is
        unreachable or failing.

        Raises:
            ProofError: a receipt or checkpoint does not verify (``ForkError`` for a fork or
                rollback); nothing of that batch is stored, its statements stay pending.
            LedgerError: the server refused a whole batch (e.g. 401 without a valid token).
        """
        tally = _Tally()
        after_id = 0
        while tally.problem is None:
            chunk = self.journal.pending(after_id=after_id, limit=self.batch_size)
            if not chunk:
                break
            try:
                receipts, rejections, tally.problem = self._push(chunk)
            except UnreachableError as exc:
                tally.problem = exc.message
                break
            self.journal.settle(receipts, rejections)
            self._count(tally, receipts, rejections)
            after_id = chunk[-1].id
            if progress is not None:
                progress(len(chunk))
        return self._report(tally)

    def _push(
        self, chunk: Sequence[PendingStatement]
    ) -> tuple[list[Receipt], list[Rejection], str | None]:
        """Send one batch and verify the answer; returns receipts, rejections, a problem."""
        answer = self.server.submit_batch([p.submission for p in chunk])
        _check_shape(chunk, answer)
        held = [r for r in answer.results if r.status in (t.ACCEPTED, t.DUPLICATE)]
        if not held:
            seen, found = None, {}
        else:
            if answer.checkpoint_note is None:
                raise ResponseError("the batch answer proves statements against no checkpoint.")
            seen = self._observe(answer.checkpoint_note, latest=False)
            found = self.server.entries([_proven(r)[0] for r in held])
        receipts: list[Receipt] = []
        rejections: list[Rejection] = []
        problem = None
        for pending, result in zip(chunk, answer.results, strict=True):
            if result.status in (t.ACCEPTED, t.DUPLICATE):
                assert seen is not None
                receipts.append(_receipt(pending, result, seen, found))
                continue
            not_sent = _not_sent(pending, result)
            if not_sent is not None:
                problem = problem or not_sent
            else:
                rejections.append(_rejection(pending, result))
        return receipts, rejections, problem

    def _count(self, tally: _Tally, receipts: list[Receipt], rejections: list[Rejection]) -> None:
        for receipt in receipts:
            if receipt.status == t.ACCEPTED:
                tally.accepted += 1
            else:
                tally.duplicate += 1
        tally.rejected.extend(r.statement_id for r in rejections)

    def _report(self, tally: _Tally) -> SyncReport:
        return SyncReport(
            accepted=tally.accepted,
            duplicate=tally.duplicate,
            rejected=tuple(self.journal.item(i) for i in tally.rejected),
            pending=self.journal.counts()[t.PENDING],
            problem=tally.problem,
            checkpoint=self.journal.newest_checkpoint(),
        )

    # -- checkpoints ------------------------------------------------------------------------
    def check(self) -> SeenCheckpoint:
        """Fetch the server's latest checkpoint and check it against the newest seen.

        Raises:
            ForkError: the log forked (``RollbackError``: it shrank); both notes attached.
            ProofError: the checkpoint is not signed by the operator key.
            UnreachableError: the server could not be asked.
        """
        return self._observe(self.server.checkpoint(), latest=True)

    def _observe(self, note: str, *, latest: bool) -> SeenCheckpoint:
        """Verify a signed checkpoint, check it against the newest seen, and keep it."""
        key = self.verifier_key
        try:
            new = SeenCheckpoint(verify_checkpoint(note, key, key.name), note)
        except ValidationError as exc:
            raise ProofError(f"the server's checkpoint is malformed: {exc.message}") from exc
        seen = self.journal.newest_checkpoint()
        if seen is not None:
            proof = self._consistency_proof(seen, new, latest=latest)
            check_consistency(seen, new, proof, latest=latest)
        self.journal.store_checkpoint(new)
        return new

    def _consistency_proof(
        self, seen: SeenCheckpoint, new: SeenCheckpoint, *, latest: bool
    ) -> tuple[bytes, ...] | None:
        """The server's proof between the two sizes, or None when none is needed or given."""
        small, large = sorted((seen.size, new.size))
        if small == large or small == 0 or (latest and new.size < seen.size):
            return None
        try:
            proof = self.server.consistency(small, large)
        except UnreachableError:
            raise
        except LedgerError:
            return None  # a log that cannot prove its own checkpoints consistent has forked
        if (proof.old, proof.new) != (small, large):
            return None
        return proof.proof

    # -- status -----------------------------------------------------------------------------
    def status(self) -> Status:
        """Counts by status, the newest verified checkpoint, and the rejected statements."""
        return Status(
            self.journal.counts(),
            self.journal.newest_checkpoint(),
            tuple(self.journal.items(t.REJECTED)),
        )


def _check_shape(chunk: Sequence[PendingStatement], answer: BatchAnswer) -> None:
    indexes = [r.index for r in answer.results]
    if indexes != list(range(len(chunk))):
        raise ResponseError(
            f"the batch answer has results {indexes[:5]}..., not one per statement in order."
        )


def _proven(result: ItemResult) -> tuple[int, bytes, InclusionProof]:
    """The sequence number, leaf hash and inclusion proof of a held result."""
    if result.seq is None or result.leaf_hash is None or result.inclusion is None:
        raise ResponseError(f"result {result.index} is {result.status} but carries no proof.")
    return result.seq, result.leaf_hash, result.inclusion


def _receipt(
    pending: PendingStatement,
    result: ItemResult,
    seen: SeenCheckpoint,
    entries: Mapping[int, bytes],
) -> Receipt:
    seq, leaf_hash, inclusion = _proven(result)
    envelope = pending.submission.envelope
    check_receipt(envelope, seq, leaf_hash, inclusion, entries[seq], seen.checkpoint)
    return Receipt(
        pending.id, result.status, seq, leaf_hash, entries[seq], seen.size, inclusion.proof
    )


def _not_sent(pending: PendingStatement, result: ItemResult) -> str | None:
    """Why a refused item is not the log's verdict on the statement, or None when it is.

    A server failure (5xx) or a token that may not hand the statement in
    (``token_actor_mismatch``) says nothing about the statement: it stays pending.
    """
    if result.status != t.REJECTED:
        return None
    error = result.error or {}
    status, code = error.get("status"), error.get("code")
    if isinstance(status, int) and status >= 500:
        return f"the server failed on statement #{pending.id}; try again later."
    if code in _TOKEN_REFUSALS:
        return (
            f"the API token may not hand in statement #{pending.id} ({code}): "
            f"{error.get('message', '')}"
        )
    return None


def _rejection(pending: PendingStatement, result: ItemResult) -> Rejection:
    if result.status != t.REJECTED:
        raise ResponseError(f"result {result.index} has the unknown status {result.status!r}.")
    error = result.error or {}
    code = str(error.get("code") or "rejected")
    message = str(error.get("message") or "the log refused this statement.")
    return Rejection(pending.id, code, message)
