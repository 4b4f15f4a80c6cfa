"""Proof bundles: a lot's provenance, checkable offline against one signed checkpoint.

A bundle is the RFC 8785 canonical JSON of::

    {"format": "asm-ledger/v1/bundle", "lot": ID, "head": HEX,
     "checkpoint": SIGNED NOTE, "key_id": 8 HEX,
     "entries": [{"seq": N, "entry": BASE64 ENTRY BYTES, "proof": [HEX, ...]}, ...],
     "consistency": null | {"old_size": N, "proof": [HEX, ...]}}

(docs/PROTOCOL.md, section 19, is the normative text.) :func:`verify` checks a bundle with the
pure core alone -- the checkpoint's signature, every inclusion proof, every statement signature
against keys registered by entries of the bundle, the lot's chain of ``after`` links and the
custody and mass-balance rules (:mod:`ledger.replay`) -- and, given an older checkpoint the buyer
kept, a consistency proof from it. It returns a :class:`Verdict` with one :class:`Check` per
step and never raises. :func:`encode` is what the server uses to write one; building one from the
database is a custody service (:mod:`ledger.custody.bundles`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from ledger import canonical, entries, merkle
from ledger.checkpoint import Checkpoint, VerifierKey, verify_checkpoint
from ledger.entries import Entry
from ledger.errors import LedgerError, TooLargeError, ValidationError
from ledger.replay import Replay
from ledger.statements import ID_RE, parse_time

FORMAT = "asm-ledger/v1/bundle"
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
MAX_BUNDLE_ENTRIES = 10_000
_FIELDS = {"format", "lot", "head", "checkpoint", "key_id", "entries", "consistency"}


@dataclass(frozen=True)
class BundleEntry:
    seq: int
    data: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Consistency:
    old_size: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle: well formed, not yet verified."""

    lot: str
    head: bytes
    checkpoint: str
    key_id: bytes
    entries: tuple[BundleEntry, ...]
    consistency: Consistency | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "lot": self.lot,
            "head": self.head.hex(),
            "checkpoint": self.checkpoint,
            "key_id": self.key_id.hex(),
            "entries": [
                {
                    "seq": e.seq,
                    "entry": canonical.b64encode(e.data),
                    "proof": [h.hex() for h in e.proof],
                }
                for e in self.entries
            ],
            "consistency": None
            if self.consistency is None
            else {
                "old_size": self.consistency.old_size,
                "proof": [h.hex() for h in self.consistency.proof],
            },
        }


def encode(bundle: Bundle) -> bytes:
    """The bundle's bytes: canonical JSON, exactly what :func:`parse` demands."""
    return canonical.dumps(bundle.to_json())


def parse(data: bytes) -> Bundle:
    """Parse bundle bytes strictly: canonical JSON (one final newline allowed), every field.

    Demanding the canonical form leaves no byte of a bundle without meaning: any change to the
    file changes something the verifier checks.

    Raises:
        ValidationError: malformed (``TooLargeError`` over :data:`MAX_BUNDLE_BYTES`).
    """
    if len(data) > MAX_BUNDLE_BYTES:
        raise TooLargeError(f"a bundle is at most {MAX_BUNDLE_BYTES} bytes.")
    body = data[:-1] if data.endswith(b"\n") else data
    value = canonical.parse(body)
    if not isinstance(value, dict) or set(value) != _FIELDS:
        raise ValidationError(f"a bundle is an object with exactly the fields {sorted(_FIELDS)}.")
    if canonical.dumps(value) != body:
        raise ValidationError("the bundle is not in canonical JSON form (RFC 8785).")
    if value["format"] != FORMAT:
        raise ValidationError(f"the bundle's format is not {FORMAT!r}.")
    if not isinstance(value["lot"], str) or not ID_RE.match(value["lot"]):
        raise ValidationError("the bundle's lot is not an identifier.")
    if not isinstance(value["checkpoint"], str):
        raise ValidationError("the bundle's checkpoint must be a signed note (text).")
    key_id = value["key_id"]
    if not isinstance(key_id, str) or len(key_id) != 8 or key_id.strip("0123456789abcdef"):
        raise ValidationError("the bundle's key_id must be 8 lowercase hex characters.")
    return Bundle(
        lot=value["lot"],
        head=canonical.hex32(value["head"], field="head"),
        checkpoint=value["checkpoint"],
        key_id=bytes.fromhex(key_id),
        entries=_parse_entries(value["entries"]),
        consistency=_parse_consistency(value["consistency"]),
    )


