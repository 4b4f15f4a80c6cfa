"""The ``ledger`` command on both engines, as an operator or a monitoring script uses it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from factories import World
from sqlalchemy import text

from ledger import demo, entries, merkle
from ledger.checkpoint import VerifierKey, verify_checkpoint
from ledger.cli import main
from ledger.db import make_engine

ORIGIN = "cli.test.example/ledger"


@pytest.fixture
def run(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        "DATABASE_URL": db_url,
        "LEDGER_KEYS_DIR": str(tmp_path / "keys"),
        "LEDGER_KEY_PASSPHRASE": "a passphrase for the tests",
    }
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return invoke


@pytest.fixture
def initialised(run):  # type: ignore[no-untyped-def]
    run("init", "--origin", ORIGIN)
    return run


def _register_coop(run) -> None:  # type: ignore[no-untyped-def]
    key = json.loads(run("keys", "new", "coop").stdout)
    body = {
        "id": "coop-1",
        "name": "Coop One",
        "roles": ["cooperative"],
        "country": "CD",
        "keys": [key["public_key"]],
    }
    run(
        "append",
        "actor.register",
        "--key",
        "registrar",
        "--body",
        json.dumps(body),
        "--private",
        '{"email": "coop@example.org"}',
    )
    site = {
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
    run("append", "site.register", "--key", "registrar", "--body", json.dumps(site))


def test_init_append_and_prove(initialised) -> None:  # type: ignore[no-untyped-def]
    run = initialised
    _register_coop(run)
    lot = {
        "lot": "L-1",
        "site": "site-1",
        "mineral": "tin",
        "form": "ore",
        "mass_g": 20_000,
        "grade_ppm": 550_000,
        "tags": ["ITS-1"],
        "extracted": "2026-11-20",
    }
    out = json.loads(
        run(
            "append",
            "lot.register",
            "--key",
            "coop",
            "--body",
            json.dumps(lot),
            "--time",
            "2026-11-20T10:00:00Z",
        ).stdout
    )
    assert (out["status"], out["seq"], out["tree_size"]) == ("accepted", 3, 4)
    key = VerifierKey.parse(run("operator-key").stdout.strip())
    checkpoint = verify_checkpoint(out["checkpoint"], key, ORIGIN)
    merkle.verify_inclusion(
        bytes.fromhex(out["leaf_hash"]),
        3,
        4,
        [bytes.fromhex(h) for h in out["inclusion_proof"]],
        checkpoint.root,
    )
    proof = json.loads(run("proof", "inclusion", "1", "--size", "3").stdout)
    merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        1,
        3,
        [bytes.fromhex(h) for h in proof["proof"]],
        bytes.fromhex(proof["root"]),
    )
    consistency = json.loads(run("proof", "consistency", "2", "4").stdout)
    merkle.verify_consistency(
        2,
        4,
        [bytes.fromhex(h) for h in consistency["proof"]],
        bytes.fromhex(consistency["old_root"]),
        checkpoint.root,
    )


def test_entries_are_the_exact_bytes(initialised) -> None:  # type: ignore[no-untyped-def]
    run = initialised
    _register_coop(run)
    lines = [json.loads(line) for line in run("entries", "--from", "1").stdout.splitlines()]
    assert [line["seq"] for line in lines] == [1, 2]
    for line in lines:
        assert merkle.leaf_hash(base64.b64decode(line["entry"])).hex() == line["leaf_hash"]
    assert run("entries", "--from", "0", "--to", "1").stdout.count("\n") == 1


def test_audit_exit_codes_and_json(initialised) -> None:  # type: ignore[no-untyped-def]
    run = initialised
    _register_coop(run)
    report = json.loads(run("audit", "--json", "--workers", "1").stdout)
    assert report == {
        "clean": True,
        "size": 3,
        "checkpoints": report["checkpoints"],
        "divergence": None,
    }
    assert report["checkpoints"] >= 1


def test_rule_violation_is_one_clear_line(initialised) -> None:  # type: ignore[no-untyped-def]
    run = initialised
    _register_coop(run)
    lot = {
        "lot": "L-1",
        "site": "site-1",
        "mineral": "gold",
        "form": "ore",
        "mass_g": 1,
        "grade_ppm": 1,
        "tags": ["T"],
        "extracted": "2026-11-20",
    }
    result = run("append", "lot.register", "--key", "coop", "--body", json.dumps(lot), code=1)
    assert result.stderr.startswith("error [mineral_not_at_site]: site site-1 is licensed for tin")
    assert "Traceback" not in result.stderr


def test_init_twice_and_missing_passphrase(initialised, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = initialised("init", "--origin", ORIGIN, code=1)
    assert "already has a genesis" in result.stderr
    bare = CliRunner().invoke(
        main,
        ["checkpoint"],
        env={
            "DATABASE_URL": db_url,
            "LEDGER_KEYS_DIR": str(tmp_path / "keys"),
            "LEDGER_KEY_PASSPHRASE": "",
        },
    )
    assert bare.exit_code == 1
    assert "error [no_passphrase]: LEDGER_KEY_PASSPHRASE is not set" in bare.stderr


def test_keys_are_encrypted_and_private(initialised, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for path in (tmp_path / "keys").iterdir():
        assert path.stat().st_mode & 0o077 == 0, path
        if path.name != "data.key":
            assert b"ENCRYPTED PRIVATE KEY" in path.read_bytes()
    assert (tmp_path / "keys").stat().st_mode & 0o077 == 0


def test_submit_presigned_lines(initialised, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = initialised
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"envelope": {"statement": {}, "sig": ""}}\n')
    result = run("submit", str(lines), code=1)
    assert result.stderr.startswith("error [invalid]: line 1: statement is missing")


def test_a_demo_start_too_recent_is_refused_before_anything_is_stored(initialised) -> None:  # type: ignore[no-untyped-def]
    """The story runs five weeks: from a start a few days ago it would sign statements dated in
    the future, which the ledger refuses half-way; the command refuses it first."""
    run = initialised
    before = json.loads(run("audit", "--json").stdout)["size"]
    keys = run("keys", "list").stdout
    recent = (datetime.now(UTC).date() - timedelta(days=5)).isoformat()
    refused = run("demo", "--start", recent, code=1)
    assert refused.stderr.startswith("error [invalid]: the demo story runs")
    assert "the latest start today is" in refused.stderr
    assert json.loads(run("audit", "--json").stdout)["size"] == before
    assert run("keys", "list").stdout == keys


def test_demo_loads_once_and_audits_clean(initialised, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run = initialised
    summary = json.loads(run("demo", "--seed", "1").stdout)
    assert summary["lots"] >= 30 and summary["sites"] >= 3
    report = json.loads(run("audit", "--json").stdout)
    assert report["clean"] and report["size"] == summary["statements"] + 1
    again = run("demo", code=1)
    assert again.stderr.startswith("error [demo_loaded]")
    [line] = run("entries", "--from", "1", "--to", "2").stdout.splitlines()
    first = entries.decode(base64.b64decode(json.loads(line)["entry"]))
    begun = datetime.now(UTC).date() - timedelta(days=demo.DAYS_BEFORE_TODAY)
    assert first.statement.time[:10] in {begun.isoformat(), (begun + timedelta(days=1)).isoformat()}
    assert json.loads(run("audit", "--json").stdout)["size"] == report["size"]
    names = {json.loads(line)["name"] for line in run("keys", "list").stdout.splitlines()}
    assert {"coop-kotwa", "trader-rutsiro", "trader-rutsiro-2", "operator", "registrar"} <= names


def test_rebuild_derived_restores_lost_state_and_reports_the_audit(  # type: ignore[no-untyped-def]
    initialised, db_url: str
) -> None:
    run = initialised
    _register_coop(run)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM heads WHERE subject = 'actor:coop-1'"))
    engine.dispose()
    assert not json.loads(run("audit", "--json", "--workers", "1", code=1).stdout)["clean"]
    report = json.loads(run("rebuild-derived", "--json", "--workers", "1").stdout)
    assert report["clean"] and report["size"] == 3
    assert json.loads(run("audit", "--json", "--workers", "1").stdout)["clean"]


def test_run_demo_points_at_rebuild_when_only_derived_state_diverges(  # type: ignore[no-untyped-def]
    run, db_url: str
) -> None:
    run("run-demo", "--origin", ORIGIN)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM site_status_history"))  # as a ledger made before 0003
    engine.dispose()
    shown = run("run-demo", "--origin", ORIGIN)
    assert "audit: FAILED" in shown.stdout
    assert "ledger rebuild-derived" in shown.stderr
    run("rebuild-derived", "--workers", "0")
    assert "audit: clean" in run("run-demo", "--origin", ORIGIN).stdout


def test_an_incident_converting_a_grievance_goes_through_the_grievance_command(  # type: ignore[no-untyped-def]
    initialised,
) -> None:
    run = initialised
    _register_coop(run)
    size = json.loads(run("audit", "--json", "--workers", "1").stdout)["size"]
    body = {"id": "inc-1", "category": "serious_abuses", "severity": "high",
            "subject": {"kind": "site", "id": "site-1"}, "observed": "2026-11-20",
            "grievance": "grv-0123456789abcdef"}  # fmt: skip
    result = run("append", "incident", "--key", "registrar", "--body", json.dumps(body), code=1)
    assert result.stderr.startswith("error [grievance_route]: an incident that converts grievance")
    assert "ledger grievances convert" in result.stderr
    assert json.loads(run("audit", "--json", "--workers", "1").stdout)["size"] == size


def test_submit_refuses_an_incident_converting_a_grievance(  # type: ignore[no-untyped-def]
    initialised, tmp_path: Path
) -> None:
    body = {"id": "inc-1", "category": "serious_abuses", "severity": "high",
            "subject": {"kind": "site", "id": "site-1"}, "observed": "2026-01-14",
            "grievance": "grv-0123456789abcdef"}  # fmt: skip
    envelope = World().sign("registrar", "incident", body).envelope
    lines = tmp_path / "in.jsonl"
    lines.write_text(json.dumps({"envelope": envelope.to_json()}) + "\n")
    result = initialised("submit", str(lines), code=1)
    assert result.stderr.startswith("error [invalid]: line 1: an incident that converts grievance")
