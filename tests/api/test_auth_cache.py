"""The per-process token cache: how long a revocation can take, and that refusals are not kept."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from api_helpers import app_config, assert_error, payload
from factories import World
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api import auth, create_app, dispose, state
from ledger.errors import AuthenticationError
from ledger.registry import tokens
from ledger.registry.access import Caller

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _app(db_url: str, seconds: float) -> Flask:
    return create_app(app_config(db_url, API_TOKEN_CACHE_SECONDS=seconds))


@pytest.fixture
def cached(db_url: str, seeded: World) -> Iterator[Flask]:
    app = _app(db_url, 60.0)
    yield app
    dispose(app)


@pytest.fixture
def uncached(db_url: str, seeded: World) -> Iterator[Flask]:
    app = _app(db_url, 0.0)
    yield app
    dispose(app)


def _issue(app: Flask, actor: str) -> tuple[str, str]:
    token, info = tokens.issue(app.extensions[state.EXTENSION].engine, actor)
    return token, info.id


def _revoke(app: Flask, token_id: str) -> None:
    tokens.revoke(app.extensions[state.EXTENSION].engine, token_id)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_the_cache_forgets_a_caller_after_its_period() -> None:
    now = [100.0]
    cache = auth.TokenCache(5.0, clock=lambda: now[0])
    who = Caller("coop-a", frozenset({"cooperative"}))
    cache.put(b"k", who)
    now[0] = 104.9
    assert cache.get(b"k") == who
    now[0] = 105.0
    assert cache.get(b"k") is None
    assert cache.get(b"other") is None


@SQLITE_ONLY
def test_a_revoked_token_is_refused_at_once_without_the_cache(
    uncached: Flask, seeded: World
) -> None:
    client = uncached.test_client()
    token, token_id = _issue(uncached, "coop-a")
    first = client.post(
        "/v1/statements", json=payload(seeded.register_lot("lot-1")), headers=_auth(token)
    )
    assert first.status_code == 201
    _revoke(uncached, token_id)
    second = client.post(
        "/v1/statements", json=payload(seeded.register_lot("lot-2")), headers=_auth(token)
    )
    assert "revoked" in assert_error(second, 401, "unauthenticated")["message"]
    assert client.get("/v1/lots/lot-2").status_code == 404


@SQLITE_ONLY
def test_a_revoked_token_works_until_its_cached_period_ends(cached: Flask, seeded: World) -> None:
    """The documented trade-off: a revocation reaches a worker within the cache's period."""
    client = cached.test_client()
    token, token_id = _issue(cached, "coop-a")
    first = client.post(
        "/v1/statements", json=payload(seeded.register_lot("lot-1")), headers=_auth(token)
    )
    assert first.status_code == 201
    _revoke(cached, token_id)
    second = client.post(
        "/v1/statements", json=payload(seeded.register_lot("lot-2")), headers=_auth(token)
    )
    assert second.status_code == 201  # remembered
    cached.extensions.pop("asm-ledger.token-cache")  # the period ends
    third = client.post(
        "/v1/statements", json=payload(seeded.register_lot("lot-3")), headers=_auth(token)
    )
    assert "revoked" in assert_error(third, 401, "unauthenticated")["message"]


@SQLITE_ONLY
def test_a_refused_token_is_not_remembered(cached: Flask, seeded: World) -> None:
    client = cached.test_client()
    token, token_id = _issue(cached, "coop-a")
    _revoke(cached, token_id)
    item = payload(seeded.register_lot("lot-1"))
    for _ in range(2):
        assert_error(client.post("/v1/statements", json=item, headers=_auth(token)), 401)
    cache = cached.extensions.get("asm-ledger.token-cache")
    assert cache is None or cache.get(tokens.token_hash(token)) is None


@SQLITE_ONLY
def test_a_cached_token_still_only_hands_in_its_own_actors_statements(
    cached: Flask, seeded: World
) -> None:
    client = cached.test_client()
    token, _ = _issue(cached, "coop-b")
    for lot in ("lot-1", "lot-2"):  # the second request authenticates from the cache
        response = client.post(
            "/v1/statements", json=payload(seeded.register_lot(lot)), headers=_auth(token)
        )
        assert_error(response, 403, "token_actor_mismatch")
    assert client.get("/v1/lots/lot-1").status_code == 404


# -- a cache miss: one query in plain SQL, on a pooled connection given back at once ----------
def test_a_miss_leaves_the_pool_as_it_found_it(uncached: Flask, seeded: World) -> None:
    """On PostgreSQL the query runs outside a transaction; the connection goes back to the
    pool as it came (not in autocommit, no transaction open), on both engines."""
    engine = uncached.extensions[state.EXTENSION].engine
    token, info = tokens.issue(engine, "trader-a")
    for _ in range(3):
        found = tokens.authenticate_caller(engine, token, now=info.created)
        assert found == Caller("trader-a", frozenset({"trader"}))
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    with engine.connect() as conn:
        driver = conn.connection.dbapi_connection
        if engine.dialect.name == "postgresql":
            assert driver.autocommit is False  # type: ignore[union-attr]
            assert driver.info.transaction_status.name == "IDLE"  # type: ignore[union-attr]
        with conn.begin():  # and it still works in a transaction
            assert conn.execute(text("SELECT count(*) FROM api_tokens")).scalar_one() == 1


def test_a_miss_reads_what_the_table_says(uncached: Flask, seeded: World) -> None:
    engine = uncached.extensions[state.EXTENSION].engine
    token, info = tokens.issue(engine, "coop-a", label="phone")
    assert tokens.authenticate(engine, token, now=info.created) == info
    registrar, _ = tokens.issue(engine, "registrar")
    assert tokens.authenticate_caller(engine, registrar, now=info.created).roles == {"registrar"}
    with pytest.raises(AuthenticationError, match="unknown"):
        tokens.authenticate(engine, "asml_" + "A" * 43, now=info.created)


def test_a_database_failure_during_a_miss_is_the_usual_error(
    uncached: Flask, seeded: World
) -> None:
    """A driver error is raised as SQLAlchemy's, so the API answers as for any other database
    failure (SQLite: 503 unavailable), without SQL or a traceback."""
    engine = uncached.extensions[state.EXTENSION].engine
    token, _ = tokens.issue(engine, "coop-a")
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE api_tokens RENAME TO api_tokens_gone"))
    with pytest.raises(DBAPIError):
        tokens.authenticate(engine, token, now=datetime.now(UTC))
    response = uncached.test_client().post(
        "/v1/statements", json=payload(seeded.register_lot("lot-1")), headers=_auth(token)
    )
    if engine.dialect.name == "sqlite":
        assert_error(response, 503, "unavailable")
    else:  # a missing table is a programming error there: 500
        assert_error(response, 500, "internal")