def _parse_entries(value: Any) -> tuple[BundleEntry, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_BUNDLE_ENTRIES:
        raise ValidationError(f"bundle entries must be a list of 1 to {MAX_BUNDLE_ENTRIES}.")
    parsed = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"seq", "entry", "proof"}:
            raise ValidationError("each bundle entry is an object with seq, entry and proof.")
        seq = item["seq"]
        if type(seq) is not int or seq < 0:
            raise ValidationError("a bundle entry's seq must be a non-negative integer.")
        data = canonical.b64decode(item["entry"], field=f"entry {seq}")
        parsed.append(BundleEntry(seq, data, _hashes(item["proof"], f"entry {seq}'s proof")))
    seqs = [e.seq for e in parsed]
    if seqs != sorted(set(seqs)):
        raise ValidationError("bundle entries must be sorted by seq, without repeats.")
    return tuple(parsed)


def _parse_consistency(value: Any) -> Consistency | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"old_size", "proof"}:
        raise ValidationError("the bundle's consistency is null or {old_size, proof}.")
    old = value["old_size"]
    if type(old) is not int or old < 1:
        raise ValidationError("consistency.old_size must be a positive integer.")
    return Consistency(old, _hashes(value["proof"], "the consistency proof"))


def _hashes(value: Any, what: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > 64:
        raise ValidationError(f"{what} must be a list of at most 64 hashes.")
    return tuple(canonical.hex32(h, field=what) for h in value)


# --------------------------------------------------------------------------------------------
# Verification


@dataclass(frozen=True)
class Check:
    """One step of verification: its name, whether it held, and what was found."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify`. ``ok`` only when every check held."""

    checks: tuple[Check, ...]
    bundle: Bundle | None = None
    checkpoint: Checkpoint | None = None
    entries: tuple[Entry, ...] = ()
    replay: Replay | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(check.ok for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        """Why verification failed (empty when it held)."""
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]


@dataclass
class _Run:
    checks: list[Check] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok


def verify(
    data: bytes | Bundle,
    key: VerifierKey,
    *,
    since: str | bytes | None = None,
) -> Verdict:
    """Verify a bundle against the operator's verifier key, offline. Never raises.

    Args:
        data: the bundle's bytes (or an already parsed bundle).
        key: the operator's checkpoint verifier key, obtained out of band.
        since: an older signed checkpoint the buyer kept: the bundle must then carry a
            consistency proof from it to its own checkpoint.
    """
    run = _Run()
    try:
        return _verify(run, data, key, since)
    except LedgerError as exc:  # every step catches its own; this is a last line of defence
        run.add("bundle", False, exc.message)
    except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc:
        run.add("bundle", False, f"malformed ({type(exc).__name__}).")
    return Verdict(tuple(run.checks))


def _verify(
    run: _Run, data: bytes | Bundle, key: VerifierKey, since: str | bytes | None
) -> Verdict:
    try:
        bundle = data if isinstance(data, Bundle) else parse(data)
    except LedgerError as exc:
        run.add("format", False, exc.message)
        return Verdict(tuple(run.checks))
    run.add("format", True, f"{len(bundle.entries)} entries about lot {bundle.lot}")
    checkpoint = _check_checkpoint(run, bundle, key)
    if checkpoint is None:
        return Verdict(tuple(run.checks), bundle)
    if since is not None:
        _check_since(run, bundle, checkpoint, key, since)
    decoded = _check_entries(run, bundle, checkpoint)
    replay = Replay()
    replay.run(decoded)
    _check_replay(run, bundle, replay, decoded, key)
    return Verdict(
        tuple(run.checks), bundle, checkpoint, tuple(decoded), replay, tuple(replay.warnings)
    )


def _check_checkpoint(run: _Run, bundle: Bundle, key: VerifierKey) -> Checkpoint | None:
    if bundle.key_id != key.key_id:
        run.add("checkpoint", False, f"the bundle names key id {bundle.key_id.hex()}, not "
                f"{key.key_id.hex()} of the verifier key given.")  # fmt: skip
        return None
    try:
        checkpoint = verify_checkpoint(bundle.checkpoint, key, key.name)
    except LedgerError as exc:
        run.add("checkpoint", False, exc.message)
        return None
    run.add("checkpoint", True, f"signed by {key.name}; size {checkpoint.size}, root "
            f"{checkpoint.root.hex()[:16]}...")  # fmt: skip
    return checkpoint


def _check_since(
    run: _Run, bundle: Bundle, checkpoint: Checkpoint, key: VerifierKey, since: str | bytes
) -> None:
    try:
        old = verify_checkpoint(since, key, key.name)
    except LedgerError as exc:
        run.add("consistency", False, f"the kept checkpoint does not verify: {exc.message}")
        return
    if old.size > checkpoint.size:
        run.add("consistency", False, f"the bundle's checkpoint (size {checkpoint.size}) is "
                f"older than the one kept (size {old.size}); fetch a newer bundle.")  # fmt: skip
        return
    proof = bundle.consistency
    if proof is None or proof.old_size != old.size:
        run.add("consistency", False, f"the bundle carries no consistency proof from size "
                f"{old.size}; fetch it with ?since={old.size}.")  # fmt: skip
        return
    try:
        merkle.verify_consistency(old.size, checkpoint.size, proof.proof, old.root, checkpoint.root)
    except LedgerError as exc:
        run.add("consistency", False, f"the log is not an extension of the kept checkpoint "
                f"(size {old.size}): {exc.message} The log may have forked.")  # fmt: skip
        return
    run.add("consistency", True, f"the log of size {checkpoint.size} extends the kept "
            f"checkpoint of size {old.size}")  # fmt: skip


def _check_entries(run: _Run, bundle: Bundle, checkpoint: Checkpoint) -> list[Entry]:
    """Decode every entry and check its inclusion proof; return those that decode.

    An entry whose proof fails is still replayed, so that its signature and rules are checked
    too and the report says all that is wrong with it.
    """
    good: list[Entry] = []
    failures: list[str] = []
    for item in bundle.entries:
        try:
            entry = entries.decode(item.data)
            if entry.seq != item.seq:
                raise ValidationError(f"its bytes say seq {entry.seq}.")
        except LedgerError as exc:
            failures.append(f"entry {item.seq}: {exc.message}")
            continue
        good.append(entry)
        try:
            merkle.verify_inclusion(
                entry.leaf_hash, item.seq, checkpoint.size, item.proof, checkpoint.root
            )
        except LedgerError as exc:
            failures.append(f"entry {item.seq}: {exc.message}")
    failures.extend(_check_order(good))
    if failures:
        run.add("inclusion", False, "; ".join(failures[:5]) + _more(failures))
    else:
        run.add("inclusion", True, f"all {len(good)} entries are in the checkpoint's tree")
    return good


def _check_order(decoded: list[Entry]) -> list[str]:
    """Neighbouring entries chain through ``prev``; the log's clock never runs backwards."""
    problems = []
    for before, after in pairwise(decoded):
        if after.seq == before.seq + 1 and after.prev != before.leaf_hash:
            problems.append(f"entry {after.seq}: prev is not entry {before.seq}'s leaf hash")
        if parse_time(after.logged) < parse_time(before.logged):
            problems.append(f"entry {after.seq}: logged before entry {before.seq}")
    return problems


def _more(items: list[str]) -> str:
    return f" (and {len(items) - 5} more)" if len(items) > 5 else ""


def _check_replay(
    run: _Run, bundle: Bundle, replay: Replay, decoded: list[Entry], key: VerifierKey
) -> None:
    genesis = decoded[0] if decoded and decoded[0].seq == 0 else None
    operator = genesis.statement.body.get("operator", {}) if genesis else {}
    named = operator.get("key") if isinstance(operator, dict) else None
    if (
        genesis is None
        or named != canonical.b64encode(key.public_key)
        or genesis.statement.ledger != key.name
    ):
        run.add("genesis", False, "the bundle must hold entry 0, naming the verifier key as the "
                "operator's key.")  # fmt: skip
    else:
        run.add("genesis", True, f"entry 0 founds ledger {genesis.statement.ledger}")
    bad_signatures = [str(r) for r in replay.rejected if r.error.code in _SIGNATURE_CODES]
    rule_failures = [str(r) for r in replay.rejected if r.error.code not in _SIGNATURE_CODES]
    if bad_signatures:
        run.add("signatures", False, "; ".join(bad_signatures[:5]) + _more(bad_signatures))
    else:
        run.add("signatures", True, f"{replay.signatures} statement signatures verify with keys "
                "registered in the bundle")  # fmt: skip
    if rule_failures:
        run.add("custody", False, "; ".join(rule_failures[:5]) + _more(rule_failures))
    else:
        run.add("custody", True, "after links, custodians, addressees and mass balance hold")
    head = replay.state.head(f"lot:{bundle.lot}")
    if head is None or head != bundle.head:
        run.add("head", False, f"the bundle's entries do not end lot {bundle.lot}'s history at "
                f"{bundle.head.hex()[:16]}...")  # fmt: skip
    else:
        run.add("head", True, f"lot {bundle.lot}'s history ends at {head.hex()[:16]}...")


_SIGNATURE_CODES = frozenset(
    {"bad_signature", "unknown_key", "key_actor_mismatch", "key_revoked", "no_genesis"}
)
