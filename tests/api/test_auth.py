"""API tokens on requests: 401 and its challenge, who may hand in what, and that a token never
stands in for a signature. (Every caller against every write: ``test_auth_matrix``.)"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from api_helpers import assert_error, payload
from auth_helpers import Tokens
from factories import World, signer
from flask import Flask
from flask.testing import FlaskClient

from api.limits import MAX_BATCH

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
REALM = 'Bearer realm="asm-ledger"'


@pytest.fixture
def tokens(app: Flask) -> Tokens:
    return Tokens(app)


@pytest.fixture
def anonymous(app: Flask) -> FlaskClient:
    return app.test_client()


def _size(client: FlaskClient) -> int:
    size: int = client.get("/v1/checkpoint?format=json").get_json()["size"]
    return size


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _flip_sig(item: dict[str, Any]) -> dict[str, Any]:
    sig = bytearray(base64.b64decode(item["envelope"]["sig"]))
    sig[0] ^= 1
    item["envelope"]["sig"] = base64.b64encode(bytes(sig)).decode()
    return item


@pytest.mark.parametrize("path", ["/v1/statements", "/v1/statements/batch"])
def test_a_write_without_a_token_is_401_with_a_challenge(
    seeded: World, anonymous: FlaskClient, path: str
) -> None:
    size = _size(anonymous)
    item = payload(seeded.register_lot("lot-1"))
    body = {"statements": [item]} if path.endswith("batch") else item
    response = anonymous.post(path, json=body)
    assert_error(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == REALM
    assert _size(anonymous) == size


@pytest.mark.parametrize(
    "header",
    ["Bearer asml_" + "A" * 43, "Bearer nonsense", "Basic Y29vcC1hOnB3", "Bearer", "Bearer  ",
     "asml_" + "A" * 43],
)  # fmt: skip
def test_a_bad_token_is_401_invalid_token(anonymous: FlaskClient, header: str) -> None:
    response = anonymous.get("/v1/lots/lot-1/private", headers={"Authorization": header})
    body = assert_error(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == REALM + ', error="invalid_token"'
    assert "AAAAAAAA" not in body["message"] and "nonsense" not in body["message"]


def test_the_token_is_checked_before_the_body(anonymous: FlaskClient) -> None:
    """No parsing for strangers: malformed JSON without a token is 401, not 400."""
    data = '{"envelope": NaN'
    response = anonymous.post("/v1/statements", data=data, content_type="application/json")
    assert_error(response, 401, "unauthenticated")


def test_expired_and_revoked_tokens_say_so(
    seeded: World, anonymous: FlaskClient, tokens: Tokens
) -> None:
    item = payload(seeded.register_lot("lot-1"))
    for kind in ("expired", "revoked"):
        response = anonymous.post(
            "/v1/statements", json=item, headers=_auth(tokens.token("coop-a", kind))
        )
        assert kind in assert_error(response, 401, "unauthenticated")["message"]
    response = anonymous.post("/v1/statements", json=item, headers=_auth(tokens.token("coop-a")))
    assert response.status_code == 201


def test_the_signers_token_is_needed(seeded: World, anonymous: FlaskClient, tokens: Tokens) -> None:
    item = payload(seeded.register_lot("lot-1"))
    response = anonymous.post("/v1/statements", json=item, headers=_auth(tokens.token("coop-b")))
    body = assert_error(response, 403, "token_actor_mismatch")
    assert "coop-b" in body["message"] and "coop-a" in body["message"]
    assert anonymous.get("/v1/lots/lot-1").status_code == 404


def test_a_registrar_relays_what_a_cooperative_signed(
    seeded: World, anonymous: FlaskClient, tokens: Tokens
) -> None:
    """Onboarding in the field: the cooperative signs on its device, the registrar uploads."""
    miner = payload(seeded.register_miner("miner-2", "coop-a", "site-a", private={"name": "X"}))
    registrar = _auth(tokens.token("registrar"))
    assert anonymous.post("/v1/statements", json=miner, headers=registrar).status_code == 201
    lot = payload(seeded.register_lot("lot-1"))
    response = anonymous.post("/v1/statements", json=lot, headers=registrar)
    assert_error(response, 403, "token_actor_mismatch")


def test_a_token_never_makes_a_bad_signature_acceptable(
    seeded: World, anonymous: FlaskClient, tokens: Tokens
) -> None:
    size = _size(anonymous)
    coop = _auth(tokens.token("coop-a"))
    tampered = _flip_sig(payload(seeded.register_lot("lot-1")))
    response = anonymous.post("/v1/statements", json=tampered, headers=coop)
    assert_error(response, 422, "bad_signature")
    relayed = _flip_sig(payload(seeded.register_miner("miner-2", "coop-a", "site-a")))
    response = anonymous.post(
        "/v1/statements", json=relayed, headers=_auth(tokens.token("registrar"))
    )
    assert_error(response, 422, "bad_signature")
    assert _size(anonymous) == size


def test_a_stolen_token_does_not_let_its_thief_sign_for_its_owner(
    seeded: World, anonymous: FlaskClient, tokens: Tokens
) -> None:
    """coop-b holds coop-a's token and signs 'as coop-a' with its own key: the key decides."""
    forged = seeded.author("coop-a")
    forged.signer = signer("coop-b")
    item = payload(seeded.register_lot("lot-1"))
    response = anonymous.post("/v1/statements", json=item, headers=_auth(tokens.token("coop-a")))
    assert_error(response, 422, "key_actor_mismatch")
    assert anonymous.get("/v1/lots/lot-1").status_code == 404


