"""API tokens: issued to registered actors only, stored only as a hash, expiring, revocable.

Also the rule a token is checked against when it hands in a statement
(:func:`ledger.registry.access.check_submitter`), and the ``ledger tokens`` commands.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import click
import pytest
from click.testing import CliRunner, Result
from factories import World
from sqlalchemy import Engine, func, select, text

from ledger.custody.log import Ledger
from ledger.errors import AuthenticationError, ForbiddenError, NotFoundError, ValidationError
from ledger.registry import tokens
from ledger.registry.access import REGISTRY_TYPES, Caller, check_submitter
from ledger.registry.models import ApiTokenRow
from ledger.registry.tokens_cli import erase_miner
from ledger.registry.tokens_cli import tokens as tokens_group
from ledger.statements import STATEMENT_TYPES

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(ApiTokenRow)).scalar_one())


def test_a_token_is_random_prefixed_and_shown_only_once(world: World, engine: Engine) -> None:
    token, info = tokens.issue(engine, "coop-a", label="phone 1", now=NOW)
    other, _ = tokens.issue(engine, "coop-a", now=NOW)
    assert token.startswith("asml_") and len(token) == 48 and token != other
    assert (info.actor, info.label, info.revoked) == ("coop-a", "phone 1", None)
    assert (info.created, info.expires) == (NOW, NOW + timedelta(days=90))
    with engine.connect() as conn:
        rows = [tuple(row) for row in conn.execute(text("SELECT * FROM api_tokens"))]
    assert len(rows) == 2
    stored = repr(rows)
    assert token not in stored and token[5:] not in stored  # no plaintext, whole or in part
    assert any(hashlib.sha256(token.encode()).digest() in row for row in rows)
    assert token not in repr(info)


def test_authenticate_returns_the_tokens_actor(world: World, engine: Engine) -> None:
    token, info = tokens.issue(engine, "trader-a", now=NOW)
    assert tokens.authenticate(engine, token, now=NOW + timedelta(days=1)) == info
    with engine.connect() as conn:
        assert tokens.authenticate(conn, token, now=NOW) == info
        caller = tokens.authenticate_caller(conn, token, now=NOW)
    assert caller == Caller("trader-a", frozenset({"trader"}))


def test_an_expired_token_is_refused(world: World, engine: Engine) -> None:
    token, info = tokens.issue(engine, "coop-a", expires_in=timedelta(days=1), now=NOW)
    tokens.authenticate(engine, token, now=info.expires - timedelta(seconds=1))
    with pytest.raises(AuthenticationError, match="expired") as caught:
        tokens.authenticate(engine, token, now=info.expires)
    assert caught.value.code == "unauthenticated"
    assert info.status(info.expires) == "expired"


def test_a_revoked_token_is_refused_at_once(world: World, engine: Engine) -> None:
    token, info = tokens.issue(engine, "coop-a", now=NOW)
    revoked = tokens.revoke(engine, info.id, now=NOW + timedelta(hours=1))
    assert revoked.revoked == NOW + timedelta(hours=1)
    with pytest.raises(AuthenticationError, match="revoked"):
        tokens.authenticate(engine, token, now=NOW + timedelta(hours=2))
    again = tokens.revoke(engine, info.id, now=NOW + timedelta(days=5))
    assert again.revoked == revoked.revoked  # the first revocation stands
    with pytest.raises(NotFoundError, match="no token") as caught:
        tokens.revoke(engine, "0123456789abcdef")
    assert caught.value.code == "unknown_token"


@pytest.mark.parametrize(
    "case",
    ["empty", "no prefix", "short", "long", "bad character", "one character changed", "other"],
)
def test_anything_but_an_issued_token_is_refused(world: World, engine: Engine, case: str) -> None:
    token, _ = tokens.issue(engine, "coop-a", now=NOW)
    changed = token[:-1] + ("A" if token[-1] != "A" else "B")
    candidates = {
        "empty": "",
        "no prefix": token[5:],
        "short": token[:-1],
        "long": token + "A",
        "bad character": token[:-1] + "=",
        "one character changed": changed,
        "other": "asml_" + "A" * 43,
    }
    with pytest.raises(AuthenticationError) as caught:
        tokens.authenticate(engine, candidates[case], now=NOW)
    assert caught.value.code == "unauthenticated"
    assert caught.value.details.get("invalid_token") is True


def test_a_token_for_an_unknown_actor_is_refused(world: World, engine: Engine) -> None:
    with pytest.raises(NotFoundError, match="no actor 'ghost'") as caught:
        tokens.issue(engine, "ghost")
    assert caught.value.code == "unknown_actor"
    assert _count(engine) == 0


def test_expiry_and_label_are_checked(world: World, engine: Engine) -> None:
    with pytest.raises(ValidationError, match="expire"):
        tokens.issue(engine, "coop-a", expires_in=timedelta(0))
    with pytest.raises(ValidationError, match="label"):
        tokens.issue(engine, "coop-a", label="x" * 101)
    assert _count(engine) == 0


def test_list_tokens_oldest_first_by_actor(world: World, engine: Engine) -> None:
    first = tokens.issue(engine, "coop-a", now=NOW)[1]
    second = tokens.issue(engine, "trader-a", now=NOW + timedelta(seconds=1))[1]
    third = tokens.issue(engine, "coop-a", now=NOW + timedelta(seconds=2))[1]
    assert tokens.list_tokens(engine) == [first, second, third]
    assert tokens.list_tokens(engine, "coop-a") == [first, third]
    assert tokens.list_tokens(engine, "nobody") == []


def test_the_table_is_outside_the_log(world: World, ledger: Ledger, engine: Engine) -> None:
    """Tokens come and go without an entry, and the audit neither needs nor sees them."""
    from ledger.custody.audit import audit

    size = ledger.size()
    info = tokens.issue(engine, "coop-a")[1]
    tokens.revoke(engine, info.id)
    assert ledger.size() == size
    assert audit(engine, workers=1).clean


# -- who may hand in what ----------------------------------------------------------------------
REGISTRAR = Caller("registrar", frozenset({"registrar"}))
COOP = Caller("coop-a", frozenset({"cooperative"}))


@pytest.mark.parametrize("kind", sorted(STATEMENT_TYPES))
def test_a_signer_may_hand_in_its_own_statements(kind: str) -> None:
    check_submitter(COOP, "coop-a", kind)


@pytest.mark.parametrize("kind", sorted(STATEMENT_TYPES))
def test_a_registrar_relays_registry_statements_only(kind: str) -> None:
    if kind in REGISTRY_TYPES:
        check_submitter(REGISTRAR, "coop-a", kind)
        return
    with pytest.raises(ForbiddenError, match="signed by coop-a") as caught:
        check_submitter(REGISTRAR, "coop-a", kind)
    assert caught.value.code == "token_actor_mismatch"


@pytest.mark.parametrize(
    ("signer", "kind"),
    [("coop-b", "lot.register"), ("coop-b", "miner.register"), (None, "lot.register"),
     (["coop-a"], "lot.register"), ("coop-b", ["miner.register"]), ("coop-a ", "lot.dispatch")],
)  # fmt: skip
def test_anyone_else_is_refused(signer: object, kind: object) -> None:
    with pytest.raises(ForbiddenError) as caught:
        check_submitter(COOP, signer, kind)
    assert caught.value.code == "token_actor_mismatch"


# -- the commands ------------------------------------------------------------------------------
@pytest.fixture
def cli(db_url: str, world: World) -> CliRunner:
    return CliRunner(env={"DATABASE_URL": db_url})


def _invoke(runner: CliRunner, command: click.Command, *args: str, code: int = 0) -> Result:
    result = runner.invoke(command, list(args), catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def test_tokens_create_prints_the_token_once(cli: CliRunner, engine: Engine) -> None:
    created = _invoke(cli, tokens_group, "create", "coop-a", "--expires-in", "7", "--label", "tab")
    token = created.stdout.strip()
    assert token.startswith("asml_")
    assert "shown only now" in created.stderr and token not in created.stderr
    info = tokens.authenticate(engine, token, now=datetime.now(UTC))
    assert info.expires - info.created == timedelta(days=7) and info.label == "tab"
    listed = _invoke(cli, tokens_group, "list", "--actor", "coop-a").stdout
    assert token not in listed and token[5:20] not in listed
    (line,) = listed.splitlines()
    assert json.loads(line)["id"] == info.id and json.loads(line)["status"] == "active"
    revoked = _invoke(cli, tokens_group, "revoke", info.id).stdout
    assert json.loads(revoked)["status"] == "revoked"
    with pytest.raises(AuthenticationError, match="revoked"):
        tokens.authenticate(engine, token, now=datetime.now(UTC))


def test_tokens_commands_fail_in_one_line(cli: CliRunner, engine: Engine) -> None:
    failed = _invoke(cli, tokens_group, "create", "ghost", code=1)
    assert failed.stderr.startswith("error [unknown_actor]: ") and failed.stdout == ""
    assert _invoke(cli, tokens_group, "revoke", "nope", code=1).stderr.startswith(
        "error [unknown_token]: "
    )
    _invoke(cli, tokens_group, "create", "coop-a", "--expires-in", "0", code=2)
    assert _count(engine) == 0


def test_erase_miner_command(cli: CliRunner, world: World) -> None:
    world.run(world.register_miner("miner-9", "coop-a", "site-a", private={"name": "A. B."}))
    first = json.loads(_invoke(cli, erase_miner, "miner-9").stdout)
    assert first["miner"] == "miner-9" and len(first["erased"]) == 1
    assert json.loads(_invoke(cli, erase_miner, "miner-9").stdout)["erased"] == []
    assert _invoke(cli, erase_miner, "ghost", code=1).stderr.startswith("error [unknown_miner]: ")
