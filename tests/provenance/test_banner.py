"""``make run``'s banner leads a new user to the buyer's view of the demo's showcase lot, a clean
exported lot; ``ledger run-demo`` also names a lot the demo holds back, to show bad news."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Engine, func, select

from api.serve import banner, demo_lot
from ledger.cli import main
from ledger.cli_show import show_demo
from ledger.custody import grievances
from ledger.custody.log import Ledger
from ledger.custody.models import GrievanceRow, LogEntryRow
from ledger.db import make_engine
from ledger.demo import GRIEVANCE, SHOWCASE_LOT, TAINTED_LOT, DemoSummary


def test_the_banner_names_the_page_and_bundle_of_the_showcase_lot(demo_app: Flask) -> None:
    lines = banner(demo_app, "0.0.0.0", 8080)  # a wildcard bind is shown as the loopback address
    assert f"http://127.0.0.1:8080/p/{SHOWCASE_LOT}" in "\n".join(lines)
    assert any(line.startswith("its bundle:") and line.endswith("checks it)") for line in lines)
    assert f"bad news:    http://127.0.0.1:8080/p/{TAINTED_LOT}  (held back" in "\n".join(lines)


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


def test_run_demo_loads_the_grievance_off_the_log(db_url: str, tmp_path: Path) -> None:
    """``make run``'s loading: the demo's grievance is in the grievance store, sealed, and the
    log holds exactly the demo's statements (a grievance is not an entry)."""
    env = {"DATABASE_URL": db_url, "LEDGER_KEYS_DIR": str(tmp_path / "keys"),
           "LEDGER_KEY_PASSPHRASE": "a passphrase for the tests"}  # fmt: skip
    result = CliRunner().invoke(main, ["run-demo", "--origin", "demo.example/run"], env=env,
                                catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "audit: clean" in result.output and f"/p/{TAINTED_LOT}" in result.output
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            counts = grievances.site_counts(conn, str(GRIEVANCE["site"]))
            rows = conn.execute(select(GrievanceRow.ciphertext)).scalars().all()
            size = conn.execute(select(func.count()).select_from(LogEntryRow)).scalar()
    finally:
        engine.dispose()
    assert counts["total"] == 1 and counts["by_category"] == {GRIEVANCE["category"]: 1}
    (sealed,) = rows
    assert str(GRIEVANCE["text"]).encode() not in bytes(sealed)
    assert f"loaded the demo supply chain: {size - 1} statements" in result.output
    assert "; 1 anonymous grievance(s), kept off the log" in result.output
