"""``ledger client ...`` end to end against the app (in-process transport injected via ``obj``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from client_helpers import URL, Faulty, Rewriting, logged_counters, lot_body
from factories import World, seed
from sqlalchemy import Engine

from ledger.checkpoint import VerifierKey
from ledger.client.cli import EXIT_FORK, EXIT_UNREACHABLE, Hooks, client
from ledger.crypto import Ed25519Signer
from ledger.keystore import Keystore

PASSPHRASE = "a long test passphrase"

Run = Callable[..., Result]


@pytest.fixture
def env(tmp_path: Path, token_for: Callable[[str], str], seeded: World) -> dict[str, str]:
    keys = tmp_path / "keys"
    Keystore(keys, PASSPHRASE).create("coop-a", seed=seed("coop-a"))
    return {
        "LEDGER_KEYS_DIR": str(keys),
        "LEDGER_KEY_PASSPHRASE": PASSPHRASE,
        "COOP_TOKEN": token_for("coop-a"),
        "LEDGER_CLIENT_JOURNAL": str(tmp_path / "coop.journal"),
    }


@pytest.fixture
def run(env: dict[str, str], network: Faulty) -> Run:
    def invoke(*args: str, transport: Any = None, **extra_env: str) -> Result:
        return CliRunner().invoke(
            client,
            list(args),
            obj=Hooks(transport=transport or network),
            env={**env, **extra_env},
            catch_exceptions=False,
        )

    return invoke


@pytest.fixture
def ready(run: Run, operator_key: VerifierKey) -> Run:
    """``run`` on a journal set up for coop-a."""
    result = run(
        "init",
        "--url",
        URL,
        "--actor",
        "coop-a",
        "--key",
        "coop-a",
        "--token-env",
        "COOP_TOKEN",
        "--operator-key",
        str(operator_key),
    )
    assert result.exit_code == 0, result.output
    return run


def _json(result: Result) -> Any:
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sign_offline_then_sync_status_and_check(ready: Run, network: Faulty) -> None:
    online = ready("sign", "lot.register", "--body", json.dumps(lot_body("lot-1")))
    assert online.exit_code == 0, online.output
    assert _json(online)["status"] == "accepted"
    assert _json(online)["n"] == 2
    network.down = True
    for lot in ("lot-2", "lot-3"):
        offline = ready(
            "sign",
            "lot.register",
            "--offline",
            "--body",
            json.dumps(lot_body(lot)),
            "--private",
            '{"price": {"usd_cents": 125000}}',
        )
        assert offline.exit_code == 0, offline.output
        assert _json(offline)["status"] == "pending"
    assert network.paths("POST") == ["/v1/statements/batch"]  # --offline sent nothing
    status = _json(ready("status"))
    assert (status["pending"], status["accepted"]) == (2, 1)
    down = ready("sync")
    assert down.exit_code == EXIT_UNREACHABLE
    assert "2 still pending" in down.stderr
    network.down = False
    synced = ready("sync")
    assert synced.exit_code == 0, synced.output
    assert "syncing" in synced.stderr  # the progress bar
    report = _json(synced)
    assert (report["accepted"], report["pending"], report["rejected"]) == (2, 0, 0)
    status = _json(ready("status"))
    assert (status["pending"], status["accepted"]) == (0, 3)
    assert status["checkpoint"]["size"] == report["checkpoint"]["size"]
    checked = ready("check")
    assert checked.exit_code == 0, checked.output
    assert _json(checked)["previous_size"] == report["checkpoint"]["size"]


def test_sign_while_the_server_is_down_keeps_the_statement(ready: Run, network: Faulty) -> None:
    assert ready("sign", "lot.register", "--body", json.dumps(lot_body("lot-1"))).exit_code == 0
    network.down = True
    result = ready("sign", "lot.register", "--body", json.dumps(lot_body("lot-2")))
    assert result.exit_code == 0, result.output
    assert _json(result)["status"] == "pending"
    assert "kept in the journal" in result.stderr


def test_a_rejected_statement_fails_sign_and_sync(ready: Run, network: Faulty) -> None:
    assert ready("sign", "lot.register", "--body", json.dumps(lot_body("lot-1"))).exit_code == 0
    reused = json.dumps(lot_body("lot-2", tags=["T-lot-1"]))
    rejected = ready("sign", "lot.register", "--body", reused)
    assert rejected.exit_code == 1
    assert "error [tag_reused]" in rejected.stderr
    assert ready("sign", "lot.register", "--offline", "--body", reused).exit_code == 0
    synced = ready("sync")
    assert synced.exit_code == 1
    assert "[tag_reused]" in synced.stderr
    status = _json(ready("status"))
    assert status["rejected"] == 2
    assert {s["code"] for s in status["rejected_statements"]} == {"tag_reused"}


def test_check_prints_both_checkpoints_of_a_fork(ready: Run, network: Faulty, world: World) -> None:
    first = ready("check")
    assert first.exit_code == 0
    seen_note = json.loads(first.stdout)["note"]
    world.run(world.register_lot("lot-1"))

    def forked(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, "proof": [("0" * 63 + "1") for _ in body["proof"]]}

    liar = Rewriting(network, "/v1/proofs/consistency", forked)
    result = ready("check", transport=liar)
    assert result.exit_code == EXIT_FORK
    assert "error [fork]" in result.stderr
    assert seen_note in result.stderr
    served = network.requests[-2]  # the checkpoint request, before the consistency proof
    assert served.url.path == "/v1/checkpoint"
    assert result.stderr.count("— test.asm-ledger.example/ledger") == 2  # two signed notes


def test_the_token_is_never_written_to_the_journal(
    ready: Run, env: dict[str, str], tmp_path: Path
) -> None:
    assert ready("sign", "lot.register", "--body", json.dumps(lot_body("lot-1"))).exit_code == 0
    written = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert env["COOP_TOKEN"].encode() not in written
    assert b"COOP_TOKEN" in written  # only the variable's name


def test_without_the_token_writes_fail_and_stay_pending(ready: Run) -> None:
    result = ready("sign", "lot.register", "--body", json.dumps(lot_body("lot-1")), COOP_TOKEN="")
    assert result.exit_code == 1
    assert "error [unauthenticated]" in result.stderr
    assert _json(ready("status"))["pending"] == 1


def test_init_needs_the_key_and_is_done_once(run: Run, operator_key: VerifierKey) -> None:
    args = ["--url", URL, "--actor", "coop-a", "--operator-key", str(operator_key)]
    missing = run("init", *args, "--key", "nobody")
    assert missing.exit_code == 1
    assert "error [no_key]" in missing.stderr
    assert run("init", *args, "--key", "coop-a").exit_code == 0
    again = run("init", *args, "--key", "coop-a")
    assert again.exit_code == 1
    assert "already set up" in again.stderr
    bad = run("init", "--url", URL, "--actor", "coop-a", "--key", "coop-a",
              "--operator-key", "nonsense", "--journal", "other.journal")  # fmt: skip
    assert bad.exit_code == 1


def test_commands_need_an_initialised_journal(run: Run, tmp_path: Path) -> None:
    result = run("status", "--journal", str(tmp_path / "none.journal"))
    assert result.exit_code == 1
    assert "ledger client init" in result.stderr


def test_signing_needs_the_passphrase(ready: Run) -> None:
    result = ready(
        "sign", "lot.register", "--body", json.dumps(lot_body("lot-1")), LEDGER_KEY_PASSPHRASE=""
    )
    assert result.exit_code == 1
    assert "error [no_passphrase]" in result.stderr


def test_a_body_must_be_a_json_object(ready: Run) -> None:
    result = ready("sign", "lot.register", "--body", "[1, 2]")
    assert result.exit_code == 1
    assert "--body must be a JSON object" in result.stderr


def test_the_server_log_holds_what_the_cli_signed(ready: Run, engine: Engine) -> None:
    signed = _json(ready("sign", "lot.register", "--body", json.dumps(lot_body("lot-1"))))
    key = Ed25519Signer.from_seed(seed("coop-a")).key_id
    assert logged_counters(engine, key) == [1, signed["n"]]


def test_explicit_heads_can_be_given(ready: Run) -> None:
    signed = _json(ready("sign", "lot.register", "--body", json.dumps(lot_body("lot-1"))))
    dispatch = json.dumps(
        {"lot": "lot-1", "to": "trader-a", "mass_g": 100_000, "tags": ["T-lot-1"]}
    )
    stale = ready(
        "sign", "lot.dispatch", "--body", dispatch, "--after", '{"lot:lot-1": "' + "07" * 32 + '"}'
    )
    assert stale.exit_code == 1
    assert "error [stale_after]" in stale.stderr
    head = json.dumps({"lot:lot-1": signed["leaf_hash"]})
    fresh = ready("sign", "lot.dispatch", "--body", dispatch, "--after", head)
    assert fresh.exit_code == 0, fresh.output
    assert _json(fresh)["status"] == "accepted"
