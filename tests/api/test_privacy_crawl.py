"""The privacy crawl: a canary in every private field, then every route an outsider can reach.

Every private field of every statement type (``PRIVATE_FIELDS``: contact data, miners' personal
data, prices, miner lists, invoices, attestation reports) is submitted through the API with a
distinctive value. Then the crawler (:mod:`crawl`) requests every route of the app: with the
real ids and missing ones, every filter, following pages, bad input (400), no or a bad token
(401), a token of an actor entitled to nothing (403 and empty private lists), wrong methods
(405), the OpenAPI document and the docs. No canary may appear in any body or header, and
nothing may fail with a 5xx.
"""

from __future__ import annotations

from collections import Counter

import pytest
from api_helpers import payload
from auth_helpers import OTHER, Tokens, canary_texts, seed_secrets
from crawl import GRIEVANCE_IDS, Seen, crawl
from factories import World
from flask import Flask
from sqlalchemy import Engine

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
# An anonymous grievance's text: private like a disclosure, though it is not in the log.
GRIEVANCE_CANARY = "CANARY-GRIEVANCE-TEXT-e41b"


def _assert_clean(seen: list[Seen]) -> None:
    canaries = [*canary_texts(), GRIEVANCE_CANARY]
    for response in seen:
        assert response.status < 500, (response.method, response.url, response.body[:300])
        for text in response.texts():
            leaked = [c for c in canaries if c in text]
            assert not leaked, (response.method, response.url, response.status, leaked)


@pytest.fixture
def seeded_secrets(world: World, engine: Engine, app: Flask) -> dict[str, int]:
    """The canaries, submitted through the API (``world`` posts with its signers' tokens)."""
    found = seed_secrets(world, engine)
    report = {"site": "site-a", "category": "other", "text": GRIEVANCE_CANARY}
    response = app.test_client().post("/v1/grievances", json=report)
    assert response.status_code == 201, response.get_json()
    app.extensions[GRIEVANCE_IDS] = [response.get_json()["id"]]
    return found


def test_the_canaries_are_stored_and_readable_by_the_entitled(
    seeded_secrets: dict[str, int], app: Flask
) -> None:
    """The crawl below can fail: the canaries are there for those who may read them."""
    headers = Tokens(app).headers("auditor", owner="auditor-a")
    client = app.test_client()
    texts = "".join(
        client.get(f"/v1/entries/{seq}/private", headers=headers).get_data(as_text=True)
        for seq in seeded_secrets.values()
    )
    assert all(canary in texts for canary in canary_texts())
    (grievance,) = app.extensions[GRIEVANCE_IDS]
    shown = client.get(f"/v1/grievances/{grievance}", headers=headers).get_data(as_text=True)
    assert GRIEVANCE_CANARY in shown


@pytest.mark.parametrize("who", ["anonymous", "bad token", "uninvolved actor"])
def test_no_canary_reaches_an_outsider(
    who: str, seeded_secrets: dict[str, int], app: Flask, seeded: World
) -> None:
    tokens = Tokens(app)
    headers = {
        "anonymous": {},
        "bad token": {"Authorization": "Bearer asml_" + "B" * 43},
        "uninvolved actor": {"Authorization": f"Bearer {tokens.token(OTHER)}"},
    }[who]
    seen = crawl(app, headers)
    _assert_clean(seen)
    statuses = Counter(response.status for response in seen)
    expected = {200, 400, 404, 405} | ({403} if who == "uninvolved actor" else {401})
    assert expected <= set(statuses), statuses
    # a write the outsider may not make, carrying a statement of the seeded chain
    client = app.test_client()
    body = payload(seeded.register_lot("lot-x"))
    response = client.post("/v1/statements", json=body, headers=headers)
    assert response.status_code in (401, 403)
    _assert_clean([Seen("POST", "/v1/statements", response.status_code, response.data, ())])


@SQLITE_ONLY
def test_the_crawl_reaches_every_route(seeded_secrets: dict[str, int], app: Flask) -> None:
    seen = crawl(app)
    reached = {app.url_map.bind("localhost").match(s.url.split("?")[0], s.method)[0]
               for s in seen if s.status not in (404, 405)}  # fmt: skip
    every = {rule.endpoint for rule in app.url_map.iter_rules()} - {"static"}
    assert every <= reached, every - reached
