"""The ledger's HTTP API as typed calls: requests out, parsed answers in, errors classified.

This module only talks and parses. It trusts nothing it returns: the caller
(:class:`~ledger.client.Client`) verifies every checkpoint, proof and entry before using it.

Errors are classified so that the caller knows what to do:

* the server could not be reached or asked (connection refused, DNS, timeout, a broken
  connection, any 5xx): :class:`~ledger.client.errors.UnreachableError`, try again later;
* the server refused the request (4xx): the ledger error of that status
  (:class:`~ledger.errors.ValidationError` for 400, ``ForbiddenError`` 403, ``NotFoundError``
  404, ``ConflictError`` 409, ``TooLargeError`` 413, ``PolicyError`` 422, and
  ``AuthenticationError`` for 401 (no valid API token)) with the server's code and message;
* the answer is not of the documented shape: :class:`~ledger.client.errors.ResponseError`.

It uses httpx: typed, a timeout on every request by default, and pluggable transports, so the
tests drive the real Flask app in-process (``httpx.WSGITransport``) and inject failures.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from ledger import canonical
from ledger.client.errors import ResponseError, UnreachableError
from ledger.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    LedgerError,
    NotFoundError,
    PolicyError,
    TooLargeError,
    ValidationError,
)
from ledger.statements import Submission

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
_STATUS_ERRORS: dict[int, type[LedgerError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: TooLargeError,
    422: PolicyError,
}
_ENTRIES_PAGE = 100  # the server's page size of GET /v1/entries


@dataclass(frozen=True)
class InclusionProof:
    seq: int
    tree_size: int
    leaf_hash: bytes
    root: bytes
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class ItemResult:
    """One statement of a batch as the server reports it (unverified)."""

    index: int
    status: str
    seq: int | None
    leaf_hash: bytes | None
    inclusion: InclusionProof | None
    error: dict[str, Any] | None


@dataclass(frozen=True)
class BatchAnswer:
    results: tuple[ItemResult, ...]
    checkpoint_note: str | None


@dataclass(frozen=True)
class ConsistencyProof:
    old: int
    new: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class Head:
    """A subject's head as the server reports it (unverified)."""

    subject: str
    seq: int
    leaf_hash: bytes


class Server:
    """One ledger server's API. ``token`` is sent as ``Authorization: Bearer <token>``."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=base_url, headers=headers, transport=transport, timeout=timeout
        )

    def close(self) -> None:
        self._http.close()

    # -- writes -----------------------------------------------------------------------------
    def submit_batch(self, submissions: Sequence[Submission]) -> BatchAnswer:
        """``POST /v1/statements/batch`` with the envelopes and disclosures, in order."""
        body = {"statements": [payload(s) for s in submissions]}
        answer = self._json("POST", "/v1/statements/batch", json=body)
        with _parsing("the batch answer"):
            return BatchAnswer(
                tuple(_item_result(item) for item in answer["results"]),
                _optional_note(answer["checkpoint"]),
            )

    # -- the log ----------------------------------------------------------------------------
    def checkpoint(self) -> str:
        """The latest signed checkpoint note, verbatim."""
        answer = self._json("GET", "/v1/checkpoint", params={"format": "json"})
        with _parsing("the checkpoint"):
            return _text(answer["note"])

    def operator_key(self) -> str:
        """The operator's verifier key text, as the server names it (unverified)."""
        answer = self._json("GET", "/v1/operator-key")
        with _parsing("the operator key"):
            return _text(answer["verifier_key"])

    def consistency(self, old: int, new: int) -> ConsistencyProof:
        """The consistency proof between the trees of ``old`` and ``new`` entries."""
        answer = self._json("GET", "/v1/proofs/consistency", params={"old": old, "new": new})
        with _parsing("the consistency proof"):
            return ConsistencyProof(
                _int(answer["old"]), _int(answer["new"]), _hashes(answer["proof"])
            )

    def entries(self, seqs: Sequence[int]) -> dict[int, bytes]:
        """The exact bytes of the entries ``seqs``, fetched by runs of consecutive numbers."""
        found: dict[int, bytes] = {}
        for start, end in _runs(sorted(set(seqs))):
            found.update(self._entry_range(start, end))
        missing = sorted(set(seqs) - set(found))
        if missing:
            raise ResponseError(f"the server did not return entries {missing[:5]}.")
        return found

    def _entry_range(self, start: int, end: int) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        cursor: int | None = start
        while cursor is not None and cursor < end:
            stop = min(end, cursor + _ENTRIES_PAGE)
            page = self._json("GET", "/v1/entries", params={"from": cursor, "to": stop})
            with _parsing("a page of entries"):
                for item in page["entries"]:
                    found[_int(item["seq"])] = canonical.b64decode(item["entry"], field="entry")
                following = None if page["next"] is None else _int(page["next"])
            if following is not None and following <= cursor:
                raise ResponseError("the server's pages of entries do not advance.")
            cursor = following
        return found

    # -- registry and custody ---------------------------------------------------------------
    def lot_head(self, lot_id: str) -> Head:
        """The head of ``lot:<lot_id>`` as the server reports it."""
        answer = self._json("GET", f"/v1/lots/{_segment(lot_id)}")
        with _parsing("the lot"):
            head = answer["head"]
            return Head(f"lot:{lot_id}", _int(head["seq"]), canonical.hex32(head["leaf_hash"]))

    def key_last_n(self, actor: str, key_id: str) -> int:
        """The highest counter the log holds for ``key_id`` of ``actor`` (0 when none)."""
        try:
            answer = self._json("GET", f"/v1/actors/{_segment(actor)}")
        except NotFoundError:
            return 0
        with _parsing("the actor"):
            for key in answer["keys"]:
                if key["key_id"] == key_id:
                    return _int(key["last_n"])
        return 0

    # -- plumbing ---------------------------------------------------------------------------
    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError as exc:
            raise ResponseError(f"the server's answer to {method} {path} is not JSON.") from exc

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise UnreachableError(
                f"cannot reach the ledger server at {self._http.base_url} "
                f"({type(exc).__name__}: {exc})."
            ) from exc
        if response.status_code >= 500:
            raise UnreachableError(
                f"the ledger server answered {response.status_code} to {method} {path}; "
                "try again later.",
                status=response.status_code,
            )
        if response.status_code >= 400:
            _raise_refusal(response)
        return response


