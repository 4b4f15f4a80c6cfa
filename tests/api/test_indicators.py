"""The programme's indicators: figures on a built scenario (both engines), suppression of small
cells (primary and secondary), the CSV against the JSON, and the public page."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from api_helpers import assert_error, bearer
from factories import World
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from ledgers import DATA_KEY
from sqlalchemy import Engine

from ledger.custody import indicators
from ledger.custody.disclosure_store import erase_miner
from ledger.custody.indicators import THRESHOLD, suppress
from ledger.sealing import Sealer

SEXES = ("female", "male", "other", "unknown")


# -- suppression, pure ----------------------------------------------------------------------------
def test_small_cells_and_the_cells_that_would_reveal_them_are_suppressed() -> None:
    cells, names = suppress({"female": 7, "male": 3, "other": 0, "unknown": 1}, "m")
    # male and unknown (4 together, fewer than 5) need a third: female, the smallest left
    assert cells == {"female": None, "male": None, "other": 0, "unknown": None, "total": 11}
    assert names == ["m.female", "m.male", "m.unknown"]
    cells, _ = suppress({"female": 6, "male": 8, "other": 0, "unknown": 2}, "m")
    # unknown alone would be total - the rest: female (6) goes with it, male stays
    assert cells == {"female": None, "male": 8, "other": 0, "unknown": None, "total": 16}
    cells, _ = suppress({"female": 12, "male": 9, "other": 0, "unknown": 0}, "m")
    assert cells == {"female": 12, "male": 9, "other": 0, "unknown": 0, "total": 21}  # nothing
    cells, names = suppress({"female": 3, "male": 0, "other": 0, "unknown": 0}, "m")
    assert cells == {"female": None, "male": 0, "other": 0, "unknown": 0, "total": None}
    assert names == ["m.female", "m.total"]  # the total would say it: 3
    cells, _ = suppress({"female": 30, "male": 2, "other": 0, "unknown": 0}, "m")
    # zeros protect nothing: female goes with male, the zeros stay visible
    assert cells == {"female": None, "male": None, "other": 0, "unknown": 0, "total": 32}


@given(st.dictionaries(st.sampled_from(SEXES), st.integers(0, 40), min_size=1))
def test_no_suppressed_cell_can_be_recovered(counts: dict[str, int]) -> None:
    cells, names = suppress(counts, "m")
    hidden = [k for k in counts if cells[k] is None]
    assert {f"m.{k}" for k in hidden} | ({"m.total"} if cells["total"] is None else set()) == (
        set(names)
    )
    for key, value in counts.items():
        if 0 < value < THRESHOLD:
            assert cells[key] is None, key  # primary
        elif cells[key] is not None:
            assert cells[key] == value
    if cells["total"] is not None:
        assert cells["total"] == sum(counts.values())
        if hidden:
            # with the total shown, the hidden cells' sum is known: it must not be one cell,
            # nor a group of fewer than THRESHOLD people
            assert len(hidden) >= 2 and sum(counts[k] for k in hidden) >= THRESHOLD
    else:
        assert 0 < sum(counts.values()) < THRESHOLD or len(hidden) >= 1


# -- the scenario ---------------------------------------------------------------------------------
def _scenario(world: World, client: FlaskClient) -> None:
    """Miners 7 F, 3 M, 1 unknown (miner-1 discloses nothing); 3 sites; 3 lots registered (one
    split); attestations valid, expired and revoked; two incidents; three grievances."""
    for i in range(7):
        world.run(world.register_miner(f"f-{i}", "coop-a", "site-a", private={"sex": "F"}))
    for i, sex in enumerate(("M", "male", "Homme")):
        world.run(world.register_miner(f"m-{i}", "coop-a", "site-a", private={"sex": sex}))
    world.run(world.register_site("site-c", "coop-a", status="red"))
    world.run(world.register_lot("lot-1", mass_g=100_000))  # site-a, green then
    world.run(world.register_lot("lot-2", site="site-b", mineral="gold", by="coop-b",
                                 mass_g=20_000, grade_ppm=900_000))  # fmt: skip
    world.run(world.inspect("insp-1", "yellow", valid_until="2099-12-31"))
    world.run(world.register_lot("lot-3", mass_g=50_000))  # site-a, yellow now
    world.transfer("lot-1", by="coop-a", to="trader-a")
    world.run(world.split("lot-1", [("lot-1a", 60_000), ("lot-1b", 40_000)], by="trader-a"))
    far = {"valid_from": "2026-01-01", "valid_until": "2099-12-31"}
    world.run(world.attest("a-lot1", kind="lot", subject="lot-1", **far))
    world.run(world.attest("a-siteb", kind="site", subject="site-b", claim="mercury_free", **far))
    world.run(world.attest("a-lot3-old", kind="lot", subject="lot-3", valid_until="2026-01-31"))
    world.run(world.attest("a-lot3", kind="lot", subject="lot-3", **far))
    world.run(world.revoke_attestation("a-lot3"))
    world.run(world.report_incident("inc-1", subject="lot-1b", category="serious_abuses"))
    world.run(world.report_incident("inc-2", kind="site", subject="site-b",
                                    category="security_forces"))  # fmt: skip
    world.run(world.resolve_incident("inc-2"))
    anonymous = client.application.test_client()
    for site in ("site-a", "site-a", "site-b"):
        report = {"site": site, "category": "labour", "text": "unpaid for three months"}
        assert anonymous.post("/v1/grievances", json=report).status_code == 201


EXPECTED: dict[str, Any] = {
    "threshold": 5,
    # 3 men and 1 unknown are fewer than 5 each and together: the 7 women are hidden with them
    "suppressed": ["miners_by_sex.female", "miners_by_sex.male", "miners_by_sex.unknown"],
    "miners_by_sex": {"female": None, "male": None, "other": 0, "unknown": None, "total": 11},
    "cooperatives": 2,
    "mass_by_mineral_g": {
        "cobalt": 0,
        "gold": 20_000,
        "tantalum": 0,
        "tin": 150_000,
        "tungsten": 0,
    },
    "mass_by_origin_status_g": {
        "blue": 0,
        "green": 100_000,
        "red": 0,
        "unknown": 0,
        "yellow": 70_000,
    },
    # lot-1 (its own attestation) and lot-2 (its site's); lot-3's are expired or revoked
    "attested_mass": {"backed_g": 120_000, "registered_g": 170_000, "share_ppm": 705_882},
    "grievances_by_site": {
        "site-a": {"open": 2, "converted": 0},
        "site-b": {"open": 1, "converted": 0},
        "site-c": {"open": 0, "converted": 0},
    },
}


def test_the_figures_of_a_built_scenario(world: World, client: FlaskClient) -> None:
    _scenario(world, client)
    found = client.get("/v1/indicators").get_json()
    assert {k: found[k] for k in EXPECTED} == EXPECTED
    incidents = found["incidents_by_category"]
    assert incidents["serious_abuses"] == {"open": 1, "resolved": 0}
    assert incidents["security_forces"] == {"open": 0, "resolved": 1}
    assert incidents["money_laundering"] == {"open": 0, "resolved": 0}
    assert sum(found["sites_by_status"].values()) == 3
    assert found["sites_by_status"]["red"] == 1 and found["sites_by_status"]["yellow"] == 2
    assert found["log_size"] == client.get("/v1/checkpoint?format=json").get_json()["size"]


def test_sites_by_status_on_a_date_and_erased_miners(
    world: World, client: FlaskClient, engine: Engine
) -> None:
    world.run(world.register_site("site-g", "coop-a"))  # green, registered on 2026-01-15
    for i in range(6):
        world.run(world.register_miner(f"f-{i}", "coop-a", "site-a", private={"sex": "F"}))
    for i in range(5):
        world.run(world.register_miner(f"m-{i}", "coop-b", "site-b", private={"sex": "M"}))
    sealer = Sealer(DATA_KEY)
    with engine.connect() as conn:
        early = indicators.compute(conn, sealer, date(2026, 6, 1))
        late = indicators.compute(conn, sealer, date(2027, 6, 1))
    # site-a and site-g green, site-b registered yellow; a year on, the greens are blue by age
    assert early["sites_by_status"] == {"blue": 0, "green": 2, "red": 0, "yellow": 1,
                                        "unknown": 0}  # fmt: skip
    assert late["sites_by_status"] == {"blue": 2, "green": 0, "red": 0, "yellow": 1,
                                       "unknown": 0}  # fmt: skip
    # 6 F, 5 M and miner-1 unknown (1): unknown is hidden, and the 5 men with it
    assert early["miners_by_sex"] == {"female": 6, "male": None, "other": 0, "unknown": None,
                                      "total": 12}  # fmt: skip
    response = client.post("/v1/miners/f-0/erase", headers=bearer(client.application, "registrar"))
    assert response.status_code == 200, response.get_json()
    erase_miner(engine, "f-1")
    with engine.connect() as conn:
        erased = indicators.compute(conn, sealer, date(2026, 6, 1))
    # an erased miner counts as unknown: 4 F, 5 M, 3 unknown
    assert erased["miners_by_sex"] == {"female": None, "male": 5, "other": 0, "unknown": None,
                                       "total": 12}  # fmt: skip


def _from_csv(body: str) -> dict[str, Any]:
    """The CSV read back into the JSON's shape (``x`` is null)."""
    reader = csv.reader(io.StringIO(body))
    assert next(reader) == ["indicator", "group", "key", "value"]
    found: dict[str, Any] = {}
    for name, group, key, text in reader:
        value: Any = None if text == "x" else int(text) if text.lstrip("-").isdigit() else text
        if not key:
            found[name] = value
        elif not group:
            found.setdefault(name, {})[key] = value
        else:
            found.setdefault(name, {}).setdefault(group, {})[key] = value
    return found


