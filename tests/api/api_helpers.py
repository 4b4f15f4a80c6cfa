"""Helpers of the API tests: request bodies from signed submissions, and proof checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from factories import signer
from flask import Flask
from flask.testing import FlaskClient
from ledgers import DATA_KEY
from werkzeug.test import TestResponse

from api import state
from ledger import merkle
from ledger.checkpoint import Checkpoint, VerifierKey, verify_checkpoint
from ledger.registry import tokens
from ledger.sealing import Sealer
from ledger.statements import Submission

ERROR_KEYS = {"code", "status", "message", "errors"}
# What must never reach a client, whatever failed: tracebacks, SQL, driver and exception names.
_LEAK_PATTERNS = (
    r"Traceback",
    r'File "',
    r"\bline \d+, in\b",
    r"\bSELECT\b.*\bFROM\b",
    r"\bINSERT\s+INTO\b",
    r"\bDELETE\s+FROM\b",
    r"\bUPDATE\s+\w+\s+SET\b",
    r"\[SQL",
    r"sqlalchemy|psycopg|sqlite3",
    r"RuntimeError",
)
LEAKS = [re.compile(p, re.IGNORECASE) for p in _LEAK_PATTERNS]


def app_config(db_url: str, **overrides: object) -> dict[str, object]:
    """The config of a test app on ``db_url`` with the fixed test keys."""
    return {
        "DATABASE_URL": db_url,
        "TESTING": True,
        "OPERATOR_SIGNER": signer("operator"),
        "SEALER": Sealer(DATA_KEY),
        **overrides,
    }


def bearer(app: Flask, actor: str) -> dict[str, str]:
    """The Authorization header of a token of ``actor`` (issued once per app, then reused)."""
    issued: dict[str, str] = app.extensions.setdefault("test_tokens", {})
    if actor not in issued:
        issued[actor] = tokens.issue(app.extensions[state.EXTENSION].engine, actor)[0]
    return {"Authorization": f"Bearer {issued[actor]}"}


def payload(submission: Submission) -> dict[str, Any]:
    """The JSON body of ``POST /v1/statements`` for a signed submission."""
    return {
        "envelope": submission.envelope.to_json(),
        "disclosures": [d.to_json() for d in submission.disclosures],
    }


def post(client: FlaskClient, submission: Submission) -> TestResponse:
    """Submit with a token of the statement's signer."""
    headers = bearer(client.application, submission.envelope.statement.actor)
    return client.post("/v1/statements", json=payload(submission), headers=headers)


def api_submitter(client: FlaskClient) -> Callable[[Submission], bytes]:
    """A ``World.submit`` through the API; a refusal fails the test with the error body."""

    def submit(submission: Submission) -> bytes:
        response = post(client, submission)
        assert response.status_code in (200, 201), response.get_json()
        return bytes.fromhex(response.get_json()["leaf_hash"])

    return submit


def assert_error(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error in the one shape, with ``status`` (and ``code``)."""
    body = response.get_json()
    assert response.status_code == status, body
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == status
    assert isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code, body
    assert_no_leak(response)
    return body


def assert_no_leak(response: TestResponse) -> None:
    text = response.get_data(as_text=True)
    for pattern in LEAKS:
        assert not pattern.search(text), (pattern.pattern, text)


def operator_key(client: FlaskClient) -> VerifierKey:
    return VerifierKey.parse(client.get("/v1/operator-key").get_json()["verifier_key"])


def verified_checkpoint(client: FlaskClient, checkpoint: dict[str, Any]) -> Checkpoint:
    """Verify a checkpoint object of a response with the operator key from the API."""
    key = operator_key(client)
    verified = verify_checkpoint(checkpoint["note"], key, key.name)
    assert (verified.size, verified.root.hex()) == (checkpoint["size"], checkpoint["root"])
    return verified


def verify_inclusion(proof: dict[str, Any], checkpoint: Checkpoint) -> None:
    """Check an inclusion proof object against a verified checkpoint (raises ProofError)."""
    assert proof["tree_size"] == checkpoint.size
    merkle.verify_inclusion(
        bytes.fromhex(proof["leaf_hash"]),
        proof["seq"],
        checkpoint.size,
        [bytes.fromhex(h) for h in proof["proof"]],
        checkpoint.root,
    )