def payload(submission: Submission) -> dict[str, Any]:
    """The JSON of one submission: ``{"envelope": ..., "disclosures": [...]}``."""
    return {
        "envelope": submission.envelope.to_json(),
        "disclosures": [d.to_json() for d in submission.disclosures],
    }


def _raise_refusal(response: httpx.Response) -> NoReturn:
    """Raise the ledger error a 4xx answer stands for, with the server's code and message."""
    cls = _STATUS_ERRORS.get(response.status_code, LedgerError)
    try:
        body = response.json()
        code, message = str(body["code"]), str(body["message"])
    except (ValueError, KeyError, TypeError):
        code, message = f"http_{response.status_code}", response.reason_phrase
    raise cls(message, code=code, status=response.status_code)


@contextmanager
def _parsing(what: str) -> Iterator[None]:
    """Turn any surprise while reading an answer into one ResponseError."""
    try:
        yield
    except (KeyError, TypeError, ValueError, IndexError, ValidationError) as exc:
        raise ResponseError(f"the server's {what} is malformed ({exc}).") from exc


def _item_result(item: Mapping[str, Any]) -> ItemResult:
    inclusion = item.get("inclusion")
    leaf_hash = item.get("leaf_hash")
    seq = item.get("seq")
    error = item.get("error")
    return ItemResult(
        index=_int(item["index"]),
        status=_text(item["status"]),
        seq=None if seq is None else _int(seq),
        leaf_hash=None if leaf_hash is None else canonical.hex32(leaf_hash),
        inclusion=None if inclusion is None else _inclusion(inclusion),
        error=dict(error) if isinstance(error, dict) else None,
    )


def _inclusion(obj: Mapping[str, Any]) -> InclusionProof:
    return InclusionProof(
        _int(obj["seq"]),
        _int(obj["tree_size"]),
        canonical.hex32(obj["leaf_hash"]),
        canonical.hex32(obj["root"]),
        _hashes(obj["proof"]),
    )


def _optional_note(obj: Any) -> str | None:
    return None if obj is None else _text(obj["note"])


def _hashes(values: Any) -> tuple[bytes, ...]:
    if not isinstance(values, list):
        raise TypeError("a proof is a list of hex hashes")
    return tuple(canonical.hex32(value) for value in values)


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TypeError(f"{value!r} is not a non-negative integer")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _segment(value: str) -> str:
    """An identifier as one URL path segment (identifiers never hold ``/``; refuse if they do)."""
    if not value or "/" in value or value in (".", ".."):
        raise ValidationError(f"{value!r} is not an identifier.")
    return value


def _runs(seqs: Sequence[int]) -> list[tuple[int, int]]:
    """Consecutive runs of sorted ``seqs`` as ``[start, end)`` pairs."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and runs[-1][1] == seq:
            runs[-1] = (runs[-1][0], seq + 1)
        else:
            runs.append((seq, seq + 1))
    return runs
