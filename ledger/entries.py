"""Log entries: the exact bytes the Merkle tree commits to.

Entry ``i`` is the canonical JSON of ``{"seq": i, "prev": <hex leaf hash of entry i-1 or null>,
"logged": <server time>, "envelope": {"statement": ..., "sig": ...}}`` and its leaf hash is
RFC 6962 ``SHA-256(0x00 || entry)``. Because JCS sorts keys, the statement's own canonical bytes sit
verbatim inside the entry; :func:`encode` builds the entry by concatenation around them (equal to
``canonical.dumps`` of the whole object, which the tests check) and :func:`decode` slices them back
out, so verifying a signature never re-serialises anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger import canonical, merkle
from ledger.errors import ValidationError
from ledger.statements import Envelope, Statement, parse_time

MAX_ENTRY_BYTES = 24 * 1024
_HEAD = b'{"envelope":{"sig":"'
_SIG_B64_LEN = 88
_MID = b'","statement":'
_STATEMENT_AT = len(_HEAD) + _SIG_B64_LEN + len(_MID)
# \Z, not $: $ also matches before a trailing newline, which would admit b"...}\n". The logged
# time is printable ASCII without quote or backslash, so it decodes as ASCII.
_TAIL_RE = re.compile(
    rb'\},"logged":"([!#-\[\]-~]{1,40})","prev":(null|"[0-9a-f]{64}"),"seq":(0|[1-9][0-9]{0,15})\}\Z'
)


@dataclass(frozen=True)
class Entry:
    """One sequenced statement: the stored bytes and what they say."""

    seq: int
    prev: bytes | None
    logged: str
    envelope: Envelope
    data: bytes
    leaf_hash: bytes

    @property
    def statement(self) -> Statement:
        return self.envelope.statement


def encode(seq: int, prev: bytes | None, logged: str, envelope: Envelope) -> bytes:
    """Canonical entry bytes, built around the envelope's canonical statement bytes."""
    sig = canonical.b64encode(envelope.sig).encode("ascii")
    prev_text = b"null" if prev is None else b'"' + prev.hex().encode("ascii") + b'"'
    return b"".join(
        (
            _HEAD,
            sig,
            _MID,
            envelope.statement_bytes,
            b'},"logged":"',
            logged.encode("ascii"),
            b'","prev":',
            prev_text,
            b',"seq":',
            str(seq).encode("ascii"),
            b"}",
        )
    )


def make(seq: int, prev: bytes | None, logged: str, envelope: Envelope) -> Entry:
    data = encode(seq, prev, logged, envelope)
    if len(data) > MAX_ENTRY_BYTES:
        raise ValidationError(f"entry would exceed {MAX_ENTRY_BYTES} bytes.")
    return Entry(seq, prev, logged, envelope, data, merkle.leaf_hash(data))


def split(data: bytes) -> tuple[int, bytes | None, str, bytes, bytes]:
    """Slice raw entry bytes into (seq, prev, logged, sig, statement_bytes) without parsing JSON.

    Checks the fixed framing only; the caller decides how far to check the statement bytes.
    """
    match = _TAIL_RE.search(data)
    if not data.startswith(_HEAD) or match is None or len(data) > MAX_ENTRY_BYTES:
        raise ValidationError("entry bytes are not a canonical ledger entry.")
    if data[len(_HEAD) + _SIG_B64_LEN : _STATEMENT_AT] != _MID:
        raise ValidationError("entry signature field is malformed.")
    sig = canonical.b64decode(
        # latin-1 never fails; b64decode then rejects any byte outside the base64 alphabet
        data[len(_HEAD) : len(_HEAD) + _SIG_B64_LEN].decode("latin-1"),
        field="sig",
        size=64,
    )
    logged = match.group(1).decode("ascii")
    prev_raw = match.group(2)
    prev = None if prev_raw == b"null" else bytes.fromhex(prev_raw[1:-1].decode("ascii"))
    return int(match.group(3)), prev, logged, sig, data[_STATEMENT_AT : match.start()]


def decode(data: bytes, *, strict: bool = True) -> Entry:
    """Parse entry bytes. ``strict`` also demands that the statement bytes are canonical."""
    seq, prev, logged, sig, statement_bytes = split(data)
    parse_time(logged, "logged")
    value = canonical.parse(statement_bytes)
    if strict and canonical.dumps_fast(value) != statement_bytes:
        raise ValidationError("the statement inside the entry is not in canonical form.")
    statement = Statement.from_json(value)
    envelope = Envelope(statement, sig, statement_bytes)
    return Entry(seq, prev, logged, envelope, data, merkle.leaf_hash(data))
