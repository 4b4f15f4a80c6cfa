"""The provenance routes on the demo ledger, both engines: the JSON account, the bundle, the QR
codes, and the public page (languages, negative news, the label check, no external assets)."""

from __future__ import annotations

import html as html_module
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
import zxingcpp
from flask import Flask
from flask.testing import FlaskClient
from png_reader import read_grey
from prov_helpers import app_config

from api import create_app, dispose
from api.views import provenance as provenance_view
from ledger import canonical
from ledger.bundle import verify
from ledger.checkpoint import VerifierKey
from ledger.custody import bundles
from ledger.custody.log import Ledger
from ledger.demo import DISCREPANCY_LOT, REVOKED_ATTESTATION, SHOWCASE_LOT, DemoSummary

ERROR_KEYS = {"code", "status", "message", "errors"}
# Private values of the demo (prices, invoices, contacts, miners): never in a public response.
PRIVATE = ("amount_cents", "invoice", "INV-", "+250 7", "+243 9", "Aline Uwimana", "miners",
           "contact@", "Faustin Habarugira", "national_id")  # fmt: skip


def _scan(png: bytes) -> str:
    """Decode a QR PNG with zxing-cpp, the independent decoder."""
    width, height, pixels = read_grey(png)
    found = zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))
    assert len(found) == 1, "exactly one QR code in the image"
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    assert found[0].ec_level == "H"
    return str(found[0].text)


def _text(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_provenance_json(web: FlaskClient, demo: tuple[Ledger, DemoSummary]) -> None:
    response = web.get(f"/v1/lots/{SHOWCASE_LOT}/provenance")
    assert response.status_code == 200
    body = response.get_json()
    assert body["verified"] is True and body["reasons"] == []
    lot = body["lot"]
    assert (lot["mineral"], lot["form"], lot["status"]) == ("tin", "metal", "exported")
    assert lot["custodian"]["name"] == "Ishema Minerals Export Ltd"
    assert {s["id"] for s in body["sites"]} == {"site-nyarusange", "site-gatare"}
    site = next(s for s in body["sites"] if s["id"] == "site-gatare")
    assert (site["country"], site["lat_e6"], site["lon_e6"]) == ("RW", -1_843_000, 29_589_600)
    types = [step["type"] for step in body["timeline"]]
    assert types.count("lot.register") == 10 and types[-1] == "lot.export"
    assert body["checkpoint"]["size"] == demo[0].size()
    assert len(body["entries"]) == 59
    for text in PRIVATE:
        assert text not in response.get_data(as_text=True), text


@pytest.fixture
def after_the_demo(monkeypatch: pytest.MonkeyPatch) -> str:
    """Pin the account's "today" just after the demo, while its inspections are in force."""
    monkeypatch.setattr(provenance_view, "today", lambda: "2026-02-15")
    return "2026-02-15"


def test_negative_news_is_in_the_account(web: FlaskClient, after_the_demo: str) -> None:
    body = web.get(f"/v1/lots/{DISCREPANCY_LOT}/provenance").get_json()
    kinds = {(a["kind"], a["level"]) for a in body["alerts"]}
    assert ("revoked", "red") in kinds and ("site_yellow", "amber") in kinds
    assert ("flag", "amber") in kinds
    assert body["alerts"][0]["level"] == "red"
    revoked = next(a for a in body["attestations"] if a["id"] == REVOKED_ATTESTATION)
    assert revoked["status"] == "revoked"
    receipt = next(s for s in body["timeline"] if s["flags"])
    assert receipt["type"] == "lot.receive" and receipt["flags"][0]["code"] == "mass_discrepancy"
    register = body["timeline"][0]
    statuses = {a["id"]: a["status"] for a in register["attestations"]}
    assert statuses[REVOKED_ATTESTATION] == "valid"  # withdrawn only later


def test_the_bundle_route_serves_a_bundle_that_verifies(web: FlaskClient) -> None:
    key = VerifierKey.parse(web.get("/v1/operator-key").get_json()["verifier_key"])
    response = web.get(f"/v1/lots/{SHOWCASE_LOT}/bundle")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    assert verify(response.data, key).ok
    kept = web.get("/v1/checkpoint").get_data(as_text=True)
    size = int(kept.split("\n")[1])
    since = web.get(f"/v1/lots/{SHOWCASE_LOT}/bundle?since={size - 20}")
    assert canonical.parse(since.data)["consistency"]["old_size"] == size - 20


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/v1/lots/NO-SUCH-LOT/provenance", 404, "unknown_lot"),
        ("/v1/lots/NO-SUCH-LOT/bundle", 404, "unknown_lot"),
        ("/v1/lots/NO-SUCH-LOT/qr.png", 404, "unknown_lot"),
        ("/v1/lots/NO-SUCH-LOT/qr.svg", 404, "unknown_lot"),
        (f"/v1/lots/{SHOWCASE_LOT}/bundle?since=0", 400, "invalid"),
        (f"/v1/lots/{SHOWCASE_LOT}/bundle?since=999999", 400, "invalid"),
    ],
)
def test_errors_have_the_one_shape(web: FlaskClient, path: str, status: int, code: str) -> None:
    response = web.get(path)
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == ERROR_KEYS and body["code"] == code
    if "since=" in path:  # a query parameter's error is filed under query, not the body
        assert list(body["errors"]) == ["query"] and "since" in body["errors"]["query"]


