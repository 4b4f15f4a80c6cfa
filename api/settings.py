"""The API's configuration, keys and start-up checks.

Settings come from the same environment as the CLI (:class:`ledger.config.Settings`); a mapping
passed to ``create_app`` overrides them. The keys come from the keystore
(``LEDGER_KEYS_DIR``, unlocked with ``LEDGER_KEY_PASSPHRASE``) unless passed as objects
(``OPERATOR_SIGNER``, ``SEALER``); they are handed to the :class:`Ledger` and never stored in the
Flask config. Outside ``TESTING`` a missing key is fatal: the server fails closed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from api.docs import ASSETS_URL, description
from api.limits import MAX_BODY_BYTES
from api.state import Service
from ledger.cli import OPERATOR_KEY
from ledger.config import Settings
from ledger.crypto import Signer
from ledger.custody.log import Ledger
from ledger.db import make_engine
from ledger.errors import ConfigError, LedgerError
from ledger.keystore import Keystore
from ledger.sealing import Sealer

_ENV_NAMES = ("DATABASE_URL", "LEDGER_KEYS_DIR", "LEDGER_KEY_PASSPHRASE", "LEDGER_PUBLIC_URL")
_KEY_OBJECTS = ("OPERATOR_SIGNER", "SEALER")

DEFAULTS: dict[str, Any] = {
    "API_TITLE": "ASM custody ledger",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "/docs",
    "OPENAPI_SWAGGER_UI_URL": ASSETS_URL,  # served from the swagger-ui-bundle package
    # validatorUrl: Swagger UI would otherwise send the document to validator.swagger.io
    "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
    "MAX_CONTENT_LENGTH": MAX_BODY_BYTES,
    "TESTING": False,
}


def settings_from(overrides: Mapping[str, Any]) -> Settings:
    """:class:`Settings` from the environment, with string overrides by variable name."""
    env = {**os.environ, **{k: overrides[k] for k in _ENV_NAMES if overrides.get(k) is not None}}
    return Settings.from_env(env)


def flask_config(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The Flask config: defaults, then overrides. The settings read through
    :class:`Settings` (the database URL may hold a password) and the keys stay out of it."""
    kept = {k: v for k, v in overrides.items() if k not in (*_ENV_NAMES, *_KEY_OBJECTS)}
    # PUBLIC_URL: where the QR codes point (None: the host each request came to)
    public = {"PUBLIC_URL": settings_from(overrides).public_url}
    info = {"info": {"description": description()}}
    return {**DEFAULTS, "API_SPEC_OPTIONS": info, **public, **kept}


def open_service(config: Mapping[str, Any], overrides: Mapping[str, Any]) -> Service:
    """Load the keys, build the one engine and Ledger of this process, and check the ledger."""
    settings = settings_from(overrides)
    testing = bool(config.get("TESTING"))
    operator, sealer = load_keys(settings, overrides, testing=testing)
    engine = make_engine(settings.database_url)
    service = Service(engine, Ledger(engine, operator=operator, sealer=sealer))
    try:
        check_startup(service.ledger, settings)
    except BaseException:
        service.close()
        raise
    return service


def load_keys(
    settings: Settings, overrides: Mapping[str, Any], *, testing: bool
) -> tuple[Signer | None, Sealer | None]:
    """The operator signer and the data key: given, from the keystore, or (tests) absent."""
    operator: Signer | None = overrides.get("OPERATOR_SIGNER")
    sealer: Sealer | None = overrides.get("SEALER")
    if testing or (operator is not None and sealer is not None):
        return operator, sealer
    keystore = Keystore(settings.keys_dir, settings.passphrase)
    try:
        operator = operator or keystore.load(OPERATOR_KEY)
        sealer = sealer or keystore.sealer()
    except LedgerError as exc:
        raise ConfigError(
            f"the server needs the operator key and the data key to run: {exc.message} "
            "Run `ledger init` first and set LEDGER_KEY_PASSPHRASE.",
            code="no_operator_key",
        ) from exc
    return operator, sealer


def check_startup(ledger: Ledger, settings: Settings) -> None:
    """Refuse to serve a ledger that is missing, or whose tree differs from its checkpoint."""
    try:
        ledger.origin()
        ledger.check_startup()
    except DBAPIError as exc:
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        raise ConfigError(
            f"cannot read a ledger at {url}: check DATABASE_URL, then run `ledger init`.",
            code="no_database",
        ) from exc