def test_the_csv_parses_and_matches_the_json(world: World, client: FlaskClient) -> None:
    _scenario(world, client)
    as_json = client.get("/v1/indicators").get_json()
    for response in (
        client.get("/v1/indicators?format=csv"),
        client.get("/v1/indicators", headers={"Accept": "text/csv"}),
    ):
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        from_csv = _from_csv(response.get_data(as_text=True))
        assert from_csv == {k: v for k, v in as_json.items() if k != "suppressed"}
        assert "\r\nminers_by_sex,,female,x\r\n" in response.get_data(as_text=True)
    json_anyway = client.get("/v1/indicators?format=json", headers={"Accept": "text/csv"})
    assert json_anyway.get_json()["threshold"] == 5
    assert_error(client.get("/v1/indicators?format=xml"), 400, "invalid")
    doc = client.get("/openapi.json").get_json()
    content = doc["paths"]["/v1/indicators"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv"} <= set(content)


def test_the_page_in_english_and_french(world: World, client: FlaskClient) -> None:
    _scenario(world, client)
    page = client.get("/indicators")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Programme indicators" in html and "Registered miners by sex" in html
    assert '<span class="s"' in html and ">x</span>" in html  # suppressed cells
    assert "70.6%" in html and "120.0 kg of 170.0 kg" in html
    for external in ("<script", "src=", "http://", "https://", "<link"):
        assert external not in html
    french = client.get("/indicators", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "Indicateurs du programme" in french and "Mineurs enregistrés par sexe" in french
    assert "Programme indicators" not in french
    assert "unpaid" not in html and "unpaid" not in french  # grievances are counted, not shown
