"""Anonymous grievances: nothing identifying kept, text sealed, rate limit, public counts,
private reads, and conversion into an incident signed by the registrar (both engines)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from api_helpers import app_config, assert_error, bearer, payload
from factories import World
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, inspect, select, text
from werkzeug.test import TestResponse

from api import create_app, dispose
from ledger.custody.audit import audit
from ledger.custody.grievances import GRIEVANCES
from ledger.custody.models import IncidentRow, LogHeadRow
from ledger.errors import ConfigError

CANARY = "canary-grievance-text-7f3e: the pit boss takes our children"
ADDRESS = "203.0.113.77"
AGENT = "CanaryPhone/9.9 (grievance-agent-5d1c)"
REPORT = {"site": "site-a", "category": "child_labour", "text": CANARY, "language": "sw"}
COLUMNS = {"id", "site", "category", "language", "received", "ciphertext", "status",
           "incident", "converted_seq"}  # fmt: skip


def anonymous(app: Flask, address: str = ADDRESS) -> FlaskClient:
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=address, HTTP_USER_AGENT=AGENT)
    return client


def environ_after(app: Flask) -> dict[str, Any]:
    """What the server's access log reads once the app has answered (gunicorn logs from the
    same environment dict it handed to the app; the test client hands the app a copy)."""
    seen: dict[str, Any] = {}
    inner = app.wsgi_app

    def recording(environ: dict[str, Any], start_response: Any) -> Any:
        answer = inner(environ, start_response)
        seen.clear()
        seen.update(environ)
        return answer

    app.wsgi_app = recording  # type: ignore[method-assign]
    return seen


def report(client: FlaskClient, **changes: Any) -> TestResponse:
    return client.post("/v1/grievances", json={**REPORT, **changes})


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(select(GRIEVANCES))]


def log_size(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(LogHeadRow.size)).scalar_one())


def test_a_report_keeps_nothing_that_identifies_the_reporter(app: Flask, engine: Engine) -> None:
    environ = environ_after(app)
    response = report(anonymous(app))
    assert response.status_code == 201, response.get_json()
    receipt = response.get_json()
    today = datetime.now(UTC).date().isoformat()
    assert receipt == {"id": receipt["id"], "site": "site-a", "category": "child_labour",
                       "received": today, "status": "open"}  # fmt: skip
    assert CANARY not in response.get_data(as_text=True)
    # the table has no column for anything about the reporter, and the row holds none of it
    assert {c["name"] for c in inspect(engine).get_columns("grievances")} == COLUMNS
    (row,) = stored(engine)
    assert row["received"] == today and len(row["received"]) == 10  # the day, no time
    values = " ".join(repr(v) for v in row.values())
    for secret in (ADDRESS, AGENT, "CanaryPhone", CANARY, "pit boss"):
        assert secret not in values
    assert CANARY.encode() not in bytes(row["ciphertext"])
    # the access log reads the request's environment afterwards: the client is forgotten
    assert (environ["REMOTE_ADDR"], environ["HTTP_USER_AGENT"]) == ("-", "-")


def test_the_servers_access_line_has_no_address_or_agent(app: Flask) -> None:
    """``ledger serve``'s access logger writes its line from the environment the app saw."""
    from gunicorn.config import Config
    from gunicorn.glogging import SafeAtoms

    from api.serve import AccessLogger

    environ = environ_after(app)
    assert report(anonymous(app)).status_code == 201

    class Answer:
        status, sent, headers = "201 CREATED", 120, ()

    class Asked:
        headers = (("USER-AGENT", AGENT),)  # the default format reads no request header

    cfg = Config()
    atoms = AccessLogger(cfg).atoms(Answer(), Asked(), environ, timedelta(milliseconds=3))
    line = str(cfg.access_log_format % SafeAtoms(atoms))
    assert "POST /v1/grievances" in line and " 201 " in line
    assert ADDRESS not in line and "CanaryPhone" not in line


def test_the_text_is_not_readable_in_the_database_file(
    app: Flask, engine: Engine, db_url: str
) -> None:
    assert report(anonymous(app)).status_code == 201
    if db_url.startswith("sqlite"):
        path = Path(engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())
        assert b"grievances" in raw  # the file holds the table ...
        assert CANARY.encode() not in raw and b"pit boss" not in raw  # ... and not the text
    else:
        with engine.connect() as conn:
            dumped = conn.execute(text("SELECT grievances::text FROM grievances")).scalar_one()
        assert "pit boss" not in dumped and "site-a" in dumped


def test_bad_input_is_a_400_per_field_and_writes_nothing(app: Flask, engine: Engine) -> None:
    client = anonymous(app)
    body = assert_error(
        client.post("/v1/grievances", json={"site": "bad id!", "category": "gossip", "text": ""}),
        400,
        "invalid",
    )
    assert set(body["errors"]["json"]) == {"site", "category", "text"}
    body = assert_error(client.post("/v1/grievances", json={"site": "site-a"}), 400, "invalid")
    assert set(body["errors"]["json"]) == {"category", "text"}
    body = assert_error(report(client, language="not a tag", extra=1), 400, "invalid")
    assert set(body["errors"]["json"]) == {"language", "extra"}
    body = assert_error(report(client, text="a\x00b"), 400, "invalid")
    assert set(body["errors"]["json"]) == {"text"}
    assert_error(report(client, text="x" * 4001), 400, "invalid")
    assert_error(client.post("/v1/grievances", data="site=site-a"), 415)
    assert stored(engine) == []


