"""POST /v1/statements/batch: in order, one result each, the accepted committed, one checkpoint."""

from __future__ import annotations

import base64

from api_helpers import assert_error, payload, post, verified_checkpoint, verify_inclusion
from factories import World
from flask.testing import FlaskClient

from api.limits import MAX_BATCH
from ledger.custody.log import MAX_BATCH as LEDGER_MAX_BATCH


def _size(client: FlaskClient) -> int:
    size: int = client.get("/v1/checkpoint?format=json").get_json()["size"]
    return size


def _bad_signature(item: dict) -> dict:  # type: ignore[type-arg]
    sig = bytearray(base64.b64decode(item["envelope"]["sig"]))
    sig[-1] ^= 1
    item["envelope"]["sig"] = base64.b64encode(bytes(sig)).decode()
    return item


def test_a_mixed_batch_commits_the_accepted_and_reports_the_rest(
    world: World, client: FlaskClient
) -> None:
    earlier = world.register_lot("lot-0")
    post(client, earlier)
    unparseable = payload(world.register_lot("lot-x"))
    unparseable["envelope"]["statement"]["n"] = -1
    items = [
        payload(world.register_lot("lot-1")),
        _bad_signature(payload(world.register_lot("lot-2"))),
        payload(earlier),
        unparseable,
        payload(world.register_lot("lot-3", tags=["T-lot-1"])),  # tag already used by lot-1
        payload(world.register_lot("lot-4")),
    ]
    size = _size(client)
    response = client.post("/v1/statements/batch", json={"statements": items})
    assert response.status_code == 200
    body = response.get_json()
    statuses = [(r["index"], r["status"]) for r in body["results"]]
    assert statuses == [(0, "accepted"), (1, "rejected"), (2, "duplicate"), (3, "rejected"),
                        (4, "rejected"), (5, "accepted")]  # fmt: skip
    codes = {r["index"]: r["error"]["code"] for r in body["results"] if r["error"]}
    assert codes == {1: "bad_signature", 3: "invalid", 4: "tag_reused"}
    assert {r["index"]: r["error"]["status"] for r in body["results"] if r["error"]} == {
        1: 422, 3: 400, 4: 409}  # fmt: skip
    checkpoint = verified_checkpoint(client, body["checkpoint"])
    assert checkpoint.size == size + 2
    for result in body["results"]:
        if result["status"] != "rejected":
            verify_inclusion(result["inclusion"], checkpoint)
    for lot, status in (("lot-1", 200), ("lot-4", 200), ("lot-2", 404), ("lot-3", 404)):
        assert client.get(f"/v1/lots/{lot}").status_code == status


def test_a_rejected_batch_item_leaves_no_trace(world: World, client: FlaskClient) -> None:
    items = [_bad_signature(payload(world.register_lot("lot-1")))]
    size = _size(client)
    body = client.post("/v1/statements/batch", json={"statements": items}).get_json()
    assert [r["status"] for r in body["results"]] == ["rejected"]
    assert body["checkpoint"] is None
    assert _size(client) == size


def test_a_batch_over_the_limit_is_413_and_writes_nothing(
    world: World, client: FlaskClient
) -> None:
    assert MAX_BATCH <= LEDGER_MAX_BATCH
    item = payload(world.register_lot("lot-1"))
    size = _size(client)
    response = client.post("/v1/statements/batch", json={"statements": [item] * (MAX_BATCH + 1)})
    assert_error(response, 413, "too_large")
    assert _size(client) == size


def test_a_batch_of_the_wrong_shape_is_400(client: FlaskClient) -> None:
    for body in ({"statements": []}, {"statements": [{"disclosures": []}]}, {}, {"x": 1}):
        assert_error(client.post("/v1/statements/batch", json=body), 400, "invalid")
    response = client.post("/v1/statements/batch", json={"statements": [{}, {"envelope": 1}]})
    errors = assert_error(response, 400, "invalid")["errors"]["json"]["statements"]
    assert set(errors) == {"0", "1"}  # per item, keyed by its index
    assert "envelope" in errors["0"] and "envelope" in errors["1"]
