"""The rate limit of anonymous grievance reports, and what the server forgets about a reporter.

``POST /v1/grievances`` needs no token, so it is limited per client address: by default
:data:`DEFAULT_RATE` (a ``limits`` rate string such as ``10 per hour`` or ``5/minute;50/day``;
``LEDGER_GRIEVANCE_RATE_LIMIT`` changes it). Every request to the route counts, refused ones
too, so that the limit also bounds probing. A request over the limit is a 429 in the API's one
error shape (code ``rate_limited``) with ``Retry-After``.

The counting is done by ``limits``, the rate-limiting library underneath Flask-Limiter (same
maintainers, same storage URIs and strategies), called from a ``before_request`` hook of the
report blueprint only. Flask-Limiter's own extension checks every request of the application
in an app-wide hook, which cost 50 to 115 µs on each request of every other route here for a
limit on one route.

Privacy: the limiter's key is an HMAC of the client's address under a key derived from the
ledger's data key (a random per-process key without one), so the address itself is stored
nowhere, not even in the limiter's storage, whose counters expire with their window. The
database never sees it. After the response is made, the address, user agent, referrer, cookies
and forwarding headers are replaced by ``-`` in the request's WSGI environment, so that the
server's access log (gunicorn's, which reads that same environment once the response is sent)
records ``-`` for these requests; the time of the log line remains, so an operator who must
keep access logs should drop these lines (or log nothing for this path).

Storage: ``LEDGER_RATELIMIT_STORAGE_URI`` (a ``limits`` storage URI), by default ``memory://``:
each gunicorn worker then keeps its own counters, so with W workers a client may get up to W
times the limit. In production point it at a shared store, e.g. ``redis://127.0.0.1:6379/3`` or
``memcached://127.0.0.1:11211`` (install ``redis`` or ``pymemcache``). Behind a reverse proxy
the address is the proxy's unless the proxy's address header is trusted (werkzeug's
``ProxyFix``); the proxy's own access log must not keep the address either.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from api import errors
from ledger.errors import ConfigError
from ledger.sealing import Sealer

DEFAULT_RATE = "10 per hour"
DEFAULT_STORAGE = "memory://"
RATE_SETTING = "LEDGER_GRIEVANCE_RATE_LIMIT"
STORAGE_SETTING = "LEDGER_RATELIMIT_STORAGE_URI"
EXTENSION = "asm-ledger.grievance-limiter"
NAMESPACE = "asm-ledger-grievances"
_KEY_LABEL = b"asm-ledger/v1/grievance-rate-limit"
# What could identify a reporter, replaced in the environment once the request is answered.
IDENTIFYING = (
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "HTTP_USER_AGENT",
    "HTTP_REFERER",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_COOKIE",
)


class RateLimited(TooManyRequests):
    """Too many reports from one client address in the window."""

    def __init__(self, rate: RateLimitItem, retry_after: int) -> None:
        super().__init__(description=str(rate))
        self.rate = rate
        self.retry_after = retry_after


@dataclass
class GrievanceLimiter:
    """Counts the reports of each client (by a keyed hash of its address) in a fixed window."""

    rate: RateLimitItem
    storage: Storage
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        self._strategy = FixedWindowRateLimiter(self.storage)

    def check(self) -> None:
        """Count this request; :class:`RateLimited` when its client is over the limit."""
        key = client_key(self.secret)
        if not self._strategy.hit(self.rate, NAMESPACE, key):
            reset = self._strategy.get_window_stats(self.rate, NAMESPACE, key).reset_time
            raise RateLimited(self.rate, max(1, int(reset - time.time()) + 1))


def setting(config: Mapping[str, Any], name: str, default: str) -> str:
    """A ``LEDGER_*`` setting: the app's config (``create_app`` overrides), else the
    environment, else ``default``."""
    value = config.get(name) or os.environ.get(name) or default
    return str(value)


def client_key(secret: bytes) -> str:
    """The limiter's key for this request: an HMAC of the client's address, never the address."""
    address = (request.remote_addr or "-").encode("utf-8", "replace")
    return hmac.new(secret, address, hashlib.sha256).hexdigest()[:32]


def limiter_secret(sealer: Sealer | None) -> bytes:
    """The HMAC key: derived from the data key (the same in every worker), or random."""
    if sealer is None:
        return secrets.token_bytes(32)
    return hmac.new(sealer.data_key, _KEY_LABEL, hashlib.sha256).digest()


def rate_limited(exc: RateLimited) -> ResponseReturnValue:
    """The 429 in the one error shape."""
    message = (
        f"too many grievances from this network ({exc.rate}); try again in {exc.retry_after} s, "
        "or ask the registrar's office to record it."
    )
    body = errors.body("rate_limited", 429, message)
    return jsonify(body), 429, {"Retry-After": str(exc.retry_after)}


def install(app: Flask, sealer: Sealer | None, blueprint: Any) -> GrievanceLimiter:
    """A limiter for the routes of ``blueprint`` in ``app`` (one per app: tests make many apps,
    and each gets its own counters).

    Raises:
        ConfigError: the rate or the storage URI is not one ``limits`` understands.
    """
    rate_text = setting(app.config, RATE_SETTING, DEFAULT_RATE)
    uri = setting(app.config, STORAGE_SETTING, DEFAULT_STORAGE)
    try:
        rate = parse(rate_text)
        storage = storage_from_string(uri)
        if not isinstance(storage, Storage):
            raise ValueError("an asynchronous storage cannot serve this synchronous server")
    except (ValueError, LookupError, ImportError) as exc:
        raise ConfigError(
            f"{RATE_SETTING}={rate_text!r} or {STORAGE_SETTING} is not a rate limit and storage "
            f"the server can use: {exc}",
            code="bad_rate_limit",
        ) from exc
    limiter = GrievanceLimiter(rate, storage, limiter_secret(sealer))
    app.extensions[EXTENSION] = limiter
    app.register_error_handler(RateLimited, rate_limited)  # before the HTTPException one
    # this app's hooks for the blueprint's requests only (the blueprint object is shared by apps)
    app.before_request_funcs.setdefault(blueprint.name, []).append(limiter.check)
    app.after_request_funcs.setdefault(blueprint.name, []).append(forget_client)
    return limiter


def forget_client(response: Response) -> Response:
    """After the response is made: replace what could identify the reporter in the WSGI
    environment, which the server's access log reads next."""
    for name in IDENTIFYING:
        if name in request.environ:
            request.environ[name] = "-"
    return response
