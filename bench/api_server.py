"""The API benchmark's server: a seeded ledger, API tokens, and ``ledger serve`` on loopback.

Set-up only, never timed. The ledger gets the benchmark registry and the warm-up waves of
:mod:`bench.ledgers` (so that the steady mix can follow), a keystore holding the benchmark's
operator key (the one its genesis names) and a fresh data key, and one API token per actor,
issued with :func:`ledger.registry.tokens.issue` (what ``ledger tokens create ACTOR`` calls).
Then the real server starts as its own process: ``ledger serve`` (gunicorn, its default workers)
on ``127.0.0.1`` and a free port, with the same environment a deployment would give it.

The server process imports ``ledger/`` from the benchmark's code snapshot (its working
directory) and ``api/`` from the installed working tree (the snapshot holds no ``api/``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from bench.ledgers import BENCH_DIR, CODE, populated
from bench.workload import Workload, _cast, operator, seed
from ledger.custody.log import Ledger
from ledger.keystore import Keystore
from ledger.registry import tokens

PASSPHRASE = "api benchmark passphrase (not a secret)"
START_SECONDS = 60.0


@dataclass(frozen=True)
class Server:
    """A running ``ledger serve``: where it listens, and a token for every benchmark actor."""

    host: str
    port: int
    tokens: dict[str, str]
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def seed_ledger(engine: Engine, keys_dir: Path, workload: Workload, wave: int) -> None:
    """Keystore (operator key from its fixed seed, a new data key), registry and warm-up."""
    shutil.rmtree(keys_dir, ignore_errors=True)
    keystore = Keystore(keys_dir, PASSPHRASE)
    keystore.create("operator", seed=seed("operator"))
    ledger = Ledger(engine, operator=operator(), sealer=keystore.sealer(create=True))
    populated(ledger, workload, wave=wave)
    ledger.latest_checkpoint()  # the server's start-up check wants one of the current size


def issue_tokens(engine: Engine) -> dict[str, str]:
    """One API token per actor of the cast (and the registrar)."""
    actors = ["registrar", *(actor for actor, _role in _cast())]
    return {actor: tokens.issue(engine, actor, label="bench")[0] for actor in actors}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(
    database_url: str,
    keys_dir: Path,
    issued: dict[str, str],
    name: str,
    workers: int | None = None,
) -> Iterator[Server]:
    """``ledger serve`` on a free loopback port until the block ends (then SIGTERM);
    ``workers`` overrides its default number of worker processes."""
    port = free_port()
    log = BENCH_DIR / f"api-{name}-server.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LEDGER_KEYS_DIR": str(keys_dir),
        "LEDGER_KEY_PASSPHRASE": PASSPHRASE,
    }
    command = [sys.executable, "-c", "from ledger.cli import main; main()", "serve",
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    if workers is not None:
        command += ["--workers", str(workers)]
    with running(command, port, log, issued, env) as server:
        yield server


@contextmanager
def running(
    command: list[str],
    port: int,
    log: Path,
    issued: dict[str, str],
    env: dict[str, str] | None = None,
) -> Iterator[Server]:
    """``command`` (a server listening on ``127.0.0.1:port``) as its own process, its output in
    ``log``, from when it answers until the block ends (then SIGTERM)."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=CODE, env=env, stdout=out, stderr=out)
    server = Server("127.0.0.1", port, issued, process, log)
    try:
        wait_until_up(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(server: Server) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"ledger serve exited early; see {server.log}")
        try:
            with urllib.request.urlopen(f"{server.url}/v1/checkpoint", timeout=5):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    raise RuntimeError(f"ledger serve did not answer within {START_SECONDS:.0f} s")
