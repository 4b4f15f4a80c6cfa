"""``ledger serve``: gunicorn workers serving the API, configured like the CLI; fail closed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger.checkpoint import VerifierKey, verify_checkpoint
from ledger.cli import main

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
ORIGIN = "serve.test.example/ledger"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as response:
        return bytes(response.read())


def _wait_until_up(url: str, server: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"ledger serve exited early: {server.communicate()}")
        try:
            _get(url)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    pytest.fail(f"ledger serve did not answer at {url} within {seconds} s")


@pytest.fixture
def env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        "DATABASE_URL": db_url,
        "LEDGER_KEYS_DIR": str(tmp_path / "keys"),
        "LEDGER_KEY_PASSPHRASE": "a passphrase for the serve test",
    }
    result = CliRunner().invoke(main, ["init", "--origin", ORIGIN], env=env)
    assert result.exit_code == 0, result.output
    return env


@SQLITE_ONLY  # process plumbing: the engines are covered by every other API test
def test_serve_runs_the_api_under_gunicorn(env: dict[str, str]) -> None:
    port = _free_port()
    command = [sys.executable, "-c", "from ledger.cli import main; main()", "serve",
               "--port", str(port), "--workers", "2"]  # fmt: skip
    server = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/v1/operator-key", server)
        key = VerifierKey.parse(json.loads(_get(f"{base}/v1/operator-key"))["verifier_key"])
        checkpoint = verify_checkpoint(_get(f"{base}/v1/checkpoint"), key, ORIGIN)
        assert checkpoint.size == 1  # the genesis
        assert b"swagger-ui" in _get(f"{base}/docs")
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert f"{base}/docs" in out and f"{base}/v1/checkpoint" in out
    assert "Traceback" not in err
    # the access lines, buffered by the workers, were all written when they stopped
    assert out.count('"GET /v1/operator-key HTTP/1.1" 200 ') >= 2
    assert '"GET /docs HTTP/1.1" 200 ' in out


@SQLITE_ONLY
def test_serve_fails_closed_without_its_keys(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["serve"], env={**env, "LEDGER_KEY_PASSPHRASE": ""})
    assert result.exit_code == 1
    assert "error [no_operator_key]" in result.stderr


def test_the_default_worker_count_is_the_one_the_benchmark_baseline_uses() -> None:
    """`ledger serve --workers` defaults to :data:`api.serve.WORKERS`, which the API
    benchmark's bare-stack baseline serves with (the CLI cannot import it: the web stack
    loads only when serving)."""
    from api.serve import WORKERS

    serve = main.commands["serve"]
    (workers,) = [p for p in serve.params if p.name == "workers"]
    assert workers.default == WORKERS == 2
