"""``make run``'s banner leads a new user to the buyer's view of the demo's showcase lot."""

from __future__ import annotations

from flask import Flask

from api.serve import banner
from ledger.demo import SHOWCASE_LOT


def test_the_banner_names_the_page_and_bundle_of_the_showcase_lot(demo_app: Flask) -> None:
    lines = banner(demo_app, "0.0.0.0", 8080)  # a wildcard bind is shown as the loopback address
    assert f"http://127.0.0.1:8080/p/{SHOWCASE_LOT}" in "\n".join(lines)
    assert any(line.startswith("its bundle:") and line.endswith("checks it)") for line in lines)
