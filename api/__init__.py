"""The ledger's HTTP API: a Flask application factory over the :class:`~ledger.custody.log.Ledger`.

``create_app(config=None)`` builds everything at call time (nothing at import): settings from the
environment (``DATABASE_URL``, ``LEDGER_KEYS_DIR``, ``LEDGER_KEY_PASSPHRASE``, see
:mod:`ledger.config`), one engine and one :class:`Ledger` for the process, the flask-smorest
``Api`` with its OpenAPI document at ``/openapi.json`` and offline interactive docs at ``/docs``,
the error handlers and the ``/v1`` blueprints.

The server fails closed: without the operator key (and the data key) it refuses to start unless
``TESTING`` is set, and it refuses to serve a ledger whose stored tree does not match its latest
signed checkpoint (:meth:`Ledger.check_startup`).

Writes and private reads need a per-actor API token (:mod:`api.auth`); private fields are read
and erased through :mod:`api.views.private`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from api import docs, errors, state, views
from api.blueprint import Api
from api.settings import flask_config, open_service
from api.state import EXTENSION, dispose
from api.views import pages

__all__ = ["create_app", "dispose"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application.

    Args:
        config: overrides for tests and embedding: any Flask or flask-smorest setting, the
            settings of :mod:`ledger.config` by their environment names (``DATABASE_URL``,
            ``LEDGER_KEYS_DIR``, ``LEDGER_KEY_PASSPHRASE``), ``TESTING``, and the keys as
            objects (``OPERATOR_SIGNER``, ``SEALER``) instead of the keystore.

    Raises:
        ConfigError: a key is missing or locked (outside tests), or the database has no ledger.
        IntegrityError: the stored tree does not match the latest checkpoint.
    """
    overrides = dict(config or {})
    app = Flask(__name__)
    app.config.from_mapping(flask_config(overrides))
    app.extensions[EXTENSION] = open_service(app.config, overrides)
    try:
        state.init_app(app)
        api = Api(app)
        errors.register(app)
        docs.register(app)
        views.register(api)
        app.register_blueprint(pages.blp)  # the public pages: HTML, outside the OpenAPI document
    except BaseException:
        dispose(app)
        raise
    return app
