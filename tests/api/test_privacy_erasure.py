"""Erasure over the API: a miner's personal data goes; the log, its audit and every public view
stay exactly as they were, and the entitled are told the fields were erased."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import operator_key
from auth_helpers import CANARIES, Tokens, seed_secrets
from crawl import public_snapshot
from factories import World
from flask import Flask
from sqlalchemy import Engine

from ledger.custody.audit import audit
from ledger.custody.privacy import verify_disclosure_export
from ledger.errors import ValidationError

PERSONAL = CANARIES["miner.register"]


def _private(app: Flask, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = app.test_client().get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_erasure_leaves_the_log_and_public_views_unchanged(
    world: World, engine: Engine, app: Flask
) -> None:
    seqs = seed_secrets(world, engine)
    tokens = Tokens(app)
    registrar = tokens.headers("registrar", owner="registrar")
    coop = tokens.headers("cooperative", owner="coop-a")
    before = _private(app, "/v1/miners/miner-9/private", coop)
    assert {d["name"]: d["disclosure"][2] for d in before["disclosures"]} == PERSONAL
    public = public_snapshot(app)

    response = app.test_client().post("/v1/miners/miner-9/erase", headers=registrar)
    assert response.status_code == 200, response.get_json()
    erasure = response.get_json()
    assert (erasure["miner"], erasure["seq"]) == ("miner-9", seqs["miner"])
    assert sorted(erasure["erased"]) == sorted(d["digest"] for d in before["disclosures"])

    assert public_snapshot(app) == public
    assert audit(engine, workers=1).clean
    after = _private(app, "/v1/miners/miner-9/private", coop)
    assert [(d["digest"], d["name"]) for d in after["disclosures"]] == [
        (d["digest"], d["name"]) for d in before["disclosures"]
    ]
    assert all(
        d["disclosure"] is None and d["erased"] == erasure["time"] for d in after["disclosures"]
    )
    entry = _private(app, f"/v1/entries/{seqs['miner']}/private", coop)
    assert entry["disclosures"] == after["disclosures"]
    again = app.test_client().post("/v1/miners/miner-9/erase", headers=registrar)
    assert again.get_json()["erased"] == []


def test_other_private_data_is_untouched(world: World, engine: Engine, app: Flask) -> None:
    seed_secrets(world, engine)
    auditor = Tokens(app).headers("auditor", owner="auditor-a")
    lot = _private(app, "/v1/lots/lot-1/private", auditor)
    app.test_client().post("/v1/miners/miner-9/erase",
                           headers=Tokens(app).headers("registrar", owner="registrar"))  # fmt: skip
    assert _private(app, "/v1/lots/lot-1/private", auditor) == lot
    assert len(_private(app, "/v1/actors/coop-c/private", auditor)["disclosures"]) == 4


def test_an_erased_field_exports_as_erased(world: World, engine: Engine, app: Flask) -> None:
    seed_secrets(world, engine)
    tokens = Tokens(app)
    miner = _private(app, "/v1/miners/miner-9/private", tokens.headers("auditor", "x"))
    app.test_client().post("/v1/miners/miner-9/erase",
                           headers=tokens.headers("registrar", owner="registrar"))  # fmt: skip
    seq, digest = miner["disclosures"][0]["seq"], miner["disclosures"][0]["digest"]
    export = _private(
        app, f"/v1/entries/{seq}/disclosures/{digest}", tokens.headers("auditor", "x")
    )
    assert export["disclosure"] is None and export["erased"] is not None
    key = operator_key(app.test_client())
    with pytest.raises(ValidationError, match="erased"):
        verify_disclosure_export(export, key)
