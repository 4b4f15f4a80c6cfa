"""One error shape for every failure, and the one table from ledger errors to HTTP statuses.

Every error response is ``{"code", "status", "message", "errors"}``:

- ``code``: a stable machine code (the core's, e.g. ``stale_after``, ``mass_balance``; or the
  API's: ``invalid``, ``malformed_json``, ``not_found``, ``method_not_allowed``, ``too_large``,
  ``unsupported_media_type``, ``unavailable``, ``internal``);
- ``status``: the HTTP status, as an integer;
- ``message``: a sentence a person can act on;
- ``errors``: per-field messages, ``{location: {field: [message, ...]}}`` with location ``json``
  (the body) or ``query``; ``{}`` when the error is not about one field. Fields named by the core
  are relative to the envelope (``statement.n``, ``sig``) or name the ``disclosures``.

The statuses (:data:`STATUS`): malformed input 400; no valid API token 401 (with a
``WWW-Authenticate: Bearer`` challenge); a statement over a size limit 413; a signature that does
not verify, or a key that may not sign it, 422 (the request was well formed; the ledger refuses
what it says, like a broken rule); a signer without the role, or a token that may not do what it
asks, 403; an unknown lot, actor, entry or route 404; a conflict with the log (stale ``after``,
equivocation, a reused tag or id) 409; a broken custody or mass-balance rule 422. Server-side
failures (integrity 500, configuration 503, database unavailable 503, anything unexpected 500)
are logged here with their details and traceback, and answered with a fixed sentence: no
traceback, SQL or internal message ever reaches a client.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ledger.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    ForbiddenError,
    IntegrityError,
    LedgerError,
    NotFoundError,
    PolicyError,
    ProofError,
    SignatureError,
    TooLargeError,
    ValidationError,
)

log = logging.getLogger("api")
REALM = "asm-ledger"

# The one table: the most specific class in an error's MRO decides its status.
STATUS: dict[type[LedgerError], int] = {
    TooLargeError: 413,
    ValidationError: 400,
    AuthenticationError: 401,
    SignatureError: 422,
    ForbiddenError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    PolicyError: 422,
    ProofError: 500,  # the API verifies no client proofs: a failing proof is the server's own
    IntegrityError: 500,
    ConfigError: 503,
    LedgerError: 500,
}

_SERVER_MESSAGES = {
    IntegrityError: "the ledger's stored state failed an integrity check; the details are logged "
    "for the operator.",
    ConfigError: "the ledger is not configured to do this; the details are logged for the "
    "operator.",
}
_INTERNAL = "the server hit an unexpected error; the details are logged for the operator."
_UNAVAILABLE = "the database is unavailable; try again shortly."

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    500: "internal",
}


def body(
    code: str, status: int, message: str, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"code": code, "status": status, "message": message, "errors": _text_keys(errors or {})}


def _text_keys(errors: Any) -> Any:
    """marshmallow keys list items by int index; JSON object keys are text (and sort as such)."""
    if isinstance(errors, dict):
        return {str(key): _text_keys(value) for key, value in errors.items()}
    return errors


def status_of(exc: LedgerError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500  # unreachable: LedgerError is in the table


def describe(exc: LedgerError) -> dict[str, Any]:
    """The error body of a ledger error (also a rejected batch item's ``error``)."""
    status = status_of(exc)
    if status >= 500:
        log.error("ledger error [%s]: %s %r", exc.code, exc.message, exc.details, exc_info=exc)
        cls = next((c for c in type(exc).__mro__ if c in _SERVER_MESSAGES), None)
        if cls is None:
            return body("internal", status, _INTERNAL)
        return body(cls.default_code, status, _SERVER_MESSAGES[cls])
    field = exc.details.get("field")
    location = str(exc.details.get("location", "json"))
    errors = {location: {str(field): [exc.message]}} if field else {}
    return body(exc.code, status, exc.message, errors)


def ledger_error(exc: LedgerError) -> ResponseReturnValue:
    payload = describe(exc)
    headers = {"WWW-Authenticate": challenge(exc)} if payload["status"] == 401 else {}
    return jsonify(payload), payload["status"], headers


def challenge(exc: LedgerError) -> str:
    """The ``WWW-Authenticate`` header of a 401 (RFC 6750): the error only when a token was sent."""
    if exc.details.get("invalid_token"):
        return f'Bearer realm="{REALM}", error="invalid_token"'
    return f'Bearer realm="{REALM}"'


def http_error(exc: HTTPException) -> ResponseReturnValue:
    """Render a werkzeug HTTP error (404, 405, 413, webargs' 400 ...) in the one shape."""
    status = exc.code or 500
    if status >= 500:
        return unexpected(exc)
    data = getattr(exc, "data", None) or {}
    messages = data.get("errors") or data.get("messages")
    if messages:
        payload = body("invalid", status, "the request does not match its schema; see errors.",
                       messages)  # fmt: skip
    else:
        code = _HTTP_CODES.get(status, HTTPStatus(status).name.lower())
        payload = body(code, status, data.get("message") or _http_message(exc, status))
    headers = {k: v for k, v in exc.get_headers() if k in ("Allow", "Retry-After")}
    return jsonify(payload), status, headers


def _http_message(exc: HTTPException, status: int) -> str:
    if status == 404:
        return "there is nothing at this path; the routes are listed at /docs."
    if status == 405:
        allowed = ", ".join(sorted(getattr(exc, "valid_methods", None) or ()))
        return f"this method is not allowed on this path; allowed: {allowed}."
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return f"the request body is larger than the limit of {limit} bytes; split it."
    if status == 415:
        return "send the request body as JSON, with Content-Type: application/json."
    return f"{HTTPStatus(status).phrase}."


def database_unavailable(exc: OperationalError) -> ResponseReturnValue:
    log.error("database unavailable", exc_info=exc)
    return jsonify(body("unavailable", 503, _UNAVAILABLE)), 503


def unexpected(exc: BaseException) -> ResponseReturnValue:
    """The catch-all: log the traceback here, tell the client only that it happened."""
    log.error("unhandled error in %s %s", request.method, request.path, exc_info=exc)
    return jsonify(body("internal", 500, _INTERNAL)), 500


def register(app: Flask) -> None:
    app.register_error_handler(LedgerError, ledger_error)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(Exception, unexpected)
