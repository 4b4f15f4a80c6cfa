"""The authorisation matrix: every caller against every write and every private read.

Callers: a token of an actor of every role in ``ROLES``, no token, an expired and a revoked token
(of an actor that would otherwise be allowed), and a token of an uninvolved actor. Each cell
asserts the exact status and code. The tables below are written out by hand from the rules in
``ledger.registry.access`` and ``ledger.custody.privacy``, not computed from them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from api_helpers import assert_error, payload
from auth_helpers import (
    CALLERS,
    OTHER,
    ROLE_ACTORS,
    UNAUTHENTICATED,
    Tokens,
    add_regulator,
    seed_secrets,
)
from factories import World, signer
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from ledger.bodies import ROLES
from ledger.statements import STATEMENT_TYPES, Submission

# type: (its signer in the scenario, the roles whose token may hand it in)
WRITES: dict[str, tuple[str, set[str]]] = {
    "actor.register": ("registrar", {"registrar"}),
    "actor.key.add": ("trader-a", {"trader", "registrar"}),
    "actor.key.revoke": ("trader-a", {"trader", "registrar"}),
    "site.register": ("registrar", {"registrar"}),
    "miner.register": ("coop-a", {"cooperative", "registrar"}),
    "lot.register": ("coop-a", {"cooperative"}),
    "lot.dispatch": ("coop-a", {"cooperative"}),
    "lot.receive": ("trader-a", {"trader"}),
    "lot.split": ("coop-a", {"cooperative"}),
    "lot.merge": ("coop-a", {"cooperative"}),
    "lot.process": ("smelter-a", {"processor"}),
    "lot.export": ("exporter-a", {"exporter"}),
    "attestation": ("auditor-a", {"auditor"}),
    "attestation.revoke": ("auditor-a", {"auditor"}),
    "incident": ("trader-a", {"trader"}),
    "incident.resolve": ("auditor-a", {"auditor"}),
}


def test_the_tables_cover_every_role_and_statement_type() -> None:
    assert set(ROLE_ACTORS) == ROLES
    assert set(WRITES) == STATEMENT_TYPES - {"genesis"}


def _register(world: World, lot: str = "lot-1") -> None:
    world.run(world.register_lot(lot))


def _transferred(world: World, to: str) -> None:
    _register(world)
    world.transfer("lot-1", by="coop-a", to=to)


def _key_revoke(world: World) -> Submission:
    world.run(world.add_key("trader-a", signer("trader-a/2").public_key))
    return world.revoke_key("trader-a", signer("trader-a/2").key_id)


def _merge(world: World) -> Submission:
    _register(world)
    _register(world, "lot-2")
    return world.merge(["lot-1", "lot-2"], "lot-3", by="coop-a", mass_g=200_000,
                       grade_ppm=500_000)  # fmt: skip


def _process(world: World) -> Submission:
    _transferred(world, "smelter-a")
    output = {"lot": "lot-p", "mineral": "tin", "mass_g": 50_000, "grade_ppm": 700_000}
    return world.process(["lot-1"], [output], by="smelter-a")


def _attestation_revoke(world: World) -> Submission:
    world.run(world.attest("att-1"))
    return world.revoke_attestation("att-1")


def _incident_resolve(world: World) -> Submission:
    world.run(world.report_incident("inc-1", kind="site", subject="site-a"))
    return world.resolve_incident("inc-1")


def _dispatch(world: World) -> Submission:
    _register(world)
    return world.dispatch("lot-1", by="coop-a", to="trader-a")


def _receive(world: World) -> Submission:
    world.run(_dispatch(world))
    return world.receive("lot-1", by="trader-a")


def _split(world: World) -> Submission:
    _register(world)
    return world.split("lot-1", [("lot-1a", 60_000), ("lot-1b", 40_000)], by="coop-a")


def _export(world: World) -> Submission:
    _transferred(world, "exporter-a")
    return world.export("lot-1")


# type: what makes a valid statement of that type; prerequisites are appended directly.
SCENARIOS: dict[str, Callable[[World], Submission]] = {
    "actor.register": lambda w: w.register_actor("newcomer", ["trader"]),
    "actor.key.add": lambda w: w.add_key("trader-a", signer("trader-a/2").public_key),
    "actor.key.revoke": _key_revoke,
    "site.register": lambda w: w.register_site("site-c", "coop-a"),
    "miner.register": lambda w: w.register_miner("miner-2", "coop-a", "site-a"),
    "lot.register": lambda w: w.register_lot("lot-1"),
    "lot.dispatch": _dispatch,
    "lot.receive": _receive,
    "lot.split": _split,
    "lot.merge": _merge,
    "lot.process": _process,
    "lot.export": _export,
    "attestation": lambda w: w.attest("att-1"),
    "attestation.revoke": _attestation_revoke,
    "incident": lambda w: w.report_incident("inc-1", kind="site", subject="site-a"),
    "incident.resolve": _incident_resolve,
}


def _size(client: FlaskClient) -> int:
    size: int = client.get("/v1/checkpoint?format=json").get_json()["size"]
    return size


def _expected_write(kind: str, caller: str, allowed_before: int) -> tuple[int, str | None]:
    """(status, code) of one cell; the first allowed caller appends (201), later ones find
    the same statement (200)."""
    roles = WRITES[kind][1]
    if caller in UNAUTHENTICATED:
        return 401, "unauthenticated"
    if caller in roles:
        return (201 if allowed_before == 0 else 200), None
    return 403, "token_actor_mismatch"


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_write_matrix(kind: str, seeded: World, app: Flask) -> None:
    """POST /v1/statements: the status and code of every caller, for every statement type."""
    add_regulator(seeded)
    submission = SCENARIOS[kind](seeded)
    signer_id, roles = WRITES[kind]
    assert submission.envelope.statement.actor == signer_id
    tokens, client = Tokens(app), app.test_client()
    size, allowed = _size(client), 0
    for caller in CALLERS:
        status, code = _expected_write(kind, caller, allowed)
        headers = tokens.headers(caller, owner=signer_id)
        response = client.post("/v1/statements", json=payload(submission), headers=headers)
        if code is None:
            assert response.status_code == status, (caller, response.get_json())
            allowed += 1
        else:
            body = assert_error(response, status, code)
            if status == 403:  # the message names whose token it was
                assert ROLE_ACTORS.get(caller, OTHER) in body["message"]
    assert allowed == len(roles)
    assert _size(client) == size + 1


@pytest.mark.parametrize("kind", sorted(WRITES))
def test_batch_matrix(kind: str, seeded: World, app: Flask) -> None:
    """POST /v1/statements/batch: 401 for the whole batch, else a per-item result."""
    add_regulator(seeded)
    submission = SCENARIOS[kind](seeded)
    signer_id, roles = WRITES[kind]
    tokens, client = Tokens(app), app.test_client()
    size, allowed = _size(client), 0
    for caller in CALLERS:
        status, code = _expected_write(kind, caller, allowed)
        headers = tokens.headers(caller, owner=signer_id)
        body = {"statements": [payload(submission)]}
        response = client.post("/v1/statements/batch", json=body, headers=headers)
        if status == 401:
            assert_error(response, 401, "unauthenticated")
            continue
        assert response.status_code == 200, (caller, response.get_json())
        (result,) = response.get_json()["results"]
        if code is None:
            assert result["status"] == ("accepted" if status == 201 else "duplicate"), caller
            allowed += 1
        else:
            assert result["status"] == "rejected"
            assert (result["error"]["status"], result["error"]["code"]) == (403, code), caller
    assert allowed == len(roles)
    assert _size(client) == size + 1


# -- private reads ---------------------------------------------------------------------------
# step of seed_secrets: the roles entitled to its disclosures (with auditor and regulator)
ENTRY_READERS: dict[str, set[str]] = {
    "actor": {"registrar"},  # signed by the registrar; coop-c itself has no role seat here
    "miner": {"cooperative"},
    "register": {"cooperative"},
    "dispatch1": {"cooperative", "trader"},
    "receive1": {"trader", "cooperative"},
    "dispatch2": {"trader", "exporter"},
    "receive2": {"exporter", "trader"},
    "export": {"exporter"},
    "attestation": {"auditor", "cooperative"},  # the site's cooperative
    "incident": {"trader"},  # the reporter only: never the subject (coop-a runs site-a)
}
ALWAYS = {"auditor", "regulator"}
# endpoint: {role: disclosures shown} (the rest are withheld; absent roles see none)
SCOPES: dict[str, tuple[int, dict[str, int]]] = {
    "/v1/lots/lot-1/private": (10, {"cooperative": 5, "trader": 6, "exporter": 5}),
    "/v1/actors/coop-c/private": (4, {"registrar": 4}),
    "/v1/miners/miner-9/private": (5, {"cooperative": 5}),
}


@pytest.fixture
def secrets(seeded: World, app: Flask, engine: Engine) -> dict[str, int]:
    add_regulator(seeded)
    return seed_secrets(seeded, engine)


def test_entry_and_export_matrix(secrets: dict[str, int], app: Flask) -> None:
    """GET /v1/entries/{seq}/private and .../disclosures/{digest}: 200 or 403 per caller."""
    tokens, client = Tokens(app), app.test_client()
    for step, readers in ENTRY_READERS.items():
        seq = secrets[step]
        digest = client.get(f"/v1/entries/{seq}").get_json()["statement"]["sd"][0]
        for caller in CALLERS:
            headers = tokens.headers(caller, owner="auditor-a")
            for path in (f"/v1/entries/{seq}/private", f"/v1/entries/{seq}/disclosures/{digest}"):
                response = client.get(path, headers=headers)
                if caller in UNAUTHENTICATED:
                    assert_error(response, 401, "unauthenticated")
                elif caller in readers | ALWAYS:
                    assert response.status_code == 200, (step, caller, path, response.get_json())
                else:
                    assert_error(response, 403, "not_entitled")


@pytest.mark.parametrize("path", sorted(SCOPES))
def test_scope_matrix(path: str, secrets: dict[str, int], app: Flask) -> None:
    """Lots, actors, miners: every caller sees what it may, and the count of the rest."""
    total, shown = SCOPES[path]
    tokens, client = Tokens(app), app.test_client()
    for caller in CALLERS:
        response = client.get(path, headers=tokens.headers(caller, owner="auditor-a"))
        if caller in UNAUTHENTICATED:
            assert_error(response, 401, "unauthenticated")
            continue
        body = response.get_json()
        assert response.status_code == 200, (caller, body)
        expected = total if caller in ALWAYS else shown.get(caller, 0)
        assert (len(body["disclosures"]), body["withheld"]) == (expected, total - expected), caller


def test_erase_matrix(secrets: dict[str, int], app: Flask) -> None:
    """POST /v1/miners/{id}/erase: registrars only."""
    tokens, client = Tokens(app), app.test_client()
    for caller in CALLERS:
        response = client.post(
            "/v1/miners/miner-1/erase", headers=tokens.headers(caller, "registrar")
        )
        if caller in UNAUTHENTICATED:
            assert_error(response, 401, "unauthenticated")
        elif caller == "registrar":
            assert response.status_code == 200, response.get_json()
        else:
            assert_error(response, 403, "wrong_role")
