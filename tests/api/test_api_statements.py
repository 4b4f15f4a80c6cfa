"""POST /v1/statements: a proof, not a promise; and every way a submission is refused."""

from __future__ import annotations

import base64
import json

import pytest
from api_helpers import (
    assert_error,
    bearer,
    payload,
    post,
    verified_checkpoint,
    verify_inclusion,
)
from factories import World
from flask.testing import FlaskClient

from ledger.errors import ProofError
from ledger.statements import MAX_STATEMENT_BYTES


def _size(client: FlaskClient) -> int:
    size: int = client.get("/v1/checkpoint?format=json").get_json()["size"]
    return size


def test_accepted_statement_comes_with_a_proof_against_a_signed_checkpoint(
    world: World, client: FlaskClient
) -> None:
    submission = world.register_lot("lot-1")
    response = post(client, submission)
    assert response.status_code == 201
    receipt = response.get_json()
    statement = submission.envelope.statement
    assert receipt["status"] == "accepted"
    assert (receipt["type"], receipt["actor"]) == ("lot.register", "coop-a")
    assert (receipt["key"], receipt["n"]) == (statement.key, statement.n)
    assert response.headers["Location"] == f"/v1/entries/{receipt['seq']}"
    checkpoint = verified_checkpoint(client, receipt["checkpoint"])
    assert checkpoint.size == receipt["inclusion"]["tree_size"] > receipt["seq"]
    assert receipt["inclusion"]["leaf_hash"] == receipt["leaf_hash"]
    verify_inclusion(receipt["inclusion"], checkpoint)
    entry = client.get(response.headers["Location"]).get_json()
    assert entry["leaf_hash"] == receipt["leaf_hash"]
    assert entry["statement"] == statement.to_json()


def test_a_tampered_proof_does_not_verify(world: World, client: FlaskClient) -> None:
    receipt = post(client, world.register_lot("lot-1")).get_json()
    checkpoint = verified_checkpoint(client, receipt["checkpoint"])
    proof = receipt["inclusion"]
    flipped = bytes.fromhex(proof["proof"][0])
    proof["proof"][0] = (bytes([flipped[0] ^ 1]) + flipped[1:]).hex()
    with pytest.raises(ProofError, match="inclusion proof"):
        verify_inclusion(proof, checkpoint)


def test_resubmission_returns_the_same_entry_with_200(world: World, client: FlaskClient) -> None:
    submission = world.register_lot("lot-1")
    first = post(client, submission).get_json()
    again = post(client, submission)
    assert again.status_code == 200
    body = again.get_json()
    assert body["status"] == "duplicate"
    assert (body["seq"], body["leaf_hash"]) == (first["seq"], first["leaf_hash"])
    verify_inclusion(body["inclusion"], verified_checkpoint(client, body["checkpoint"]))
    assert _size(client) == first["seq"] + 1


def test_malformed_json_is_400_and_writes_nothing(world: World, client: FlaskClient) -> None:
    size = _size(client)
    for data in ("{not json", '{"envelope": {}, "envelope": {}}', '{"envelope": NaN}'):
        response = client.post("/v1/statements", data=data, content_type="application/json")
        assert_error(response, 400, "malformed_json")
    assert _size(client) == size


