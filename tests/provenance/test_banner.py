"""``make run``'s banner leads a new user to the buyer's view of the demo's showcase lot, a clean
exported lot; ``ledger run-demo`` also names a lot the demo holds back, to show bad news."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import Engine

from api.serve import banner, demo_lot
from ledger.cli_show import show_demo
from ledger.custody.log import Ledger
from ledger.demo import SHOWCASE_LOT, TAINTED_LOT, DemoSummary


def test_the_banner_names_the_page_and_bundle_of_the_showcase_lot(demo_app: Flask) -> None:
    lines = banner(demo_app, "0.0.0.0", 8080)  # a wildcard bind is shown as the loopback address
    assert f"http://127.0.0.1:8080/p/{SHOWCASE_LOT}" in "\n".join(lines)
    assert any(line.startswith("its bundle:") and line.endswith("checks it)") for line in lines)


def test_the_banner_s_lot_is_clean_and_exported(demo_app: Flask) -> None:
    lot = demo_lot(demo_app)
    assert lot == SHOWCASE_LOT
    body = demo_app.test_client().get(f"/v1/lots/{lot}/provenance").get_json()
    assert body["verified"] is True and body["lot"]["status"] == "exported"
    assert body["flags"] == [] and body["incidents"] == [] and body["lot"]["tainted_by"] == []


def test_run_demo_names_the_showcase_and_a_lot_held_back(
    demo: tuple[Ledger, DemoSummary], engine: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger, summary = demo
    ledger.latest_checkpoint()
    show_demo(engine, ledger, summary)
    out = capsys.readouterr().out
    assert "audit: clean" in out
    assert f"provenance of lot {SHOWCASE_LOT}: tin metal" in out
    held = next(line for line in out.splitlines() if line.startswith("and a lot held back:"))
    assert f"{TAINTED_LOT} is tainted by an open incident upstream" in held
    assert held.endswith(f"its public page /p/{TAINTED_LOT} shows the bad news first")
