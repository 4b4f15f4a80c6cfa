"""Statements and envelopes: what an actor signs, and the signature over it.

A statement is a JSON object in the ledger's data model (see ``ledger.canonical``). Its signature
input is ``b"asm-ledger/v1/statement\\n" + JCS(statement)``: the prefix separates statement
signatures from every other use of a key. An envelope pairs the statement with its signature.

This module checks the common fields of every statement; the body of each type is checked by
``ledger.bodies``, and whether the signer may make it by the rules (``ledger.rules``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from ledger import canonical
from ledger.crypto import SIGNATURE_SIZE, Signer, Verifier
from ledger.disclosures import Disclosure
from ledger.errors import SignatureError, TooLargeError, ValidationError

VERSION = 1
SIGNATURE_CONTEXT = b"asm-ledger/v1/statement\n"
MAX_STATEMENT_BYTES = 16 * 1024
MAX_DISCLOSURES = 32

STATEMENT_TYPES = frozenset(
    {
        "genesis",
        "actor.register",
        "actor.key.add",
        "actor.key.revoke",
        "site.register",
        "miner.register",
        "lot.register",
        "lot.dispatch",
        "lot.receive",
        "lot.split",
        "lot.merge",
        "lot.process",
        "lot.export",
        "attestation",
        "attestation.revoke",
        "incident",
        "incident.resolve",
    }
)

# "\Z", not "$": "$" also matches before a trailing newline, which would admit "coop\n".
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")
KEY_ID_RE = re.compile(r"^[0-9a-f]{64}\Z")
TIME_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z\Z")
SUBJECT_RE = re.compile(
    r"^(actor|site|miner|lot|attestation|incident):[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z"
)
_FIELDS = ("v", "ledger", "type", "actor", "key", "n", "time", "after", "body", "sd")
_FIELD_SET = frozenset(_FIELDS)


def parse_time(value: Any, field_name: str = "time") -> datetime:
    """Parse an RFC 3339 UTC timestamp of the form ``2026-01-31T08:00:00Z`` (fraction optional)."""
    if type(value) is str:
        cached = _parse_time_cached(value)
        if cached is not None:
            return cached
    return _parse_time(value, field_name)


@lru_cache(maxsize=8192)
def _parse_time_cached(value: str) -> datetime | None:
    """Valid times are parsed once (the log's clock and statement times repeat a lot)."""
    try:
        return _parse_time(value, "time")
    except ValidationError:
        return None


def _parse_time(value: Any, field_name: str) -> datetime:
    if not isinstance(value, str) or not TIME_RE.match(value):
        raise ValidationError(
            f"{field_name} must be an RFC 3339 UTC time like 2026-01-31T08:00:00Z.",
            field=field_name,
        )
    try:
        return datetime.fromisoformat(value[:-1]).replace(tzinfo=UTC)
    except ValueError as exc:
        raise ValidationError(
            f"{field_name} is not a real date and time.", field=field_name
        ) from exc


def format_time(moment: datetime) -> str:
    """The canonical text form of a time: UTC, ``Z`` suffix, microseconds only when present."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


@dataclass(frozen=True)
class Statement:
    """What an actor signs. ``(key, n)`` is its identity in the log."""

    ledger: str
    type: str
    actor: str
    key: str
    n: int
    time: str
    after: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)
    sd: tuple[str, ...] = ()
    v: int = VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "ledger": self.ledger,
            "type": self.type,
            "actor": self.actor,
            "key": self.key,
            "n": self.n,
            "time": self.time,
            "after": dict(self.after),
            "body": self.body,
            "sd": list(self.sd),
        }

    def canonical(self) -> bytes:
        return canonical.dumps(self.to_json())

    @classmethod
    def from_json(cls, obj: Any) -> Statement:
        """Check the common fields strictly and build a Statement; the body is checked elsewhere."""
        if not isinstance(obj, dict):
            raise ValidationError("statement must be a JSON object.", field="statement")
        if obj.keys() != _FIELD_SET:
            _check_fields(obj)
        if type(obj["v"]) is not int or obj["v"] != VERSION:
            raise ValidationError(f"statement.v must be {VERSION}.", field="statement.v")
        _require_str(obj, "ledger", 1, 200)
        if not isinstance(obj["type"], str) or obj["type"] not in STATEMENT_TYPES:
            raise ValidationError(
                f"statement.type {obj['type']!r} is not a known statement type.",
                field="statement.type",
            )
        _require_id(obj["actor"], "statement.actor")
        if not isinstance(obj["key"], str) or not KEY_ID_RE.match(obj["key"]):
            raise ValidationError(
                "statement.key must be a key id: 64 lowercase hex characters.",
                field="statement.key",
            )
        n = obj["n"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValidationError("statement.n must be a positive integer.", field="statement.n")
        parse_time(obj["time"], "statement.time")
        after = _check_after(obj["after"])
        if not isinstance(obj["body"], dict):
            raise ValidationError("statement.body must be an object.", field="statement.body")
        sd = _check_sd(obj["sd"])
        return cls(
            v=VERSION,
            ledger=obj["ledger"],
            type=obj["type"],
            actor=obj["actor"],
            key=obj["key"],
            n=n,
            time=obj["time"],
            after=after,
            body=obj["body"],
            sd=sd,
        )


def _check_fields(obj: dict[str, Any]) -> None:
    missing = [name for name in _FIELDS if name not in obj]
    if missing:
        raise ValidationError(
            f"statement is missing {', '.join(missing)}.", field=f"statement.{missing[0]}"
        )
    extra = sorted(set(obj) - _FIELD_SET)
    if extra:
        raise ValidationError(
            f"statement has unknown field(s) {', '.join(extra)}.", field=f"statement.{extra[0]}"
        )


def _require_str(obj: dict[str, Any], name: str, lo: int, hi: int) -> None:
    value = obj[name]
    if not isinstance(value, str) or not lo <= len(value) <= hi:
        raise ValidationError(
            f"statement.{name} must be a string of {lo} to {hi} characters.",
            field=f"statement.{name}",
        )


def _require_id(value: Any, field_name: str) -> None:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise ValidationError(
            f"{field_name} must be an identifier: 1-64 characters from A-Z a-z 0-9 . _ : -, "
            "starting with a letter or digit.",
            field=field_name,
        )


def _check_after(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValidationError(
            'statement.after must be an object mapping subjects ("lot:ID") to head hashes.',
            field="statement.after",
        )
    if len(value) > 64:
        raise TooLargeError("statement.after names more than 64 subjects.", field="statement.after")
    for subject, head in value.items():
        if not SUBJECT_RE.match(subject):
            raise ValidationError(
                f"statement.after key {subject!r} is not a subject like lot:ID or actor:ID.",
                field="statement.after",
            )
        canonical.hex32(head, field=f"statement.after.{subject}")
    return dict(value)


def _check_sd(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValidationError("statement.sd must be a list of digests.", field="statement.sd")
    if len(value) > MAX_DISCLOSURES:
        raise TooLargeError(
            f"statement.sd holds more than {MAX_DISCLOSURES} digests.", field="statement.sd"
        )
    for digest in value:
        canonical.hex32(digest, field="statement.sd[]")
    if list(value) != sorted(set(value)):
        raise ValidationError(
            "statement.sd must be sorted and without duplicates.", field="statement.sd"
        )
    return tuple(value)


def signing_input(statement_bytes: bytes) -> bytes:
    """The exact bytes an actor's key signs."""
    return SIGNATURE_CONTEXT + statement_bytes


@dataclass(frozen=True)
class Envelope:
    """A signed statement. ``statement_bytes`` are the canonical bytes the signature covers."""

    statement: Statement
    sig: bytes
    statement_bytes: bytes

    def to_json(self) -> dict[str, Any]:
        return {"statement": self.statement.to_json(), "sig": canonical.b64encode(self.sig)}

    def canonical(self) -> bytes:
        return canonical.dumps(self.to_json())

    def verify(self, public_key: bytes, verifier: Verifier | None = None) -> None:
        """Raise :class:`SignatureError` unless the signature is valid for ``public_key``."""
        (verifier or Verifier()).verify(public_key, self.sig, signing_input(self.statement_bytes))

    @classmethod
    def from_json(cls, obj: Any, *, parsed: bool = False) -> Envelope:
        """Parse an envelope from parsed JSON, checking shape and size; not the signature.

        Args:
            obj: the envelope as JSON values.
            parsed: ``obj`` is part of a value :func:`canonical.parse` returned, unchanged
                since (the API's request bodies, :meth:`from_bytes`). That value has passed the
                data-model check, so the statement is not walked again before it is encoded.
        """
        if not isinstance(obj, dict) or set(obj) != {"statement", "sig"}:
            raise ValidationError(
                "an envelope is an object with exactly the fields statement and sig.",
                field="envelope",
            )
        statement = Statement.from_json(obj["statement"])
        # The bytes the signature is verified over (not signed here: see dumps_received).
        statement_bytes = (
            canonical.dumps_fast(obj["statement"])
            if parsed
            else canonical.dumps_received(obj["statement"])
        )
        if len(statement_bytes) > MAX_STATEMENT_BYTES:
            raise TooLargeError(
                f"the statement is {len(statement_bytes)} bytes; the limit is "
                f"{MAX_STATEMENT_BYTES}. Move bulky data into evidence digests.",
                field="statement",
            )
        sig = canonical.b64decode(obj["sig"], field="sig", size=SIGNATURE_SIZE)
        return cls(statement=statement, sig=sig, statement_bytes=statement_bytes)

    @classmethod
    def from_bytes(cls, data: bytes) -> Envelope:
        return cls.from_json(canonical.parse(data), parsed=True)


def sign(statement: Statement, signer: Signer) -> Envelope:
    """Sign ``statement`` with ``signer``; the statement's ``key`` must be the signer's key id."""
    if statement.key != signer.key_id:
        raise SignatureError("statement.key is not the key id of the signer used to sign it.")
    statement_bytes = statement.canonical()
    if len(statement_bytes) > MAX_STATEMENT_BYTES:
        raise TooLargeError(f"the statement exceeds {MAX_STATEMENT_BYTES} bytes.")
    Statement.from_json(statement.to_json())  # never sign what the ledger would refuse to parse
    return Envelope(statement, signer.sign(signing_input(statement_bytes)), statement_bytes)


@dataclass(frozen=True)
class Submission:
    """A signed envelope and the disclosures of its private fields, as handed to the log."""

    envelope: Envelope
    disclosures: tuple[Disclosure, ...] = ()