def test_a_body_that_is_not_json_is_415(world: World, client: FlaskClient) -> None:
    body = json.dumps(payload(world.register_lot("lot-1")))
    response = client.post("/v1/statements", data=body, content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_the_outer_shape_is_checked_by_the_schema(client: FlaskClient) -> None:
    body = assert_error(client.post("/v1/statements", json={"disclosures": 3}), 400, "invalid")
    assert set(body["errors"]["json"]) == {"envelope", "disclosures"}
    body = assert_error(client.post("/v1/statements", json={"envelope": {}, "extra": 1}), 400)
    assert "extra" in body["errors"]["json"]


def test_an_invalid_envelope_is_400_with_the_field(world: World, client: FlaskClient) -> None:
    submission = world.register_lot("lot-1")
    cases = {
        "statement.n": lambda s: s.update(n=0),
        "statement.time": lambda s: s.update(time="yesterday"),
        "statement.type": lambda s: s.update(type="lot.teleport"),
    }
    for field, spoil in cases.items():
        envelope = submission.envelope.to_json()
        spoil(envelope["statement"])
        response = client.post("/v1/statements", json={"envelope": envelope})
        body = assert_error(response, 400, "invalid")
        assert field in body["errors"]["json"], body
    envelope = submission.envelope.to_json()
    envelope["sig"] = "not base64!"
    body = assert_error(client.post("/v1/statements", json={"envelope": envelope}), 400)
    assert "sig" in body["errors"]["json"]


def test_a_bad_signature_is_422(world: World, client: FlaskClient) -> None:
    envelope = payload(world.register_lot("lot-1"))["envelope"]
    sig = bytearray(base64.b64decode(envelope["sig"]))
    sig[0] ^= 1
    envelope["sig"] = base64.b64encode(bytes(sig)).decode()
    size = _size(client)
    assert_error(client.post("/v1/statements", json={"envelope": envelope}), 422, "bad_signature")
    assert _size(client) == size


def test_a_statement_over_the_size_limit_is_413(world: World, client: FlaskClient) -> None:
    # Statement.from_json checks fields before size: make an otherwise valid statement too big.
    envelope = payload(world.register_lot("lot-1"))["envelope"]
    envelope["statement"]["body"]["padding"] = "x" * MAX_STATEMENT_BYTES
    response = client.post("/v1/statements", json={"envelope": envelope})
    assert_error(response, 413, "too_large")


def test_a_body_over_the_request_limit_is_413(client: FlaskClient) -> None:
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    data = b'{"envelope": "' + b"x" * limit + b'"}'
    response = client.post("/v1/statements", data=data, content_type="application/json")
    body = assert_error(response, 413, "too_large")
    assert str(limit) in body["message"]


def test_a_stale_after_is_409_and_writes_nothing(world: World, client: FlaskClient) -> None:
    world.run(world.register_lot("lot-1"))
    registered = world.head("lot:lot-1")
    world.transfer("lot-1", by="coop-a", to="trader-a")  # the head moves on twice
    stale = world.sign(
        "trader-a",
        "lot.dispatch",
        {"lot": "lot-1", "to": "trader-b", "mass_g": 100_000, "tags": ["T-lot-1"]},
        after={"lot:lot-1": registered},
    )
    size = _size(client)
    assert_error(post(client, stale), 409, "stale_after")
    assert _size(client) == size


def test_a_double_spend_is_409(world: World, client: FlaskClient) -> None:
    """Two dispatches of one lot, both made against the same head: only the first lands."""
    world.run(world.register_lot("lot-1"))
    to_a = world.dispatch("lot-1", by="coop-a", to="trader-a")
    to_b = world.dispatch("lot-1", by="coop-a", to="trader-b")
    assert post(client, to_a).status_code == 201
    assert_error(post(client, to_b), 409, "stale_after")
    lot = client.get("/v1/lots/lot-1").get_json()
    assert (lot["status"], lot["addressee"]) == ("in_transit", "trader-a")


def test_equivocation_is_409(world: World, client: FlaskClient) -> None:
    first = world.register_lot("lot-1")
    world.author("coop-a").n -= 1  # sign a different statement under the same counter
    second = world.register_lot("lot-2")
    seq = post(client, first).get_json()["seq"]
    body = assert_error(post(client, second), 409, "equivocation")
    assert str(seq) in body["message"]
    assert client.get("/v1/lots/lot-2").status_code == 404


def test_a_signer_without_the_relation_is_403(world: World, client: FlaskClient) -> None:
    submission = world.register_lot("lot-1", by="coop-b", site="site-a")
    assert_error(post(client, submission), 403, "site_not_operated")


def test_an_unknown_lot_is_404(world: World, client: FlaskClient) -> None:
    submission = world.dispatch("lot-nowhere", by="coop-a", to="trader-a", mass_g=1)
    body = assert_error(post(client, submission), 404)
    assert body["code"].startswith("unknown_")


def test_a_broken_rule_is_422_with_the_rule_code(world: World, client: FlaskClient) -> None:
    world.run(world.register_lot("lot-1", mass_g=100_000))
    submission = world.dispatch("lot-1", by="coop-a", to="trader-a", mass_g=90_000)
    size = _size(client)
    assert_error(post(client, submission), 422, "mass_mismatch")
    assert _size(client) == size


def test_receipts_are_proven_from_their_own_round_without_reading_the_tree(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An accepted statement's proof comes from its own transaction's tree; only a duplicate
    (in the log before this request) has its proof read from storage."""
    from api import state

    with client.application.app_context():
        ledger = state.ledger()
    reads: list[list[int]] = []
    original = ledger.inclusion_proofs

    def counted(seqs: list[int], size: int) -> list[list[bytes]]:
        reads.append(list(seqs))
        return original(seqs, size)

    monkeypatch.setattr(ledger, "inclusion_proofs", counted)
    submission = world.register_lot("lot-own")
    receipt = post(client, submission).get_json()
    verify_inclusion(receipt["inclusion"], verified_checkpoint(client, receipt["checkpoint"]))
    batch = [world.register_lot(f"lot-own-{i}") for i in range(3)]
    body = {"statements": [payload(s) for s in [*batch, submission]]}
    headers = bearer(client.application, "coop-a")
    answer = client.post("/v1/statements/batch", json=body, headers=headers).get_json()
    checkpoint = verified_checkpoint(client, answer["checkpoint"])
    for item in answer["results"]:
        verify_inclusion(item["inclusion"], checkpoint)
    assert [item["status"] for item in answer["results"]] == ["accepted"] * 3 + ["duplicate"]
    assert reads == [[receipt["seq"]]]  # the duplicate only
