"""One error shape for every failure; server-side failures never leak their details."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy.exc
from api_helpers import ERROR_KEYS, assert_error, assert_no_leak, payload
from factories import World
from flask.testing import FlaskClient

import api.queries.custody
from api import errors
from ledger import errors as ledger_errors

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_the_status_table() -> None:
    expected = {
        ledger_errors.ValidationError: 400,
        ledger_errors.TooLargeError: 413,
        ledger_errors.SignatureError: 422,
        ledger_errors.ForbiddenError: 403,
        ledger_errors.NotFoundError: 404,
        ledger_errors.ConflictError: 409,
        ledger_errors.PolicyError: 422,
        ledger_errors.ProofError: 500,
        ledger_errors.IntegrityError: 500,
        ledger_errors.ConfigError: 503,
        ledger_errors.LedgerError: 500,
    }
    for cls, status in expected.items():
        assert errors.status_of(cls("a message", code="some_code")) == status, cls
    described = errors.describe(ledger_errors.PolicyError("too much tin", code="mass_balance"))
    assert described == {"code": "mass_balance", "status": 422, "message": "too much tin",
                         "errors": {}}  # fmt: skip


def test_server_errors_are_described_without_their_details() -> None:
    secret = "stored tree nodes are missing: [(3, 1)] in /var/lib/ledger.db"
    for cls, status in ((ledger_errors.IntegrityError, 500), (ledger_errors.ConfigError, 503),
                        (ledger_errors.ProofError, 500)):  # fmt: skip
        described = errors.describe(cls(secret, code="tree_incomplete"))
        assert set(described) == ERROR_KEYS
        assert described["status"] == status
        assert "tree" not in described["message"] and described["code"] != "tree_incomplete"


@SQLITE_ONLY
def test_unknown_routes_and_methods(client: FlaskClient) -> None:
    assert_error(client.get("/v1/nothing-here"), 404, "not_found")
    assert_error(client.get("/"), 404, "not_found")
    response = client.delete("/v1/lots")
    assert_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]
    assert_error(client.get("/v1/statements"), 405, "method_not_allowed")
    assert_error(client.put("/v1/checkpoint"), 405, "method_not_allowed")


FAILURES = {
    "runtime": (RuntimeError("boom in SELECT secret FROM lots"), 500, "internal"),
    "sql": (sqlalchemy.exc.ProgrammingError("SELECT * FROM lots", {}, Exception("bad")), 500,
            "internal"),
    "database": (sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("closed")), 503,
                 "unavailable"),
    "integrity": (ledger_errors.IntegrityError("root differs at /var/lib/x.db"), 500, "integrity"),
    "config": (ledger_errors.ConfigError("no data key in /etc/keys"), 503, "config"),
}  # fmt: skip


@SQLITE_ONLY
@pytest.mark.parametrize(("exc", "status", "code"), FAILURES.values(), ids=FAILURES.keys())
def test_unexpected_failures_are_logged_not_shown(
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    exc: Exception,
    status: int,
    code: str,
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr(api.queries.custody, "list_lots", fail)
    with caplog.at_level(logging.ERROR, logger="api"):
        body = assert_error(client.get("/v1/lots"), status, code)
    assert body["errors"] == {}
    assert "lots" not in body["message"] and "/var" not in body["message"]
    assert caplog.records and caplog.records[-1].exc_info is not None  # the traceback is logged


@SQLITE_ONLY
def test_no_failure_shows_a_traceback_or_sql(world: World, client: FlaskClient) -> None:
    envelope = payload(world.register_lot("lot-1"))["envelope"]
    envelope["statement"]["body"]["mass_g"] = "'; DROP TABLE lots; --"
    failures = [
        client.post("/v1/statements", data="{", content_type="application/json"),
        client.post("/v1/statements", data=b"\xff\xfe", content_type="application/json"),
        client.post("/v1/statements", json={"envelope": envelope}),
        client.post("/v1/statements", json={"envelope": {"statement": [], "sig": 1}}),
        client.post("/v1/statements/batch", json={"statements": "all of them"}),
        client.get("/v1/lots?cursor=J3x8Jw"),
        client.get("/v1/lots/%27%20OR%201%3D1"),
        client.get("/v1/entries/99999999999999999999"),
        client.get("/v1/proofs/inclusion?seq=1&size=99999999999999999999"),
        client.get("/v1/proofs/consistency?old=x&new=y"),
        client.get("/v1/attestations?subject_id=%00"),
        client.patch("/v1/statements"),
    ]
    for response in failures:
        assert 400 <= response.status_code < 500, response.get_json()
        assert set(response.get_json()) == ERROR_KEYS
        assert_no_leak(response)
