"""API tokens on requests: who is calling, and whether that caller may hand in a statement.

Writes and private reads need ``Authorization: Bearer <token>``; a token is issued to one actor
by the operator (``ledger tokens create ACTOR``, :mod:`ledger.registry.tokens`). Without a valid
token the answer is 401 with a ``WWW-Authenticate: Bearer`` challenge, before the body is
parsed. Reads of public data need no token.

A token decides who may *hand in* a statement (:func:`ledger.registry.access.check_submitter`:
its signer, or a registrar for registry statements), never whether the ledger accepts it: the
statement's signature and the rules still decide that, exactly as without tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import wraps
from typing import Any

from flask import g, request

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
    return tokens.authenticate_caller(state.connection(), token.strip(), now=state.ledger().clock())


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
