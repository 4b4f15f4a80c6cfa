"""``ledger grievances list|show|convert`` on both engines: the registrar reads a grievance and
turns it into an incident signed with its own local key; the ledger still audits clean."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ledger.cli import main
from ledger.custody import grievances
from ledger.db import make_engine
from ledger.keystore import Keystore

PASSPHRASE = "a passphrase for the tests"
TEXT = "Les enfants travaillent au puits 3 la nuit."
SITE = {
    "id": "site-1",
    "name": "Nyabibwe",
    "country": "CD",
    "region": "South Kivu",
    "location": {"lat_e6": -1_900_000, "lon_e6": 28_900_000},
    "minerals": ["tin"],
    "licence": {"number": "PE-4731", "expires": "2030-01-01"},
    "cooperative": "coop-1",
    "capacity_g_month": 5_000_000,
    "inspection_status": "green",
}
Run = Callable[..., Result]


@pytest.fixture
def run(db_url: str, tmp_path: Path) -> Run:
    env = {
        "DATABASE_URL": db_url,
        "LEDGER_KEYS_DIR": str(tmp_path / "keys"),
        "LEDGER_KEY_PASSPHRASE": PASSPHRASE,
    }
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    invoke("init", "--origin", "grievances.test.example/ledger")
    key = json.loads(invoke("keys", "new", "coop").stdout)
    coop = {"id": "coop-1", "name": "Coop One", "roles": ["cooperative"], "country": "CD",
            "keys": [key["public_key"]]}  # fmt: skip
    invoke("append", "actor.register", "--key", "registrar", "--body", json.dumps(coop))
    invoke("append", "site.register", "--key", "registrar", "--body", json.dumps(SITE))
    return invoke


def _report(db_url: str, tmp_path: Path, category: str) -> str:
    engine = make_engine(db_url)
    try:
        sealer = Keystore(tmp_path / "keys", PASSPHRASE).sealer()
        found = grievances.report(engine, sealer, site="site-1", category=category, text=TEXT)
    finally:
        engine.dispose()
    return found.id


def test_list_show_and_convert(run: Run, db_url: str, tmp_path: Path) -> None:
    grievance = _report(db_url, tmp_path, "serious_abuses")
    listed = [json.loads(line) for line in run("grievances", "list").stdout.splitlines()]
    assert [(g["id"], g["status"]) for g in listed] == [(grievance, "open")]
    assert "text" not in listed[0]
    shown = json.loads(run("grievances", "show", grievance).stdout)
    assert shown["text"] == TEXT and shown["site"] == "site-1"
    done = json.loads(
        run(
            "grievances",
            "convert",
            grievance,
            "--key",
            "registrar",
            "--severity",
            "high",
            "--copy-text",
        ).stdout
    )
    assert (done["status"], done["incident"]) == ("accepted", f"inc-{grievance}")
    lines = run("grievances", "list", "--status", "converted").stdout.splitlines()
    converted = [json.loads(line) for line in lines]
    assert [(g["id"], g["incident"], g["converted_seq"]) for g in converted] == [
        (grievance, f"inc-{grievance}", done["seq"])
    ]
    entry = json.loads(run("entries", "--from", str(done["seq"])).stdout.splitlines()[0])
    assert entry["seq"] == done["seq"]
    again = run("grievances", "convert", grievance, "--key", "registrar", "--incident-id",
                "inc-other", code=1)  # fmt: skip
    assert "error [grievance_converted]" in again.stderr
    same = run("grievances", "convert", grievance, "--key", "registrar", code=1)  # run twice
    assert f"error [grievance_converted]: grievance {grievance} is already converted" in (
        same.stderr
    )
    assert json.loads(run("audit", "--json").stdout)["clean"]
    assert (
        json.loads(run("entries", "--from", str(done["seq"])).stdout.splitlines()[-1])["seq"]
        == done["seq"]
    )


def test_a_category_outside_annex_ii_needs_one(run: Run, db_url: str, tmp_path: Path) -> None:
    grievance = _report(db_url, tmp_path, "labour")
    refused = run("grievances", "convert", grievance, "--key", "registrar", code=1)
    assert "error [invalid]" in refused.stderr and "--category" in refused.stderr
    unknown = run("grievances", "convert", "grv-none", "--key", "registrar", code=1)
    assert "error [unknown_grievance]" in unknown.stderr
    done = run("grievances", "convert", grievance, "--key", "registrar", "--category",
               "serious_abuses", "--subject", "actor:coop-1")  # fmt: skip
    assert json.loads(done.stdout)["status"] == "accepted"
    assert "open" not in run("grievances", "list", "--status", "open").stdout
