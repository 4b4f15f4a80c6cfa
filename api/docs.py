"""Interactive API docs that work without the internet.

flask-smorest renders the Swagger UI page at ``/docs`` (``OPENAPI_SWAGGER_UI_PATH``) but loads
the Swagger UI scripts from ``OPENAPI_SWAGGER_UI_URL``, usually a CDN. A ledger is often run
where the network is poor or filtered, and a docs page that pulls scripts from a third party is
also a supply-chain risk, so the scripts are served here from the ``swagger-ui-bundle`` package
(the Swagger UI distribution, as a Python package) at ``/docs/assets/``. Only the files the page
loads are served; Swagger UI's online validator is switched off in the page's configuration.

It also writes the OpenAPI description: the error shape, the status table and the limits.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, Response, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from api import errors, limits
from ledger.statements import MAX_DISCLOSURES, MAX_STATEMENT_BYTES

ASSETS_URL = "/docs/assets/"
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-16x16.png",
        "favicon-32x32.png",
    }
)
_ONE_DAY = 24 * 3600


def _asset(name: str) -> Response:
    if name not in ASSETS:
        abort(404)
    return send_from_directory(Path(str(swagger_ui_path)), name, max_age=_ONE_DAY)


def register(app: Flask) -> None:
    assets = Blueprint("docs_assets", __name__)
    assets.add_url_rule(ASSETS_URL + "<name>", "asset", _asset)
    app.register_blueprint(assets)


def description() -> str:
    """The OpenAPI ``info.description``: the error shape, the statuses and the limits."""
    rows = "\n".join(f"| {cls.__name__} | {status} |" for cls, status in errors.STATUS.items())
    return f"""\
Chain-of-custody ledger for artisanal and small-scale mining. Actors submit signed statements;
the log sequences them under signed checkpoints, and every accepted statement comes back with
its inclusion proof against a checkpoint. Private fields (prices, invoices, contact and personal
data) never appear in the public responses; they are served only by the routes of the `private`
group, to those entitled to them.

**Authentication.** Writes and private reads need a per-actor API token, sent as
`Authorization: Bearer <token>` (401 with a `WWW-Authenticate` challenge without a valid one).
The operator issues, lists and revokes tokens with `ledger tokens create|list|revoke`; they
expire (90 days by default). A write is handed in with its signer's token, or a registrar's for
registry statements (403 `token_actor_mismatch` otherwise); the signature still decides what
is accepted. Private fields are readable by the statement's signer, its counterparty, and
auditors and regulators (403 `not_entitled` otherwise). Reads of public data need no token.

**Errors.** Every failure has one shape: `{{"code", "status", "message", "errors"}}`, where
`code` is a stable machine code (e.g. `stale_after`, `mass_balance`), `status` the HTTP status,
`message` a sentence, and `errors` per-field messages as `{{location: {{field: [message]}}}}`.
A request that fails writes nothing (an equivocating statement is refused and kept as evidence).
Ledger errors map to statuses as follows:

| error | status |
|---|---|
{rows}

Malformed JSON or arguments: 400. Unknown route or object: 404. Wrong method: 405.

**Limits.** Request body: {limits.MAX_BODY_BYTES} bytes (413). Statement: \
{MAX_STATEMENT_BYTES} canonical bytes, {MAX_DISCLOSURES} disclosures (413). Batch: \
{limits.MAX_BATCH} statements (413). Entries: {limits.MAX_ENTRIES_PAGE} a page. Other lists: \
`limit` up to {limits.MAX_LIMIT} (default {limits.DEFAULT_LIMIT}), continued with the opaque \
`cursor` of `next_cursor`, in a stable order.
"""