def test_an_unknown_site_is_a_404_and_writes_nothing(app: Flask, engine: Engine) -> None:
    body = assert_error(report(anonymous(app), site="no-such-site"), 404, "unknown_site")
    assert body["errors"] == {"json": {"site": [body["message"]]}}
    assert stored(engine) == []


@pytest.fixture
def limited(db_url: str, seeded: World) -> Iterator[Flask]:
    app = create_app(app_config(db_url, LEDGER_GRIEVANCE_RATE_LIMIT="3 per hour"))
    yield app
    dispose(app)


def test_the_rate_limit_is_enforced_per_address(limited: Flask, engine: Engine) -> None:
    environ = environ_after(limited)
    client = anonymous(limited)
    for _ in range(2):
        assert report(client).status_code == 201
    assert_error(report(client, site="bad id!"), 400)  # refused requests count too
    refused = report(client)
    body = assert_error(refused, 429, "rate_limited")
    assert "3 per 1 hour" in body["message"] and body["errors"] == {}
    assert int(refused.headers["Retry-After"]) > 0
    assert (environ["REMOTE_ADDR"], environ["HTTP_USER_AGENT"]) == ("-", "-")  # on a 429 too
    assert len(stored(engine)) == 2  # nothing written over the limit
    assert report(anonymous(limited, "198.51.100.9")).status_code == 201  # another address
    # the limit is on reporting only: other routes are neither counted nor checked
    for _ in range(5):
        assert client.get("/v1/sites/site-a/grievances").status_code == 200
    check = limited.extensions["asm-ledger.grievance-limiter"].check
    assert check not in limited.before_request_funcs.get(None, [])
    assert limited.before_request_funcs["grievance_reports"] == [check]


def test_a_rate_limit_the_server_cannot_use_stops_it(db_url: str, seeded: World) -> None:
    with pytest.raises(ConfigError, match="LEDGER_GRIEVANCE_RATE_LIMIT") as raised:
        create_app(app_config(db_url, LEDGER_GRIEVANCE_RATE_LIMIT="plenty"))
    assert raised.value.code == "bad_rate_limit"


def test_the_limiter_never_keeps_the_address(limited: Flask) -> None:
    report(anonymous(limited))
    limiter = limited.extensions["asm-ledger.grievance-limiter"]
    keys = " ".join(map(str, limiter.storage.storage))  # memory://: its counters by key
    assert keys and ADDRESS not in keys


def test_counts_are_public_and_never_carry_text(app: Flask, world: World) -> None:
    client = anonymous(app)
    for category in ("child_labour", "child_labour", "environment"):
        assert report(client, category=category).status_code == 201
    assert report(client, site="site-b", category="other").status_code == 201
    response = app.test_client().get("/v1/sites/site-a/grievances")  # no token
    assert response.get_json() == {
        "site": "site-a",
        "total": 3,
        "by_status": {"open": 3, "converted": 0},
        "by_category": {"child_labour": 2, "environment": 1},
    }
    assert CANARY not in response.get_data(as_text=True)
    assert_error(client.get("/v1/sites/no-such-site/grievances"), 404, "unknown_site")


def test_the_text_is_for_the_registrar_auditors_and_regulators(app: Flask, world: World) -> None:
    world.run(world.register_actor("regulator-a", ["regulator"]))
    grievance = report(anonymous(app)).get_json()["id"]
    path = f"/v1/grievances/{grievance}"
    nobody = app.test_client()
    for url in ("/v1/grievances", path):
        assert_error(nobody.get(url), 401, "unauthenticated")
        for outsider in ("coop-a", "trader-a", "inspector-a"):
            assert_error(nobody.get(url, headers=bearer(app, outsider)), 403, "not_entitled")
    for reader in ("registrar", "auditor-a", "regulator-a"):
        shown = nobody.get(path, headers=bearer(app, reader))
        assert shown.get_json()["text"] == CANARY, reader
        assert shown.headers["Cache-Control"] == "no-store"
        listed = nobody.get("/v1/grievances?status=open", headers=bearer(app, reader)).get_json()
        assert [g["id"] for g in listed["items"]] == [grievance]
        assert "text" not in listed["items"][0]
    headers = bearer(app, "auditor-a")
    assert nobody.get("/v1/grievances?status=converted", headers=headers).get_json()["items"] == []
    assert_error(
        nobody.get("/v1/grievances/grv-nothing", headers=headers), 404, "unknown_grievance"
    )