def test_a_batch_rejects_what_the_token_may_not_hand_in_in_place(
    seeded: World, anonymous: FlaskClient, tokens: Tokens
) -> None:
    seeded.run(seeded.register_lot("lot-9"))
    items = [
        payload(seeded.register_lot("lot-1")),
        payload(seeded.dispatch("lot-9", by="coop-a", to="trader-a")),
        payload(seeded.attest("att-1")),  # the auditor's
        {"envelope": {"statement": 1, "sig": ""}},  # malformed: the parser's 400
        payload(seeded.register_lot("lot-2")),
    ]
    size = _size(anonymous)
    response = anonymous.post(
        "/v1/statements/batch", json={"statements": items}, headers=_auth(tokens.token("coop-a"))
    )
    assert response.status_code == 200
    results = response.get_json()["results"]
    statuses = ["accepted", "accepted", "rejected", "rejected", "accepted"]
    assert [(r["index"], r["status"]) for r in results] == list(enumerate(statuses))
    assert (results[2]["error"]["status"], results[2]["error"]["code"]) == (
        403,
        "token_actor_mismatch",
    )
    assert (results[3]["error"]["status"], results[3]["error"]["code"]) == (400, "invalid")
    assert [r["seq"] for r in results if r["seq"] is not None] == [size, size + 1, size + 2]
    assert _size(anonymous) == size + 3


def test_a_batch_of_only_refused_items_writes_nothing(
    seeded: World, anonymous: FlaskClient, tokens: Tokens
) -> None:
    items = [payload(seeded.register_lot("lot-1"))]
    size = _size(anonymous)
    response = anonymous.post(
        "/v1/statements/batch", json={"statements": items}, headers=_auth(tokens.token("trader-a"))
    )
    body = response.get_json()
    assert [r["status"] for r in body["results"]] == ["rejected"] and body["checkpoint"] is None
    assert _size(anonymous) == size


def test_the_batch_limit_counts_refused_items(
    seeded: World, anonymous: FlaskClient, tokens: Tokens
) -> None:
    mine = payload(seeded.register_lot("lot-1"))
    theirs = payload(seeded.attest("att-1"))
    body = {"statements": [mine] + [theirs] * MAX_BATCH}
    response = anonymous.post(
        "/v1/statements/batch", json=body, headers=_auth(tokens.token("coop-a"))
    )
    assert_error(response, 413, "too_large")


def test_public_reads_need_no_token(seeded: World, anonymous: FlaskClient) -> None:
    for path in (
        "/v1/lots",
        "/v1/actors/coop-a",
        "/v1/checkpoint",
        "/v1/entries/0",
        "/openapi.json",
    ):
        assert anonymous.get(path).status_code == 200, path
        assert anonymous.get(path, headers={"Authorization": "Bearer junk"}).status_code == 200


@SQLITE_ONLY
def test_the_openapi_document_says_which_routes_need_a_token(anonymous: FlaskClient) -> None:
    doc = anonymous.get("/openapi.json").get_json()
    scheme = doc["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    secured = {
        (path, method)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict) and operation.get("security") == [{"bearerAuth": []}]
    }
    assert secured == {
        ("/v1/statements", "post"),
        ("/v1/statements/batch", "post"),
        ("/v1/entries/{seq}/private", "get"),
        ("/v1/lots/{lot_id}/private", "get"),
        ("/v1/actors/{actor_id}/private", "get"),
        ("/v1/miners/{miner_id}/private", "get"),
        ("/v1/entries/{seq}/disclosures/{digest}", "get"),
        ("/v1/miners/{miner_id}/erase", "post"),
        ("/v1/grievances", "get"),
        ("/v1/grievances/{grievance_id}", "get"),
        ("/v1/grievances/{grievance_id}/incident", "post"),
    }
    for path, method in secured:
        assert "401" in doc["paths"][path][method]["responses"], path
    submit = doc["paths"]["/v1/statements"]["post"]["description"]
    assert "registrar's token" in submit and "miner.register" in submit
