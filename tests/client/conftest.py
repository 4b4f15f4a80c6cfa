"""Fixtures of the client tests: a seeded ledger on each engine, the app on it, reached through
httpx's WSGI transport (in-process, no sockets) behind a breakable :class:`Faulty` network, and
clients with their own journals and API tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from client_helpers import URL, Faulty
from factories import ORIGIN, World, signer
from flask import Flask
from ledgers import DATA_KEY, make_ledger, submitter
from sqlalchemy import Engine

from api import create_app, dispose
from ledger.checkpoint import VerifierKey
from ledger.client import Client, Journal
from ledger.client.server import payload
from ledger.registry import tokens
from ledger.sealing import Sealer
from ledger.statements import Submission


@pytest.fixture
def seeded(engine: Engine) -> World:
    world = World(submit=submitter(make_ledger(engine)))
    world.populate()
    return world


@pytest.fixture
def app(db_url: str, seeded: World) -> Iterator[Flask]:
    app = create_app(
        {
            "DATABASE_URL": db_url,
            "TESTING": True,
            "OPERATOR_SIGNER": signer("operator"),
            "SEALER": Sealer(DATA_KEY),
        }
    )
    yield app
    dispose(app)


@pytest.fixture
def world(seeded: World, app: Flask, token_for: Callable[[str], str]) -> World:
    """The seeded world, now submitting through the API as any other writer would."""
    web = app.test_client()

    def submit(submission: Submission) -> bytes:
        token = token_for(submission.envelope.statement.actor)
        response = web.post(
            "/v1/statements",
            json=payload(submission),
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code in (200, 201), response.get_json()
        return bytes.fromhex(response.get_json()["leaf_hash"])

    seeded.submit = submit
    return seeded


@pytest.fixture
def network(app: Flask) -> Faulty:
    """The network between the clients and the app: in-process, and breakable."""
    return Faulty(httpx.WSGITransport(app=app))


@pytest.fixture
def operator_key() -> VerifierKey:
    """The operator key the tests trust, computed from the test seed (not asked of the server)."""
    return VerifierKey.from_public_key(ORIGIN, signer("operator").public_key)


@pytest.fixture
def token_for(engine: Engine) -> Callable[[str], str]:
    """An API token for an actor (one per actor), issued by the ledger's token service."""
    issued: dict[str, str] = {}

    def issue(actor: str) -> str:
        if actor not in issued:
            issued[actor], _info = tokens.issue(engine, actor)
        return issued[actor]

    return issue


MakeClient = Callable[..., Client]


@pytest.fixture
def make_client(
    tmp_path: Path,
    network: Faulty,
    operator_key: VerifierKey,
    token_for: Callable[[str], str],
) -> Iterator[MakeClient]:
    """``make_client(actor, journal=None, **options)``: a client signing as ``actor``."""
    made: list[tuple[Client, Journal]] = []

    def make(actor: str, *, journal: Journal | None = None, **options: Any) -> Client:
        journal = journal or Journal.open(tmp_path / f"{actor}-{len(made)}.journal")
        options.setdefault("transport", network)
        options.setdefault("verifier_key", operator_key)
        options.setdefault("token", token_for(actor))
        options.setdefault("signer", signer(actor))
        client = Client(URL, actor=actor, journal=journal, **options)
        made.append((client, journal))
        return client

    yield make
    for client, journal in made:
        client.close()
        journal.close()
