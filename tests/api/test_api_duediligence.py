"""Site status and its history, incidents, a lot's taint: public reads; incident details private."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import assert_error, bearer
from factories import World, signer
from flask.testing import FlaskClient
from test_api_registry import collect

from api.views import provenance as provenance_view

CANARY = "canary-incident-details-4bd1"


def test_site_status_today_and_as_recorded(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The status is given on today's date (a lapse or age turns it blue without any entry),
    beside the status the ledger last evaluated and its history."""
    day = ["2026-02-01"]
    monkeypatch.setattr(provenance_view, "today", lambda: day[0])

    def status() -> dict[str, Any]:
        response = client.get("/v1/sites/site-a/status")
        assert response.status_code == 200
        return response.get_json()

    body = status()
    assert (body["site"], body["status"], body["reason"], body["basis"], body["as_of"]) == (
        "site-a", "green", "registration", None, "2026-02-01",
    )  # fmt: skip
    assert body["recorded"]["status"] == "green"
    assert [c["reason"] for c in body["history"]] == ["registered"]
    world.run(world.inspect("insp-1", "yellow", valid_until="2026-06-30"))
    body = status()
    assert (body["status"], body["reason"], body["basis"], body["date"], body["valid_until"]) == (
        "yellow", "inspection", "insp-1", "2026-01-10", "2026-06-30",
    )  # fmt: skip
    day[0] = "2026-07-15"  # the inspection has lapsed; no entry has concerned the site since
    body = status()
    assert (body["status"], body["reason"], body["basis"]) == ("blue", "lapsed", "insp-1")
    assert (body["recorded"]["status"], body["recorded"]["basis"]) == ("yellow", "insp-1")
    world.run(world.inspect("insp-2", "red"))
    body = status()
    assert (body["status"], body["reason"], body["basis"]) == ("red", "inspection", "insp-2")
    assert [(c["status"], c["basis"]) for c in body["history"]] == [
        ("green", None),
        ("yellow", "insp-1"),
        ("red", "insp-2"),
    ]
    assert body["recorded"]["seq"] == body["history"][-1]["seq"]
    assert_error(client.get("/v1/sites/no-such-site/status"), 404, "unknown_site")
    assert_error(client.get("/v1/sites/bad%20id!/status"), 404, "unknown_site")


def _incident(world: World) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.register_lot("lot-2"))
    world.transfer("lot-1", by="coop-a", to="trader-a")
    world.run(world.split("lot-1", [("lot-1a", 50_000), ("lot-1b", 50_000)], by="trader-a"))
    world.run(
        world.report_incident(
            "inc-1",
            subject="lot-1",
            category="bribery_fraudulent_origin",
            summary="tags sold at the market",
            private={"details": CANARY, "witnesses": ["W. " + CANARY]},
        )
    )
    world.run(world.report_incident("inc-2", kind="site", subject="site-b", severity="low"))


def test_incidents_are_listed_filtered_and_shown(world: World, client: FlaskClient) -> None:
    _incident(world)
    listed = collect(client, "/v1/incidents", limit=1)
    assert [i["id"] for i in listed] == ["inc-1", "inc-2"]
    first = listed[0]
    assert first["subject"] == {"kind": "lot", "id": "lot-1"}
    assert (first["category"], first["severity"], first["reporter"], first["status"]) == (
        "bribery_fraudulent_origin",
        "high",
        "trader-a",
        "open",
    )
    assert "details" not in first and "summary" not in first
    ids = [i["id"] for i in collect(client, "/v1/incidents?subject_kind=site", limit=5)]
    assert ids == ["inc-2"]
    ids = [i["id"] for i in collect(client, "/v1/incidents?category=money_laundering", limit=5)]
    assert ids == []
    world.run(world.resolve_incident("inc-2", by="registrar"))
    assert [i["id"] for i in collect(client, "/v1/incidents?resolved=true", limit=5)] == ["inc-2"]
    assert [i["id"] for i in collect(client, "/v1/incidents?resolved=false", limit=5)] == ["inc-1"]
    shown = client.get("/v1/incidents/inc-2").get_json()
    assert (shown["status"], shown["resolved_by"]) == ("resolved", "registrar")
    assert_error(client.get("/v1/incidents/inc-9"), 404, "unknown_incident")
    assert_error(client.get("/v1/incidents?category=gossip"), 400, "invalid")


def test_lot_taint(world: World, client: FlaskClient) -> None:
    _incident(world)
    for lot in ("lot-1", "lot-1a", "lot-1b"):
        body = client.get(f"/v1/lots/{lot}/taint").get_json()
        assert body["tainted"] is True and [i["id"] for i in body["incidents"]] == ["inc-1"]
    assert client.get("/v1/lots/lot-2/taint").get_json() == {
        "lot": "lot-2",
        "tainted": False,
        "incidents": [],
    }
    world.run(world.resolve_incident("inc-1"))
    assert client.get("/v1/lots/lot-1a/taint").get_json()["tainted"] is False
    assert_error(client.get("/v1/lots/no-such-lot/taint"), 404, "unknown_lot")


def test_no_public_read_shows_the_details(world: World, client: FlaskClient) -> None:
    _incident(world)
    for path in ("/v1/incidents", "/v1/incidents/inc-1", "/v1/lots/lot-1a/taint",
                 "/v1/flags", "/v1/entries/17"):  # fmt: skip
        assert CANARY not in client.get(path).get_data(as_text=True), path


def test_details_are_for_the_reporter_and_auditors_only(world: World, client: FlaskClient) -> None:
    _incident(world)
    incident = next(
        seq for seq in range(40) if client.get(f"/v1/entries/{seq}").get_json()
        .get("statement", {}).get("body", {}).get("id") == "inc-1"
    )  # fmt: skip
    path = f"/v1/entries/{incident}/private"
    for reader in ("trader-a", "auditor-a"):
        body = client.get(path, headers=bearer(client.application, reader)).get_data(as_text=True)
        assert CANARY in body, reader
    for outsider in ("coop-a", "inspector-a", "registrar"):
        response = client.get(path, headers=bearer(client.application, outsider))
        assert_error(response, 403, "not_entitled")


def test_flags_of_a_lot_never_received_and_of_a_backdated_revocation(
    world: World, client: FlaskClient
) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))  # 2026-01-15, never received
    late = world.register_lot("lot-2").envelope.statement.body
    world.run(world.sign("coop-a", "lot.register", late, time="2026-03-01T09:00:00Z"))
    body = {"actor": "coop-a", "key": signer("coop-a").key_id,
            "effective": "2026-01-01T00:00:00Z", "reason": "stolen"}  # fmt: skip
    world.run(world.sign("registrar", "actor.key.revoke", body))
    overdue = collect(client, "/v1/flags?code=transit_overdue", limit=10)
    assert [(f["subject"], f["severity"]) for f in overdue] == [("lot:lot-1", "warning")]
    assert "had not been received by 2026-03-01" in overdue[0]["message"]
    revoked = collect(client, "/v1/flags?subject=actor:coop-a", limit=10)
    assert [(f["code"], f["severity"]) for f in revoked] == [("key_revoked_backdated", "critical")]
