"""Privacy smoke check: private fields submitted through the API never appear in public reads.

(The full crawl of every route and every private field comes with authorisation; this checks the
canaries of one actor, one miner and one lot against every public read endpoint.)
"""

from __future__ import annotations

import base64
from typing import Any

from factories import World
from flask.testing import FlaskClient

CANARIES = {
    "email": "canary.contact@example.org",
    "phone": "+243 999 000 111",
    "name": "Canary Miner Mwamba",
    "national_id": "CD-NID-7301-CANARY",
    "price": 7_391_113_579,
    "invoice": "INV-CANARY-4471",
}


def _strings(value: Any) -> list[str]:
    """Every JSON string in a response, and the decoded bytes of every base64 ``entry``."""
    if isinstance(value, dict):
        found = [s for v in value.values() for s in _strings(v)]
        if isinstance(value.get("entry"), str):
            found.append(base64.b64decode(value["entry"]).decode("utf-8"))
        return found
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [str(value)]


def test_private_fields_never_appear_in_public_reads(world: World, client: FlaskClient) -> None:
    world.run(world.register_actor("coop-c", ["cooperative"],
                                   private={"email": CANARIES["email"],
                                            "phone": CANARIES["phone"]}))  # fmt: skip
    world.run(world.register_miner("miner-9", "coop-a", "site-a",
                                   private={"name": CANARIES["name"],
                                            "national_id": CANARIES["national_id"]}))  # fmt: skip
    world.run(world.register_lot("lot-1", private={"price": CANARIES["price"]}))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a",
                             private={"invoice": CANARIES["invoice"]}))  # fmt: skip
    size = client.get("/v1/checkpoint?format=json").get_json()["size"]
    paths = [
        "/v1/checkpoint", "/v1/checkpoint?format=json", "/v1/operator-key",
        "/v1/actors", "/v1/actors/coop-c", "/v1/sites", "/v1/sites/site-a", "/v1/miners",
        "/v1/lots", "/v1/lots/lot-1", "/v1/lots/lot-1/history", "/v1/attestations",
        "/v1/flags", "/openapi.json",
        *(f"/v1/entries?from={start}" for start in range(0, size, 100)),
        *(f"/v1/entries/{seq}" for seq in range(size - 4, size)),
        *(f"/v1/proofs/inclusion?seq={seq}" for seq in range(size - 4, size)),
    ]  # fmt: skip
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        texts = [response.get_data(as_text=True)]
        if response.is_json:
            texts += _strings(response.get_json())
        for canary in CANARIES.values():
            assert all(str(canary) not in text for text in texts), (path, canary)
    entry = client.get(f"/v1/entries/{size - 3}").get_json()  # the miner's registration
    assert entry["statement"]["type"] == "miner.register"
    assert len(entry["statement"]["sd"]) == 2  # only the digests are public
