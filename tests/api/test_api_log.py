"""The log's read routes: checkpoint, operator key, entries, proofs."""

from __future__ import annotations

import base64

import pytest
from api_helpers import assert_error, operator_key, verified_checkpoint
from factories import World
from flask.testing import FlaskClient

from ledger import entries, merkle
from ledger.checkpoint import verify_checkpoint


def test_checkpoint_as_signed_note_and_as_json(world: World, client: FlaskClient) -> None:
    text = client.get("/v1/checkpoint")
    assert text.status_code == 200
    assert text.mimetype == "text/plain"
    key = operator_key(client)
    checkpoint = verify_checkpoint(text.get_data(as_text=True), key, key.name)
    as_json = client.get("/v1/checkpoint?format=json").get_json()
    assert as_json["note"] == text.get_data(as_text=True)
    assert verified_checkpoint(client, as_json) == checkpoint
    assert as_json["origin"] == world.origin
    assert_error(client.get("/v1/checkpoint?format=xml"), 400, "invalid")


def test_operator_key_is_the_genesis_key(world: World, client: FlaskClient) -> None:
    body = client.get("/v1/operator-key").get_json()
    key = operator_key(client)
    assert body["origin"] == key.name == world.origin
    assert base64.b64decode(body["public_key"]) == world.authors["operator"].signer.public_key
    assert body["key_id"] == key.key_id.hex()


def test_an_entry_is_its_exact_bytes_and_what_they_say(world: World, client: FlaskClient) -> None:
    body = client.get("/v1/entries/1").get_json()
    data = base64.b64decode(body["entry"])
    entry = entries.decode(data)
    assert bytes.fromhex(body["leaf_hash"]) == merkle.leaf_hash(data) == entry.leaf_hash
    assert body["statement"] == entry.statement.to_json()
    assert body["statement"]["type"] == "actor.register"
    assert (body["seq"], body["logged"]) == (1, entry.logged)
    assert bytes.fromhex(body["prev"]) == merkle.leaf_hash(
        base64.b64decode(client.get("/v1/entries/0").get_json()["entry"])
    )
    assert client.get("/v1/entries/0").get_json()["prev"] is None
    assert_error(client.get("/v1/entries/999"), 404, "no_entry")
    assert_error(client.get("/v1/entries/-1"), 404, "not_found")


def test_entries_are_paged(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import api.queries.log

    monkeypatch.setattr(api.queries.log, "MAX_ENTRIES_PAGE", 5)
    size = client.get("/v1/checkpoint?format=json").get_json()["size"]  # 14
    seen, start = [], 0
    while start is not None:
        page = client.get(f"/v1/entries?from={start}").get_json()
        assert len(page["entries"]) <= 5
        seen += [e["seq"] for e in page["entries"]]
        start = page["next"]
    assert seen == list(range(size))
    page = client.get("/v1/entries?from=3&to=6").get_json()
    assert ([e["seq"] for e in page["entries"]], page["next"]) == ([3, 4, 5], None)
    assert client.get(f"/v1/entries?from={size + 5}").get_json() == {"entries": [], "next": None}
    body = assert_error(client.get("/v1/entries?from=6&to=3"), 400, "invalid")
    assert "to" in body["errors"]["query"]
    assert_error(client.get("/v1/entries?from=-1"), 400, "invalid")


def test_inclusion_proofs_verify(world: World, client: FlaskClient) -> None:
    checkpoint = client.get("/v1/checkpoint?format=json").get_json()
    size = checkpoint["size"]
    for seq, tree in ((0, None), (5, None), (5, 9), (size - 1, size)):
        query = f"seq={seq}" + (f"&size={tree}" if tree else "")
        proof = client.get(f"/v1/proofs/inclusion?{query}").get_json()
        assert set(proof) == {"seq", "tree_size", "leaf_hash", "root", "proof"}
        assert proof["tree_size"] == (tree or size)
        merkle.verify_inclusion(
            bytes.fromhex(proof["leaf_hash"]),
            seq,
            proof["tree_size"],
            [bytes.fromhex(h) for h in proof["proof"]],
            bytes.fromhex(proof["root"]),
        )
    assert proof["root"] == checkpoint["root"]
    assert_error(client.get(f"/v1/proofs/inclusion?seq={size}"), 404, "no_entry")
    assert_error(client.get("/v1/proofs/inclusion?seq=1&size=999"), 404, "no_size")
    body = assert_error(client.get("/v1/proofs/inclusion"), 400, "invalid")
    assert "seq" in body["errors"]["query"]


def test_consistency_proofs_verify(world: World, client: FlaskClient) -> None:
    proof = client.get("/v1/proofs/consistency?old=3&new=11").get_json()
    assert set(proof) == {"old", "new", "old_root", "new_root", "proof"}
    merkle.verify_consistency(
        3,
        11,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(proof["old_root"]),
        bytes.fromhex(proof["new_root"]),
    )
    assert_error(client.get("/v1/proofs/consistency?old=9&new=3"), 400, "invalid")
    assert_error(client.get("/v1/proofs/consistency?old=3&new=999"), 404, "no_size")
    assert_error(client.get("/v1/proofs/consistency?old=0&new=3"), 400, "invalid")
