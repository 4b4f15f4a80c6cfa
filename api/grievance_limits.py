"""The rate limit of anonymous grievance reports (Flask-Limiter), and what the server forgets.

``POST /v1/grievances`` needs no token, so it is limited per client address: by default
:data:`DEFAULT_RATE` (a Flask-Limiter limit string; ``LEDGER_GRIEVANCE_RATE_LIMIT`` changes it).
Every request to it counts, refused ones too, so that the limit also bounds probing. A request
over the limit is a 429 in the API's one error shape (code ``rate_limited``) with ``Retry-After``.

Privacy: the limiter's key is an HMAC of the client's address under a key derived from the
ledger's data key (a random per-process key without one), so the address itself is stored
nowhere, not even in the limiter's storage; the counters expire with their window. The database
never sees the address. After the limiter has read it, the address, user agent, referrer and
forwarding headers are removed from the request's WSGI environment, so that the server's access
log (gunicorn's, which reads the same environment once the response is sent) records ``-`` for
these requests.

Storage: ``LEDGER_RATELIMIT_STORAGE_URI`` (a Flask-Limiter / ``limits`` storage URI), by default
``memory://``: each gunicorn worker then keeps its own counters, so with W workers a client may
get up to W times the limit. In production point it at a shared store, e.g.
``redis://127.0.0.1:6379/3`` or ``memcached://127.0.0.1:11211`` (install ``redis`` or
``pymemcache``). Behind a reverse proxy the address is the proxy's unless the proxy's address
header is trusted (werkzeug's ``ProxyFix``); the proxy's own access log must not keep it either.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter, RateLimitExceeded

from api import errors
from ledger.sealing import Sealer

DEFAULT_RATE = "10 per hour"
DEFAULT_STORAGE = "memory://"
RATE_SETTING = "LEDGER_GRIEVANCE_RATE_LIMIT"
STORAGE_SETTING = "LEDGER_RATELIMIT_STORAGE_URI"
EXTENSION = "asm-ledger.grievance-limiter"
_KEY_LABEL = b"asm-ledger/v1/grievance-rate-limit"
# What could identify a reporter, dropped from the environment once the limiter has used it.
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
    """The HMAC key: derived from the data key (shared by every worker), or random."""
    if sealer is None:
        return secrets.token_bytes(32)
    return hmac.new(sealer.data_key, _KEY_LABEL, hashlib.sha256).digest()


def rate_limited(exc: RateLimitExceeded) -> ResponseReturnValue:
    """The 429 in the one error shape (Flask-Limiter adds ``Retry-After`` and the
    ``X-RateLimit-*`` headers afterwards)."""
    message = (
        f"too many grievances from this network ({exc.description}); try again later, or ask "
        "the registrar's office to record it."
    )
    return jsonify(errors.body("rate_limited", 429, message)), 429


def install(app: Flask, sealer: Sealer | None, blueprint: Any) -> Limiter:
    """A limiter for ``app`` that limits the routes of ``blueprint`` (one per app: tests make
    many apps, and each gets its own counters)."""
    secret = limiter_secret(sealer)
    limiter = Limiter(
        lambda: client_key(secret),
        storage_uri=setting(app.config, STORAGE_SETTING, DEFAULT_STORAGE),
        headers_enabled=True,
        key_prefix="asm-ledger-grievances",
        default_limits=[],
    )
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, rate_limited)  # before the HTTPException one
    limiter.limit(setting(app.config, RATE_SETTING, DEFAULT_RATE))(blueprint)
    app.extensions[EXTENSION] = limiter
    return limiter


def forget_client(response: Response) -> Response:
    """After the response is made: drop what could identify the reporter from the WSGI
    environment, which the server's access log reads next."""
    for name in IDENTIFYING:
        if name in request.environ:
            request.environ[name] = "-"
    return response
