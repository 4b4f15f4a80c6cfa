"""Fixtures of the API tests: a seeded ledger on each engine, the app on it, its test client.

The ledger is seeded (genesis, the standard cast, two sites, a miner: ``World.populate``)
through a :class:`Ledger` before the app starts, because the app's start-up check needs a
genesis and a signed checkpoint; from then on the ``world`` submits through the HTTP API, each
statement with an API token of its signer.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import api_submitter, app_config, bearer
from factories import World
from flask import Flask
from flask.testing import FlaskClient
from ledgers import make_ledger, submitter
from sqlalchemy import Engine

from api import create_app, dispose


@pytest.fixture
def seeded(engine: Engine) -> World:
    world = World(submit=submitter(make_ledger(engine)))
    world.populate()
    return world


@pytest.fixture
def app(db_url: str, seeded: World) -> Iterator[Flask]:
    app = create_app(app_config(db_url))
    yield app
    dispose(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client that sends coop-a's API token unless a request names another."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(app, "coop-a")["Authorization"]
    return client


@pytest.fixture
def world(seeded: World, client: FlaskClient) -> World:
    """The seeded world, now submitting through ``POST /v1/statements``."""
    seeded.submit = api_submitter(client)
    return seeded
