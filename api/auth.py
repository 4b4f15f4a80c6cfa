"""API tokens on requests: who is calling, and whether that caller may hand in a statement.

Writes and private reads need ``Authorization: Bearer <token>``; a token is issued to one actor
by the operator (``ledger tokens create ACTOR``, :mod:`ledger.registry.tokens`). Without a valid
token the answer is 401 with a ``WWW-Authenticate: Bearer`` challenge, before the body is
parsed. Reads of public data need no token.

A token decides who may *hand in* a statement (:func:`ledger.registry.access.check_submitter`:
its signer, or a registrar for registry statements), never whether the ledger accepts it: the
statement's signature and the rules still decide that, exactly as without tokens.

Each worker process remembers the tokens it authenticated for :data:`TOKEN_CACHE_SECONDS`
(``API_TOKEN_CACHE_SECONDS`` in the app's config; 0 turns it off), keyed by their SHA-256, so a
client that submits statement after statement costs one token lookup a second, not one per
request. So a token revoked, or expiring, while in use is refused at most that long afterwards.
A refusal is never remembered: a token that failed is looked up again next time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import wraps
from typing import Any

from flask import current_app, g, request

from api import errors, state, submissions
from api.blueprint import Api
from api.limits import MAX_BATCH
from ledger.custody.log import REJECTED, Ledger
from ledger.errors import AuthenticationError, LedgerError, TooLargeError
from ledger.registry import tokens
from ledger.registry.access import Caller, check_submitter

SCHEME = "bearerAuth"
SECURITY: list[dict[str, list[str]]] = [{SCHEME: []}]
_CALLER = "ledger_caller"
TOKEN_CACHE_SECONDS = 5.0
_CACHE_CONFIG = "API_TOKEN_CACHE_SECONDS"
_CACHE_EXTENSION = "asm-ledger.token-cache"
_CACHE_ENTRIES = 4096  # more distinct tokens than this in one period: start afresh


class TokenCache:
    """The callers of tokens this process authenticated in the last ``seconds``. Thread-safe."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._found: dict[bytes, tuple[float, Caller]] = {}

    def get(self, key: bytes) -> Caller | None:
        with self._lock:
            hit = self._found.get(key)
            if hit is None:
                return None
            if self._clock() - hit[0] >= self.seconds:
                del self._found[key]
                return None
            return hit[1]

    def put(self, key: bytes, who: Caller) -> None:
        with self._lock:
            if len(self._found) >= _CACHE_ENTRIES:
                self._found.clear()
            self._found[key] = (self._clock(), who)


def required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate the request's token before anything else (401 otherwise)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        setattr(g, _CALLER, authenticate())
        return view(*args, **kwargs)

    return wrapper


def authenticate() -> Caller:
    """The :class:`Caller` of this request's bearer token."""
    header = request.headers.get("Authorization", "")
    if not header:
        raise AuthenticationError(
            "this needs an API token: send `Authorization: Bearer <token>`. The ledger's "
            "operator issues tokens (`ledger tokens create ACTOR`)."
        )
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationError(
            "send the API token as `Authorization: Bearer <token>`.", invalid_token=True
        )
    token = token.strip()
    cache = _token_cache()
    key = tokens.token_hash(token)
    if cache is not None and (known := cache.get(key)) is not None:
        return known
    # On the engine, not the request's read connection: the lookup's connection goes back to
    # the pool at once instead of being held while the submission waits for its commit.
    engine = state.service().engine
    who = tokens.authenticate_caller(engine, token, now=state.ledger().clock())
    if cache is not None:
        cache.put(key, who)
    return who


def _token_cache() -> TokenCache | None:
    seconds = float(current_app.config.get(_CACHE_CONFIG, TOKEN_CACHE_SECONDS))
    if seconds <= 0:
        return None
    cache: TokenCache | None = current_app.extensions.get(_CACHE_EXTENSION)
    if cache is None:
        cache = current_app.extensions.setdefault(_CACHE_EXTENSION, TokenCache(seconds))
    return cache


def caller() -> Caller:
    """The caller :func:`required` authenticated for this request."""
    found: Caller = getattr(g, _CALLER)
    return found


def authorise(who: Caller, item: Mapping[str, Any]) -> None:
    """Refuse (403) a submission ``who`` may not hand in; a malformed one is left to the parser.

    Reads the signer and type from the request as sent: the parser keeps both verbatim, so a
    statement that passes here and then parses is the one that was checked.
    """
    envelope = item.get("envelope")
    statement = envelope.get("statement") if isinstance(envelope, Mapping) else None
    if not isinstance(statement, Mapping):
        submissions.parse(item)  # raises the parser's 400, naming the field
        statement = {}
    signer, kind = statement.get("actor"), statement.get("type")
    if not isinstance(signer, str) or not isinstance(kind, str):
        submissions.parse(item)
    check_submitter(who, signer, kind)


def submit_batch(
    ledger: Ledger, who: Caller, items: Sequence[Mapping[str, Any]]
) -> submissions.BatchReceipt:
    """:func:`api.submissions.submit_batch` of the items ``who`` may hand in; each other item
    is rejected with its error, in place."""
    if len(items) > MAX_BATCH:
        raise TooLargeError(
            f"a batch holds at most {MAX_BATCH} statements; split it.", field="statements"
        )
    refused = {i: error for i, item in enumerate(items) if (error := _refusal(who, item))}
    if not refused:  # the usual case: every result is at its own index already
        return submissions.submit_batch(ledger, items)
    allowed = [item for i, item in enumerate(items) if i not in refused]
    receipt = (
        submissions.submit_batch(ledger, allowed) if allowed else submissions.BatchReceipt([], None)
    )
    appended = iter(receipt.results)
    results = [
        submissions.ItemResult(i, REJECTED, error=errors.describe(refused[i]))
        if i in refused
        else replace(next(appended), index=i)
        for i in range(len(items))
    ]
    return submissions.BatchReceipt(results, receipt.checkpoint)


def _refusal(who: Caller, item: Mapping[str, Any]) -> LedgerError | None:
    try:
        authorise(who, item)
    except LedgerError as exc:
        return exc
    return None


def document(api: Api) -> None:
    """Declare the bearer scheme in the OpenAPI document."""
    api.spec.components.security_scheme(
        SCHEME,
        {
            "type": "http",
            "scheme": "bearer",
            "description": "A per-actor API token (`asml_...`), issued by the ledger's operator "
            "with `ledger tokens create ACTOR`; it expires and can be revoked.",
        },
    )