def _incident(world: World, grievance: str, incident: str = "inc-g1", **changes: Any) -> Any:
    body = {
        "id": incident,
        "category": "serious_abuses",
        "severity": "high",
        "subject": {"kind": "site", "id": "site-a"},
        "observed": "2026-01-14",
        "grievance": grievance,
        **changes,
    }
    return world.sign("registrar", "incident", body, private={"details": "checked on site"})


def test_conversion_into_an_incident_end_to_end(
    app: Flask, world: World, engine: Engine, client: FlaskClient
) -> None:
    grievance = report(anonymous(app)).get_json()["id"]
    path = f"/v1/grievances/{grievance}/incident"
    registrar = bearer(app, "registrar")
    submission = _incident(world, grievance)
    response = client.post(path, json=payload(submission), headers=registrar)
    assert response.status_code == 201, response.get_json()
    world.accept(submission, bytes.fromhex(response.get_json()["leaf_hash"]))
    receipt = response.get_json()
    assert receipt["grievance"]["status"] == "converted"
    assert (receipt["grievance"]["incident"], receipt["grievance"]["converted_seq"]) == (
        "inc-g1",
        receipt["seq"],
    )
    assert receipt["inclusion"]["seq"] == receipt["seq"] and receipt["checkpoint"]["note"]
    shown = client.get("/v1/incidents/inc-g1").get_json()
    assert (shown["reporter"], shown["subject"]["id"]) == ("registrar", "site-a")
    entry = client.get(f"/v1/entries/{receipt['seq']}").get_json()
    assert entry["statement"]["body"]["grievance"] == grievance
    assert CANARY not in client.get(f"/v1/entries/{receipt['seq']}").get_data(as_text=True)
    counts = client.get("/v1/sites/site-a/grievances").get_json()
    assert counts["by_status"] == {"open": 0, "converted": 1}
    # the same statement again: a duplicate, nothing new
    again = client.post(path, json=payload(submission), headers=registrar)
    assert again.status_code == 200 and again.get_json()["seq"] == receipt["seq"]
    # another incident for the same grievance: refused before anything is appended
    size = log_size(engine)
    second = _incident(world, grievance, "inc-g2")
    body = assert_error(client.post(path, json=payload(second), headers=registrar), 409,
                        "grievance_converted")  # fmt: skip
    assert "inc-g1" in body["message"]
    assert log_size(engine) == size
    audited = audit(engine, workers=0)
    assert audited.clean, audited.divergence


def test_conversion_refusals_write_nothing(
    app: Flask, world: World, engine: Engine, client: FlaskClient
) -> None:
    grievance = report(anonymous(app)).get_json()["id"]
    registrar = bearer(app, "registrar")
    size = log_size(engine)

    def convert(submission: Any, target: str = grievance, **headers: str) -> TestResponse:
        url = f"/v1/grievances/{target}/incident"
        return client.post(url, json=payload(submission), headers=headers or registrar)

    assert_error(convert(_incident(world, "grv-missing"), "grv-missing"), 404, "unknown_grievance")
    body = assert_error(convert(_incident(world, "grv-other")), 400, "invalid")
    assert "envelope.statement.body.grievance" in body["errors"]["json"]
    resolve = world.sign("registrar", "incident.resolve", {"incident": "x", "resolution": "y"})
    body = assert_error(convert(resolve), 400, "invalid")
    assert "envelope.statement.type" in body["errors"]["json"]
    auditor = world.sign("auditor-a", "incident", _incident(world, grievance).envelope.statement
                         .body)  # fmt: skip
    assert_error(convert(auditor, **bearer(app, "auditor-a")), 403, "wrong_role")
    # the ledger refuses the incident (unknown subject): the grievance is released, still open
    bad = _incident(world, grievance, subject={"kind": "lot", "id": "no-such-lot"})
    assert_error(convert(bad), 404, "unknown_subject")
    assert log_size(engine) == size
    assert [row["status"] for row in stored(engine)] == ["open"]
    assert_error(
        client.post(
            f"/v1/grievances/{grievance}/incident", json=payload(_incident(world, grievance))
        ),
        403,
    )  # coop-a's token
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(IncidentRow)).scalar_one() == 0
    # and it can still be converted
    good = convert(_incident(world, grievance, "inc-g3"))
    assert good.status_code == 201, good.get_json()


def test_the_generic_routes_refuse_an_incident_that_converts_a_grievance(
    app: Flask, world: World, engine: Engine, client: FlaskClient
) -> None:
    grievance = report(anonymous(app)).get_json()["id"]
    registrar = bearer(app, "registrar")
    size = log_size(engine)
    submission = _incident(world, grievance)
    body = assert_error(client.post("/v1/statements", json=payload(submission),
                                    headers=registrar), 400, "grievance_route")  # fmt: skip
    assert "/v1/grievances/{id}/incident" in body["message"]
    batch = client.post("/v1/statements/batch", json={"statements": [payload(submission)]},
                        headers=registrar)  # fmt: skip
    assert batch.status_code == 200, batch.get_json()
    (result,) = batch.get_json()["results"]
    assert (result["status"], result["error"]["code"]) == ("rejected", "grievance_route")
    assert log_size(engine) == size
    assert [row["status"] for row in stored(engine)] == ["open"]
