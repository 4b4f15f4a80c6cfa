"""Lots (filters, cursor paging, detail, history), attestations and flags."""

from __future__ import annotations

import base64

import pytest
from api_helpers import assert_error
from factories import World
from flask.testing import FlaskClient
from test_api_registry import collect

from ledger import merkle


@pytest.fixture
def lots(world: World) -> World:
    """lot-1..lot-3 tin at site-a (coop-a), lot-4 gold at site-b (coop-b); lot-2 at trader-a."""
    for lot in ("lot-1", "lot-2", "lot-3"):
        world.run(world.register_lot(lot))
    world.run(world.register_lot("lot-4", by="coop-b", site="site-b", mineral="gold",
                                 mass_g=2_000, grade_ppm=800_000))  # fmt: skip
    world.transfer("lot-2", by="coop-a", to="trader-a")
    return world


def ids(client: FlaskClient, query: str) -> list[str]:
    return [lot["id"] for lot in collect(client, f"/v1/lots{query}", limit=2)]


def test_lots_are_filtered_and_paged(lots: World, client: FlaskClient) -> None:
    assert ids(client, "") == ["lot-1", "lot-2", "lot-3", "lot-4"]
    assert ids(client, "?site=site-a") == ["lot-1", "lot-2", "lot-3"]
    assert ids(client, "?site=site-b") == ["lot-4"]
    assert ids(client, "?site=site_a") == []  # no LIKE wildcard: "_" is only "_"
    assert ids(client, "?mineral=gold") == ["lot-4"]
    assert ids(client, "?custodian=trader-a") == ["lot-2"]
    assert ids(client, "?status=held&mineral=tin") == ["lot-1", "lot-2", "lot-3"]
    assert ids(client, "?status=in_transit") == []
    assert ids(client, "?site=site-a&custodian=coop-a") == ["lot-1", "lot-3"]
    assert_error(client.get("/v1/lots?mineral=unobtainium"), 400, "invalid")
    assert_error(client.get("/v1/lots?status=lost"), 400, "invalid")
    assert_error(client.get("/v1/lots?custodian=a%00b"), 400, "invalid")


def test_a_cursor_is_opaque_and_checked(lots: World, client: FlaskClient) -> None:
    first = client.get("/v1/lots?limit=1").get_json()
    second = client.get(f"/v1/lots?limit=1&cursor={first['next_cursor']}").get_json()
    assert [lot["id"] for lot in second["items"]] == ["lot-2"]
    forged = base64.urlsafe_b64encode(b'["1 OR 1=1", "x"]').decode().rstrip("=")
    for cursor in ("%%%", "bm90IGpzb24", forged, "WzFd", "W3RydWUsIngiXQ"):
        body = assert_error(client.get(f"/v1/lots?cursor={cursor}"), 400, "bad_cursor")
        assert "cursor" in body["errors"]["query"]


def test_a_lot_with_its_head_and_links(lots: World, client: FlaskClient) -> None:
    lots.run(lots.split("lot-1", [("lot-1a", 60_000), ("lot-1b", 40_000)], by="coop-a"))
    lot = client.get("/v1/lots/lot-1").get_json()
    assert (lot["status"], lot["mass_g"], lot["origins"]) == ("consumed", 100_000, ["site-a"])
    assert bytes.fromhex(lot["head"]["leaf_hash"]) == lots.head("lot:lot-1")
    assert [c["lot"] for c in lot["children"]] == ["lot-1a", "lot-1b"]
    child = client.get("/v1/lots/lot-1a").get_json()
    assert [p["lot"] for p in child["parents"]] == ["lot-1"]
    assert child["parents"][0]["seq"] == lot["head"]["seq"]
    assert (child["custodian"], child["origins"], child["tags"]) == (
        "coop-a", ["site-a"], ["T-lot-1a"])  # fmt: skip
    assert_error(client.get("/v1/lots/lot-404"), 404, "unknown_lot")


def test_a_lot_history_reaches_back_through_its_parents(lots: World, client: FlaskClient) -> None:
    lots.run(lots.split("lot-2", [("lot-2a", 50_000), ("lot-2b", 50_000)], by="trader-a"))
    history = client.get("/v1/lots/lot-2a/history").get_json()
    assert history["lot"] == "lot-2a"
    assert [p["lot"] for p in history["parents"]] == ["lot-2"]
    types = [e["statement"]["type"] for e in history["entries"]]
    assert types == ["lot.register", "lot.dispatch", "lot.receive", "lot.split"]
    seqs = [e["seq"] for e in history["entries"]]
    assert seqs == sorted(seqs)
    for entry in history["entries"]:
        assert merkle.leaf_hash(base64.b64decode(entry["entry"])).hex() == entry["leaf_hash"]
    assert_error(client.get("/v1/lots/lot-404/history"), 404, "unknown_lot")


def test_attestations_are_filtered(lots: World, client: FlaskClient) -> None:
    lots.run(lots.attest("att-1", claim="child_labour_free", subject="site-a"))
    lots.run(lots.attest("att-2", claim="site.inspection", subject="site-b", result="yellow",
                         by="inspector-a"))  # fmt: skip
    lots.run(lots.attest("att-3", claim="assay", kind="lot", subject="lot-4", result="80% Au"))
    lots.run(lots.revoke_attestation("att-1"))
    found = collect(client, "/v1/attestations", limit=2)
    assert [a["id"] for a in found] == ["att-1", "att-2", "att-3"]
    assert found[0]["status"] == "revoked" and found[1]["status"] == "active"
    assert found[2]["subject"] == {"kind": "lot", "id": "lot-4"}

    def query(q: str) -> list[str]:
        return [a["id"] for a in client.get(f"/v1/attestations?{q}").get_json()["items"]]

    assert query("subject_kind=site") == ["att-1", "att-2"]
    assert query("subject_kind=site&subject_id=site-b") == ["att-2"]
    assert query("claim=assay") == ["att-3"]
    assert query("attestor=inspector-a") == ["att-2"]
    assert_error(client.get("/v1/attestations?claim=nice"), 400, "invalid")


def test_flags_of_a_mass_discrepancy(lots: World, client: FlaskClient) -> None:
    lots.run(lots.dispatch("lot-3", by="coop-a", to="trader-b"))
    lots.run(lots.receive("lot-3", by="trader-b", mass_g=50_000))
    flags = client.get("/v1/flags").get_json()["items"]
    assert [(f["code"], f["subject"], f["severity"]) for f in flags] == [
        ("mass_discrepancy", "lot:lot-3", "warning")
    ]
    assert (
        client.get("/v1/flags?subject=lot:lot-3&code=mass_discrepancy").get_json()["items"] == flags
    )
    assert client.get("/v1/flags?subject=lot:lot-1").get_json()["items"] == []
    assert_error(client.get("/v1/flags?subject=lot-3"), 400, "invalid")
