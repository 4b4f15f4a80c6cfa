"""Due diligence on the buyer's side, both engines: ``ledger audit`` passes on the demo; the
public account and page show each origin site's derived status (red, yellow, green, blue by age,
lapsed or never inspected) with the inspection it rests on, its date and its history, the taint
that keeps a lot from export, and statements signed with a key revoked before they were signed.
Everything is read from the verified bundle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from factories import World, signer
from flask.testing import FlaskClient
from ledgers import make_ledger, submitter
from prov_helpers import app_config
from provenance_text import page_text, section
from sqlalchemy import Engine

from api import create_app, dispose
from api.views import provenance as provenance_view
from ledger.cli import main
from ledger.custody.bundles import verified_bundle
from ledger.custody.log import Ledger
from ledger.custody.public_view import describe
from ledger.demo import (
    CLEARED_LOT,
    OPEN_INCIDENT,
    RED_SITE,
    RESOLVED_INCIDENT,
    SHOWCASE_LOT,
    TAINTED_LOT,
    DemoSummary,
)

AFTER_THE_DEMO = "2026-02-15"  # the demo ends on 2026-02-07; its inspections are all in force


@pytest.fixture
def after_the_demo(monkeypatch: pytest.MonkeyPatch) -> str:
    """Pin the account's "today": the page's statuses depend on the day they are read."""
    monkeypatch.setattr(provenance_view, "today", lambda: AFTER_THE_DEMO)
    return AFTER_THE_DEMO


def test_ledger_audit_passes_on_the_demo(demo: tuple[Ledger, DemoSummary], db_url: str) -> None:
    demo[0].latest_checkpoint()
    env = {"DATABASE_URL": db_url}
    result = CliRunner().invoke(main, ["audit", "--json"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert '"clean": true' in result.output
    assert f'"size": {demo[1].statements + 1}' in result.output


# -- the demo's tainted lot and its red site -------------------------------------------------
def test_the_tainted_lot_s_account(web: FlaskClient, after_the_demo: str) -> None:
    body = web.get(f"/v1/lots/{TAINTED_LOT}/provenance").get_json()
    assert body["verified"] is True
    assert body["lot"]["status"] == "held" and body["lot"]["tainted_by"] == [OPEN_INCIDENT]
    (site,) = body["sites"]
    status = site["status"]
    assert site["id"] == RED_SITE and site["inspection"] == "red"
    assert (status["status"], status["reason"], status["basis"]) == (
        "red", "inspection", "insp-lukigi-2602",
    )  # fmt: skip
    red = next(a for a in body["attestations"] if a["id"] == "insp-lukigi-2602")
    assert status["date"] == red["fields"]["date"] == red["valid_from"]
    assert status["inspection"]["fields"]["agency"].startswith("Joint Mine Site Inspection")
    history = [(h["status"], h["basis"]) for h in status["history"]]
    assert history == [("green", None), ("green", "insp-lukigi-2601"), ("red", "insp-lukigi-2602")]
    assert all(h["date"] for h in status["history"])
    registered = [s for s in body["timeline"] if s["type"] == "lot.register"]
    assert len(registered) == 3 and {s["site_status"] for s in registered} == {"green"}
    kinds = [(a["kind"], a["level"]) for a in body["alerts"]]
    assert kinds[0] == ("tainted", "red")
    assert ("site_red", "red") in kinds and ("incident", "red") in kinds
    (incident,) = body["incidents"]
    assert incident["id"] == OPEN_INCIDENT and incident["open"] is True


def test_the_tainted_lot_s_page_in_both_languages(web: FlaskClient, after_the_demo: str) -> None:
    english = page_text(web, f"/p/{TAINTED_LOT}")
    alerts = section(english, "Warnings", "Origin mine sites")
    assert alerts.startswith(f"Lot {TAINTED_LOT} cannot be exported: it is tainted by open "
                             f"incident {OPEN_INCIDENT} upstream.")  # fmt: skip
    assert "Site Lukigi is RED (inspection insp-lukigi-2602 of 2026-" in alerts
    assert "): lots from it are refused." in alerts
    assert f"Export blocked by open incident {OPEN_INCIDENT}" in english
    sites = section(english, "Origin mine sites", "Custody timeline")
    assert "Inspection status: RED — inspection insp-lukigi-2602 of" in sites
    assert "History: 2026-" in sites and "green (insp-lukigi-2601) → 2026-" in sites
    french = page_text(web, f"/p/{TAINTED_LOT}?lang=fr")
    alerts = section(french, "Avertissements", "Sites miniers d'origine")
    assert alerts.startswith(f"Le lot {TAINTED_LOT} ne peut pas être exporté")
    assert "Le site Lukigi est ROUGE (inspection insp-lukigi-2602 du 2026-" in alerts
    assert f"bloquée par l'incident ouvert {OPEN_INCIDENT}" in french
    assert "Statut d'inspection: ROUGE — inspection insp-lukigi-2602 du" in french


def test_the_red_site_is_shown_as_a_red_block(web: FlaskClient, after_the_demo: str) -> None:
    html = web.get(f"/p/{TAINTED_LOT}").get_data(as_text=True)
    assert f'<li class="red" id="site-{RED_SITE}">' in html
    assert '<dd class="red" id="tainted">' in html


def test_the_cleared_lot_shows_its_resolved_incident_and_no_taint(
    web: FlaskClient, after_the_demo: str
) -> None:
    body = web.get(f"/v1/lots/{CLEARED_LOT}/provenance").get_json()
    assert body["lot"]["status"] == "exported" and body["lot"]["tainted_by"] == []
    (incident,) = body["incidents"]
    assert incident["id"] == RESOLVED_INCIDENT and incident["open"] is False
    assert {a["kind"] for a in body["alerts"]} & {"tainted", "incident"} == set()
    tainted = [f for f in body["flags"] if f["code"] == "tainted"]
    assert {f["subject"] for f in tainted} == {"lot:GTR-TA-002", f"lot:{CLEARED_LOT}"}
    assert body["timeline"][-1]["type"] == "lot.export"


def test_the_showcase_lot_is_clean(web: FlaskClient, after_the_demo: str) -> None:
    body = web.get(f"/v1/lots/{SHOWCASE_LOT}/provenance").get_json()
    assert body["lot"]["tainted_by"] == [] and body["flags"] == [] and body["incidents"] == []
    assert body["revoked_key_signatures"] == []  # the stolen key signed nothing after the theft
    statuses = {s["id"]: (s["status"]["status"], s["status"]["reason"]) for s in body["sites"]}
    assert statuses == {"site-nyarusange": ("green", "inspection"),
                        "site-gatare": ("green", "inspection")}  # fmt: skip
    assert not [a for a in body["alerts"] if a["kind"].startswith("site_")]


def test_a_lapsed_inspection_is_blue_on_the_day_it_is_read(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(provenance_view, "today", lambda: "2026-08-01")
    body = web.get(f"/v1/lots/{SHOWCASE_LOT}/provenance").get_json()
    gatare = next(s for s in body["sites"] if s["id"] == "site-gatare")
    inspection = next(a for a in body["attestations"] if a["id"] == "insp-gatare-2601")
    assert inspection["valid_until"] < "2026-08-01"
    assert (gatare["status"]["status"], gatare["status"]["reason"]) == ("blue", "lapsed")
    assert gatare["status"]["valid_until"] == inspection["valid_until"]
    alert = next(a for a in body["alerts"] if a["kind"] == "site_blue" and a["site"] == "Gatare")
    assert alert["level"] == "amber" and alert["reason"] == "lapsed"
    text = page_text(web, f"/p/{SHOWCASE_LOT}")
    since, until = inspection["valid_from"], inspection["valid_until"]
    expected = f"Site Gatare is blue (inspection insp-gatare-2601 of {since} lapsed on {until})"
    assert f"{expected}: it needs a new inspection." in text
    # each expired attestation is named, so that two of one claim about one site read apart
    expired = [a for a in body["attestations"] if a["status"] == "expired"]
    assert len({a["id"] for a in expired}) >= 2
    for att in expired:
        subject = f"{att['subject_kind']}:{att['subject_id']}"
        assert f"Attestation {att['id']} ({att['claim']}, {subject}) has expired." in text


# -- built scenarios: blue by age, never inspected, a key revoked before it signed -----------
@pytest.fixture
def world(engine: Engine) -> tuple[World, Ledger]:
    ledger = make_ledger(engine)
    world = World(submit=submitter(ledger))
    world.populate()
    return world, ledger


@pytest.fixture
def client(db_url: str, world: tuple[World, Ledger]) -> Iterator[FlaskClient]:
    app = create_app(app_config(db_url))
    yield app.test_client()
    dispose(app)


def _account(ledger: Ledger, lot_id: str, today: str = "2026-02-01") -> dict[str, Any]:
    ledger.latest_checkpoint()
    _data, verdict = verified_bundle(ledger, lot_id)
    assert verdict.ok, verdict.reasons
    return describe(verdict, today)


def test_a_green_inspection_over_a_year_old_is_blue_by_age(world: tuple[World, Ledger]) -> None:
    w, ledger = world
    w.run(w.inspect("insp-old", "green", date="2024-12-01", valid_until="2026-12-31"))
    w.run(w.register_lot("aged-lot"))
    account = _account(ledger, "aged-lot")
    (site,) = account["sites"]
    status = site["status"]
    assert (status["status"], status["reason"], status["basis"], status["date"]) == (
        "blue", "age", "insp-old", "2024-12-01",
    )  # fmt: skip
    assert status["green_until"] == "2025-12-01"
    (registered,) = [s for s in account["timeline"] if s["type"] == "lot.register"]
    assert registered["site_status"] == "blue"
    assert [f["code"] for f in account["flags"]] == ["origin_site_blue"]
    alert = next(a for a in account["alerts"] if a["kind"] == "site_blue")
    assert (alert["level"], alert["reason"]) == ("amber", "age")
    # the same record, read while it was less than a year old, was green
    fresh = _account(ledger, "aged-lot", today="2025-06-01")
    assert fresh["sites"][0]["status"]["status"] == "green"


def test_a_green_registration_with_no_inspection_turns_blue_after_a_year(
    world: tuple[World, Ledger],
) -> None:
    w, ledger = world
    w.run(w.register_lot("reg-lot"))  # site-a: registered green, never inspected
    then = _account(ledger, "reg-lot")["sites"][0]["status"]
    assert (then["status"], then["reason"], then["basis"]) == ("green", "registration", None)
    later = _account(ledger, "reg-lot", today="2027-03-01")["sites"][0]["status"]
    assert (later["status"], later["reason"], later["date"]) == (
        "blue", "registration_age", then["date"],
    )  # fmt: skip


def test_a_site_never_inspected_is_blue(world: tuple[World, Ledger]) -> None:
    w, ledger = world
    w.run(w.register_site("site-new", "coop-a", status="blue"))
    w.run(w.register_lot("new-lot", site="site-new"))
    status = _account(ledger, "new-lot")["sites"][0]["status"]
    assert (status["status"], status["reason"], status["basis"]) == (
        "blue", "never_inspected", None,
    )  # fmt: skip
    assert status["inspection"] is None and status["valid_until"] is None


def _revoke_before(w: World, lot: str) -> None:
    """coop-a registers and dispatches ``lot``; the registrar then revokes coop-a's key with
    an ``effective`` time equal to the dispatch's: the dispatch (not the registration) was
    signed with a key revoked before it signed; trader-a then receives the lot."""
    w.run(w.register_lot(lot))
    dispatch = w.dispatch(lot, by="coop-a", to="trader-a")
    w.run(dispatch)
    effective = dispatch.envelope.statement.time
    body = {"actor": "coop-a", "key": signer("coop-a").key_id, "effective": effective,
            "reason": "phone stolen at the market"}  # fmt: skip
    w.run(w.sign("registrar", "actor.key.revoke", body))
    w.run(w.receive(lot, by="trader-a"))


def test_statements_signed_with_a_key_revoked_before_they_were_signed(
    world: tuple[World, Ledger],
) -> None:
    w, ledger = world
    _revoke_before(w, "rk-lot")
    account = _account(ledger, "rk-lot")
    assert account["verified"] is True
    (suspect,) = account["revoked_key_signatures"]
    assert (suspect["type"], suspect["actor"], suspect["key"]) == (
        "lot.dispatch", "coop-a", signer("coop-a").key_id,
    )  # fmt: skip
    assert suspect["time"] == suspect["effective"]  # "at or before": the boundary counts
    steps = {s["type"]: s for s in account["timeline"]}
    assert steps["lot.dispatch"]["revoked_key"] == suspect
    assert steps["lot.register"]["revoked_key"] is None  # signed before the effective time
    assert steps["lot.receive"]["revoked_key"] is None  # another signer
    alert = account["alerts"][0]
    assert (alert["kind"], alert["level"], alert["seq"]) == ("revoked_key", "red", suspect["seq"])


def test_the_page_shows_a_key_revoked_before_it_signed_in_both_languages(
    world: tuple[World, Ledger], client: FlaskClient
) -> None:
    w, ledger = world
    _revoke_before(w, "rk-lot")
    ledger.latest_checkpoint()
    body = client.get("/v1/lots/rk-lot/provenance").get_json()
    (suspect,) = body["revoked_key_signatures"]
    english = page_text(client, "/p/rk-lot")
    alerts = section(english, "Warnings", "Origin mine sites")
    assert alerts.startswith(f"Entry #{suspect['seq']} (lot.dispatch by coop-a) was signed at "
                             f"{suspect['time']} with key {suspect['key'][:16]}...")  # fmt: skip
    assert "signed with a key revoked before it signed." in alerts
    assert "Signed with a key revoked before it signed (effective" in english
    french = page_text(client, "/p/rk-lot?lang=fr")
    assert f"L'entrée n° {suspect['seq']} (lot.dispatch par coop-a) a été signée" in french
    assert "Signée avec une clé révoquée avant la signature (effet le" in french


def test_a_key_revoked_after_the_statements_flags_nothing(world: tuple[World, Ledger]) -> None:
    w, ledger = world
    w.run(w.register_lot("ok-lot"))
    w.run(w.revoke_key("coop-a", signer("coop-a").key_id, by="registrar"))
    account = _account(ledger, "ok-lot")
    assert account["revoked_key_signatures"] == []
    assert all(a["kind"] != "revoked_key" for a in account["alerts"])
