"""Public registry reads: actors with keys, sites, miners; filters and cursor paging."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import assert_error
from factories import CAST, World, signer
from flask.testing import FlaskClient

from api.queries import registry as registry_queries
from api.views import provenance as provenance_view


def collect(client: FlaskClient, path: str, limit: int) -> list[dict[str, Any]]:
    """Every item of a list, following ``next_cursor`` page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    separator = "&" if "?" in path else "?"
    while True:
        query = f"{path}{separator}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        page = client.get(query).get_json()
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_actors_are_listed_in_registration_order_across_pages(
    world: World, client: FlaskClient
) -> None:
    actors = collect(client, "/v1/actors", limit=3)
    assert [a["id"] for a in actors] == ["operator", "registrar", *CAST]
    assert collect(client, "/v1/actors", limit=200) == actors
    assert all(set(a) == {"id", "name", "roles", "country", "registered_seq", "keys"}
               for a in actors)  # fmt: skip
    assert [a["id"] for a in collect(client, "/v1/actors?country=ZZ", limit=5)] == ["operator"]
    assert collect(client, "/v1/actors?country=FR", limit=5) == []
    assert_error(client.get("/v1/actors?limit=0"), 400, "invalid")
    assert_error(client.get("/v1/actors?limit=201"), 400, "invalid")
    assert_error(client.get("/v1/actors?country=cd"), 400, "invalid")


def test_an_actor_with_its_keys_and_their_status(world: World, client: FlaskClient) -> None:
    old, new = signer("trader-a"), signer("trader-a-2")
    world.run(world.add_key("trader-a", new.public_key))
    world.run(world.revoke_key("trader-a", old.key_id))
    actor = client.get("/v1/actors/trader-a").get_json()
    assert (actor["name"], actor["roles"], actor["country"]) == (
        "trader-a (test)",
        ["trader"],
        "CD",
    )
    keys = {k["key_id"]: k for k in actor["keys"]}
    assert keys[old.key_id]["status"] == "revoked"
    assert keys[old.key_id]["revoked_seq"] is not None
    assert keys[new.key_id]["status"] == "active"
    assert keys[new.key_id]["revoked_seq"] is None
    assert_error(client.get("/v1/actors/nobody"), 404, "unknown_actor")
    assert_error(client.get("/v1/actors/bad%00id"), 404, "unknown_actor")


def test_sites_list_filter_and_detail(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(provenance_view, "today", lambda: "2026-02-01")
    sites = collect(client, "/v1/sites", limit=1)
    assert [(s["id"], s["status"]) for s in sites] == [("site-a", "green"), ("site-b", "yellow")]
    yellow = client.get("/v1/sites?inspection_status=yellow").get_json()["items"]
    assert [s["id"] for s in yellow] == ["site-b"]
    world.run(world.inspect("insp-red", "red", site="site-a"))
    red = client.get("/v1/sites?status=red").get_json()["items"]
    assert [(s["id"], s["status"], s["inspection_status"]) for s in red] == [
        ("site-a", "red", "green"),  # today's status; the one its registration recorded
    ]
    assert client.get("/v1/sites?inspection_status=red").get_json()["items"] == []
    assert [s["id"] for s in collect(client, "/v1/sites?status=yellow", limit=1)] == ["site-b"]
    world.run(world.inspect("insp-b", "green", site="site-b", valid_until="2026-06-30"))
    world.run(world.register_site("site-c", "coop-b"))  # recorded green at registration
    statuses = {s["id"]: s["status"] for s in collect(client, "/v1/sites", limit=2)}
    assert statuses == {"site-a": "red", "site-b": "green", "site-c": "green"}
    # No entry in between: the date alone turns site-b blue (lapsed) and site-c (green >1 year)
    monkeypatch.setattr(provenance_view, "today", lambda: "2027-06-01")
    monkeypatch.setattr(registry_queries, "_SITE_CHUNK", 1)  # reads of 2 rows: several a page
    blue = collect(client, "/v1/sites?status=blue", limit=1)
    assert [(s["id"], s["status"]) for s in blue] == [("site-b", "blue"), ("site-c", "blue")]
    assert collect(client, "/v1/sites?status=green", limit=1) == []
    assert client.get("/v1/sites/site-c").get_json()["status"] == "blue"
    monkeypatch.setattr(provenance_view, "today", lambda: "2026-02-01")
    sites = collect(client, "/v1/sites", limit=1)
    by_coop = client.get("/v1/sites?cooperative=coop-a&country=CD").get_json()["items"]
    assert [s["id"] for s in by_coop] == ["site-a"]
    site = client.get("/v1/sites/site-a").get_json()
    assert site == sites[0]
    assert site["location"] == {"lat_e6": -2_500_000, "lon_e6": 28_860_000}
    assert site["licence"] == {"number": "PE-site-a", "expires": "2030-12-31"}
    assert_error(client.get("/v1/sites/site-z"), 404, "unknown_site")
    assert_error(client.get("/v1/sites?inspection_status=purple"), 400, "invalid")
    assert_error(client.get("/v1/sites?status=purple"), 400, "invalid")


def test_miners_are_public_only_as_pseudonyms(world: World, client: FlaskClient) -> None:
    world.run(world.register_miner("miner-2", "coop-b", "site-b"))
    miners = client.get("/v1/miners").get_json()["items"]
    assert miners == [
        {"id": "miner-1", "cooperative": "coop-a", "site": "site-a"},
        {"id": "miner-2", "cooperative": "coop-b", "site": "site-b"},
    ]
    assert [m["id"] for m in client.get("/v1/miners?site=site-b").get_json()["items"]] == [
        "miner-2"
    ]
    assert client.get("/v1/miners?cooperative=coop-a").get_json()["items"] == miners[:1]
    assert_error(client.get("/v1/miners/miner-1"), 404, "not_found")
    assert_error(client.get("/v1/miners?site=a%00b"), 400, "invalid")
