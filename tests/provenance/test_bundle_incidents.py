"""Incidents travel with a lot's bundle: reported about its site or the lot itself, they are in
the bundle, verified with it, shown on the page as prominently as the good news, and shown as
resolved once they are."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from factories import World
from flask.testing import FlaskClient
from ledgers import make_ledger, submitter
from prov_helpers import app_config
from sqlalchemy import Engine

from api import create_app, dispose
from ledger.custody.bundles import verified_bundle
from ledger.custody.log import Ledger
from ledger.custody.public_view import describe

TODAY = "2026-02-01"


@pytest.fixture
def chain(engine: Engine) -> tuple[World, Ledger]:
    ledger = make_ledger(engine)
    world = World(submit=submitter(ledger))
    world.populate()
    world.run(world.register_lot("inc-lot"))
    world.transfer("inc-lot", by="coop-a", to="trader-a")
    return world, ledger


@pytest.fixture
def web(db_url: str, chain: tuple[World, Ledger]) -> Iterator[FlaskClient]:
    app = create_app(app_config(db_url))
    yield app.test_client()
    dispose(app)


def _account(ledger: Ledger) -> dict[str, object]:
    ledger.latest_checkpoint()
    _data, verdict = verified_bundle(ledger, "inc-lot")
    assert verdict.ok, verdict.reasons
    return describe(verdict, TODAY)


def test_an_open_incident_on_the_origin_site_is_in_the_bundle_and_an_alert(
    chain: tuple[World, Ledger],
) -> None:
    world, ledger = chain
    world.run(world.report_incident("inc-site", kind="site", subject="site-a"))
    account = _account(ledger)
    (incident,) = account["incidents"]  # type: ignore[misc]
    assert incident["id"] == "inc-site" and incident["open"] is True
    assert incident["subject"] == "site:site-a" and incident["reporter"]["id"] == "trader-a"
    tainted, alert = account["alerts"][:2]  # type: ignore[index]
    assert (tainted["kind"], tainted["level"]) == ("tainted", "red")
    assert tainted["incidents"] == "inc-site"
    assert alert["kind"] == "incident" and alert["level"] == "red"
    assert alert["category"] == "serious_abuses"
    assert account["lot"]["tainted_by"] == ["inc-site"]  # type: ignore[index]


def test_a_resolved_incident_is_shown_resolved_and_raises_no_alert(
    chain: tuple[World, Ledger],
) -> None:
    world, ledger = chain
    world.run(world.report_incident("inc-lot-1", subject="inc-lot"))
    world.run(world.resolve_incident("inc-lot-1"))
    account = _account(ledger)
    (incident,) = account["incidents"]  # type: ignore[misc]
    assert incident["open"] is False and incident["resolved_by"]["id"] == "auditor-a"
    assert all(a["kind"] != "incident" for a in account["alerts"])  # type: ignore[attr-defined]


def test_an_incident_elsewhere_stays_out_of_the_bundle(chain: tuple[World, Ledger]) -> None:
    world, ledger = chain
    world.run(
        world.register_lot("other-lot", by="coop-b", site="site-b", mineral="gold", mass_g=1_000)
    )
    world.run(world.report_incident("inc-other", kind="lot", subject="other-lot"))
    assert _account(ledger)["incidents"] == []


def test_the_page_puts_an_open_incident_first_in_both_languages(
    chain: tuple[World, Ledger], web: FlaskClient
) -> None:
    world, ledger = chain
    world.run(world.report_incident("inc-site", kind="site", subject="site-a"))
    ledger.latest_checkpoint()
    page = web.get("/p/inc-lot").get_data(as_text=True)
    alerts = page[page.index('id="alerts"') :]
    first, second = alerts.split("</p>")[:2]
    assert 'class="red"' in first and "cannot be exported: it is tainted by open incident" in first
    assert 'class="red"' in second and "Open incident (high): serious_abuses" in second
    assert 'id="incidents"' in page and "open</b>" in page
    french = web.get("/p/inc-lot?lang=fr").get_data(as_text=True)
    assert "Incident ouvert (high)" in french and "ouvert</b>" in french
