"""Replaying a subset of the log: the entries of a proof bundle, under the ledger's own rules.

A proof bundle (:mod:`ledger.bundle`) holds a lot's provenance, not the whole log. Replaying the
full rule engine (:func:`ledger.rules.apply`) over such a subset would fail for reasons that are
not errors: an actor's head has been moved by entries that are not in the bundle, key counters
skip numbers, and site capacity and single-use tags are global. :class:`Replay` therefore applies
exactly what a subset can prove, and nothing more:

- every entry's statement body has its type's shape, names the bundle's ledger, and is not dated
  ahead of its logged time by more than the genesis policy allows;
- every signature verifies with a key *registered by an earlier entry of the bundle* (genesis,
  ``actor.register``, ``actor.key.add``), held by the statement's actor and not revoked by an
  earlier entry of the bundle; counters of a key increase;
- every ``after`` head of a ``lot:`` or ``attestation:`` subject is the bundle's own previous
  entry about that subject (so the lot's chain is unbroken inside the bundle). ``actor:`` heads
  are not compared: actors change through entries a lot's bundle need not hold;
- the type's rules, from the same handlers the sequencer runs (:mod:`ledger.custody.rules`,
  :mod:`ledger.registry.rules`), over a :class:`~ledger.state.MemoryState` built from the bundle
  alone: who may register, dispatch, receive, split, merge, process and export; mass and
  contained-metal balance; receipt discrepancies re-derived as flags. Site capacity and tag
  uniqueness are checked within the bundle only: a subset can show a violation but never that a
  total is within its limit.

A rejected entry is recorded (with its reason) and leaves no trace, as in the sequencer; the
replay goes on, so that one bad entry names itself rather than hiding the rest. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ledger import bodies, rules
from ledger.crypto import Verifier
from ledger.custody.types import Flag
from ledger.entries import Entry
from ledger.errors import (
    ConflictError,
    LedgerError,
    NotFoundError,
    SignatureError,
    ValidationError,
)
from ledger.registry.types import Key
from ledger.rulebook import Context, evolve
from ledger.state import MemoryState, OverlayState
from ledger.statements import Statement, parse_time

# Subjects whose every change is in a lot's bundle: their heads must chain inside it.
CHAINED = ("lot:", "attestation:", "incident:")


@dataclass(frozen=True)
class Rejected:
    """An entry of the bundle that the rules refuse, and why."""

    seq: int
    type: str
    actor: str
    error: LedgerError

    def __str__(self) -> str:
        return f"entry {self.seq} ({self.type} by {self.actor}): {self.error.message}"


@dataclass
class Replay:
    """The state derived from a bundle's entries, replayed in log order."""

    state: OverlayState = field(default_factory=MemoryState)
    rejected: list[Rejected] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    signatures: int = 0
    touched: dict[int, tuple[str, ...]] = field(default_factory=dict)
    verifier: Verifier = field(default_factory=Verifier)
    _signed: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    def run(self, entries: list[Entry]) -> None:
        """Apply ``entries`` (sorted by ``seq``) one by one."""
        for entry in entries:
            statement = entry.statement
            try:
                self._apply(entry)
            except LedgerError as exc:
                self.state.drop()
                self.rejected.append(Rejected(entry.seq, statement.type, statement.actor, exc))
                continue
            self.state.keep()

    @property
    def flags(self) -> list[Flag]:
        """The flags the rules raised on the bundle's entries (receipt discrepancies ...)."""
        return list(self.state.appended("flag"))

    def _apply(self, entry: Entry) -> None:
        statement = entry.statement
        ctx = Context(entry.seq, entry.leaf_hash, entry.logged)
        if entry.seq == 0 or statement.type == "genesis":
            entry.envelope.verify(rules.signing_key(self.state, statement), self.verifier)
            self.signatures += 1
            rules.apply(self.state, statement, ctx)
            self.touched[entry.seq] = ()
            return
        if self.state.origin() is None:
            raise NotFoundError(
                "the bundle holds no genesis entry before this one.", code="no_genesis"
            )
        bodies.check_body(statement.type, statement.body)
        self._check_time(statement, entry.logged)
        if statement.ledger != self.state.origin():
            raise ValidationError(
                f"the statement is for ledger {statement.ledger!r}, not {self.state.origin()!r}.",
                code="wrong_ledger",
            )
        key = self._key(statement)
        entry.envelope.verify(key.public_key, self.verifier)
        self.signatures += 1
        handler = rules.HANDLERS[statement.type]
        self._check_after(statement, handler.subjects(statement))
        self.state.put_key(evolve(key, last_n=statement.n), new=False)
        touched = handler.apply(self.state, statement, ctx)
        for subject in touched:
            self.state.set_head(subject, entry.leaf_hash, entry.seq)
        self.touched[entry.seq] = tuple(touched)
        self._signed.setdefault(statement.key, []).append((entry.seq, statement.time))
        if statement.type == "actor.key.revoke":
            self._note_revocation(statement)

    def _check_time(self, statement: Statement, logged: str) -> None:
        skew = timedelta(seconds=self.state.policy().max_future_skew_s)
        if parse_time(statement.time, "statement.time") > parse_time(logged, "logged") + skew:
            raise ValidationError(
                f"statement.time {statement.time} is ahead of its logged time {logged}.",
                code="time_in_future",
            )

    def _key(self, statement: Statement) -> Key:
        key = self.state.key(statement.key)
        if key is None:
            raise SignatureError(
                f"key {statement.key[:16]}... is not registered by any earlier entry of the "
                "bundle.",
                code="unknown_key",
            )
        if key.actor != statement.actor:
            raise SignatureError(
                f"the key belongs to {key.actor}, not to {statement.actor}.",
                code="key_actor_mismatch",
            )
        if key.revoked_seq is not None:
            raise SignatureError(
                f"the key was revoked by entry {key.revoked_seq}, before this statement.",
                code="key_revoked",
            )
        if statement.n <= key.last_n:
            raise ConflictError(
                f"statement.n {statement.n} is not above {key.last_n}, the key's counter in an "
                "earlier entry of the bundle.",
                code="stale_counter",
            )
        return key

    def _check_after(self, statement: Statement, subjects: tuple[str, ...]) -> None:
        if set(statement.after) != set(subjects):
            raise ValidationError(
                f"statement.after must name exactly {', '.join(sorted(subjects)) or 'nothing'}.",
                code="after_subjects",
            )
        for subject in subjects:
            if not subject.startswith(CHAINED):
                continue
            head = self.state.head(subject)
            if head is None:
                raise NotFoundError(
                    f"the statement follows an entry about {subject} that is not in the bundle.",
                    code="missing_link",
                )
            if head.hex() != statement.after[subject]:
                raise ConflictError(
                    f"statement.after names {statement.after[subject][:16]}... for {subject}, "
                    f"but the bundle's previous entry about it is {head.hex()[:16]}...",
                    code="broken_chain",
                )

    def _note_revocation(self, statement: Statement) -> None:
        """Warn of statements signed with a key after the moment its holder says it was lost."""
        key_id, effective = statement.body["key"], statement.body["effective"]
        moment = parse_time(effective, "body.effective")
        for seq, time in self._signed.get(key_id, []):
            if parse_time(time) >= moment:
                self.warnings.append(
                    f"entry {seq} was signed with key {key_id[:16]}... at {time}, after the "
                    f"moment its holder {statement.body['actor']} says it was lost ({effective})."
                )