def test_scan_the_qr_code_and_follow_it(web: FlaskClient) -> None:
    """End to end: the PNG decodes (zxing-cpp) to the page URL, which shows the lot."""
    response = web.get(f"/v1/lots/{SHOWCASE_LOT}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    url = _scan(response.data)
    head = web.get(f"/v1/lots/{SHOWCASE_LOT}").get_json()["head"]["leaf_hash"]
    assert url == f"http://localhost/p/{SHOWCASE_LOT}?h={head[:16]}"
    page = web.get(url.removeprefix("http://localhost"))
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = _text(page.get_data(as_text=True))
    assert f"Provenance of lot {SHOWCASE_LOT}" in text
    assert "Verified against checkpoint" in text
    assert "The label matches the lot's current history." in text
    assert "Gatare" in text and "Nyarusange" in text and "156.6 kg" in text


def test_the_qr_svg_is_well_formed(web: FlaskClient) -> None:
    response = web.get(f"/v1/lots/{SHOWCASE_LOT}/qr.svg")
    assert response.mimetype == "image/svg+xml"
    root = ET.fromstring(response.data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.find("{http://www.w3.org/2000/svg}path") is not None


@pytest.fixture
def public_app(db_url: str, demo_app: Flask) -> Iterator[Flask]:
    app = create_app(app_config(db_url, LEDGER_PUBLIC_URL="https://trace.example.org/"))
    yield app
    dispose(app)


def test_the_qr_code_uses_the_configured_public_url(public_app: Flask) -> None:
    png = public_app.test_client().get(f"/v1/lots/{SHOWCASE_LOT}/qr.png").data
    assert _scan(png).startswith(f"https://trace.example.org/p/{SHOWCASE_LOT}?h=")


def test_the_page_in_french(web: FlaskClient) -> None:
    page = web.get(f"/p/{SHOWCASE_LOT}", headers={"Accept-Language": "fr-CD,fr;q=0.9,en;q=0.5"})
    assert page.headers["Content-Language"] == "fr" and "Accept-Language" in page.headers["Vary"]
    text = _text(page.get_data(as_text=True))
    assert "Vérifié par rapport au point de contrôle" in text and "Chaîne de garde" in text
    switched = _text(web.get(f"/p/{SHOWCASE_LOT}?lang=en", headers={"Accept-Language": "fr"})
                     .get_data(as_text=True))  # fmt: skip
    assert "Custody timeline" in switched and "Chaîne de garde" not in switched
    assert 'href="?lang=en"' in page.get_data(as_text=True)


def test_the_page_shows_the_bad_news(web: FlaskClient, after_the_demo: str) -> None:
    text = _text(web.get(f"/p/{DISCREPANCY_LOT}").get_data(as_text=True))
    assert "was revoked" in text
    assert "Site Kanyatsi Hill is yellow (inspection insp-kanyatsi-2601 of 2026-01-" in text
    assert "measured" in text and "tolerance" in text  # the receipt's flag message
    assert text.index("Warnings") < text.index("Origin mine sites")


def test_a_label_of_another_history_is_shown(web: FlaskClient) -> None:
    text = _text(web.get(f"/p/{SHOWCASE_LOT}?h=00000000deadbeef").get_data(as_text=True))
    assert "matches no entry of this lot's history" in text
    body = web.get(f"/v1/lots/{SHOWCASE_LOT}/provenance").get_json()
    first = next(s for s in body["timeline"] if SHOWCASE_LOT in s["lots"])
    leaf = next(e["leaf_hash"] for e in body["entries"] if e["seq"] == first["seq"])
    earlier = _text(web.get(f"/p/{SHOWCASE_LOT}?h={leaf[:16]}").get_data(as_text=True))
    assert "printed earlier in the lot's history" in earlier


def test_the_page_is_light_and_self_contained(web: FlaskClient) -> None:
    page = web.get(f"/p/{SHOWCASE_LOT}").get_data(as_text=True)
    assert len(page.encode()) < 40_000
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert 'name="viewport"' in page
    assert f'href="/v1/lots/{SHOWCASE_LOT}/bundle"' in page


def test_an_unknown_lot_is_a_page_too(web: FlaskClient) -> None:
    page = web.get("/p/NO-SUCH-LOT")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "[unknown_lot]" in page.get_data(as_text=True)


def test_verified_only_when_the_verifier_passes(
    web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bundles.verify

    def wrong_key(data: bytes, key: VerifierKey, **kwargs: Any) -> Any:
        return real(data, VerifierKey.from_public_key(key.name, bytes(31) + b"\x01"), **kwargs)

    monkeypatch.setattr(bundles, "verify", wrong_key)
    text = _text(web.get(f"/p/{SHOWCASE_LOT}").get_data(as_text=True))
    assert "NOT VERIFIED" in text and "Verified against" not in text
    assert "Verification failed: checkpoint:" in text
    assert web.get(f"/v1/lots/{SHOWCASE_LOT}/provenance").get_json()["verified"] is False
