"""The application factory: configuration, keys, fail-closed start-up, one ledger per app."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_helpers import api_submitter, app_config, assert_error, bearer, payload
from factories import World, seed
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from api import create_app, dispose, state
from ledger.errors import ConfigError, IntegrityError
from ledger.keystore import Keystore

PASSPHRASE = "a passphrase for the api tests"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_it_fails_closed_without_the_operator_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_KEY_PASSPHRASE", raising=False)
    config = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "LEDGER_KEYS_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="operator key") as caught:
        create_app(config)
    assert caught.value.code == "no_operator_key"
    Keystore(tmp_path, PASSPHRASE).create("operator")
    with pytest.raises(ConfigError, match="LEDGER_KEY_PASSPHRASE"):  # no data key either
        create_app({**config, "LEDGER_KEY_PASSPHRASE": PASSPHRASE})


@SQLITE_ONLY
def test_it_loads_its_keys_from_the_keystore(
    db_url: str, seeded: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keystore = Keystore(tmp_path / "keys", PASSPHRASE)
    keystore.create("operator", seed=seed("operator"))
    keystore.sealer(create=True)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("LEDGER_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("LEDGER_KEY_PASSPHRASE", PASSPHRASE)
    app = create_app()
    try:
        assert not app.testing
        assert PASSPHRASE not in repr(dict(app.config))
        assert "DATABASE_URL" not in app.config  # read through Settings; it may hold a password
        seeded.submit = api_submitter(app.test_client())
        seeded.run(seeded.register_lot("lot-1", private={"price": 10}))
    finally:
        dispose(app)


def test_it_refuses_a_database_without_a_ledger(db_url: str) -> None:
    with pytest.raises(ConfigError, match="ledger init") as caught:
        create_app(app_config(db_url))
    assert caught.value.code == "no_genesis"


def test_it_refuses_a_missing_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nowhere' / 'ledger.db'}"
    with pytest.raises(ConfigError, match="DATABASE_URL") as caught:
        create_app(app_config(url))
    assert caught.value.code == "no_database"


def test_it_refuses_a_tree_that_differs_from_its_checkpoint(
    db_url: str, seeded: World, engine: Engine
) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE log_head SET root = :root"), {"root": b"\x00" * 32})
    with pytest.raises(IntegrityError, match="root"):
        create_app(app_config(db_url))


@SQLITE_ONLY
def test_without_an_operator_key_a_test_app_only_reads(
    db_url: str, seeded: World, engine: Engine
) -> None:
    app = create_app(app_config(db_url, OPERATOR_SIGNER=None))
    try:
        client = app.test_client()
        body = payload(seeded.register_lot("lot-1"))
        response = client.post("/v1/statements", json=body, headers=bearer(app, "coop-a"))
        assert_error(response, 503, "config")
        assert client.get("/v1/lots/lot-1").status_code == 404
        assert client.get("/v1/checkpoint").status_code == 200
    finally:
        dispose(app)


@SQLITE_ONLY
def test_one_ledger_per_app_and_a_connection_per_request(app: Flask, client: FlaskClient) -> None:
    service = app.extensions[state.EXTENSION]
    with app.test_request_context():
        assert state.ledger() is service.ledger
        assert state.connection() is state.connection()
    assert client.get("/v1/lots").status_code == 200
    assert client.get("/v1/lots").status_code == 200
    assert service.engine.pool.checkedout() == 0  # every request's connection went back
