"""``ledger tokens ...`` and ``ledger erase-miner``: API tokens and erasure, for the operator.

These commands work on the database (``DATABASE_URL``) alone: they need no key, because a token
is a random secret stored as a hash, and erasure drops ciphertext without reading it. They are
attached to the ``ledger`` command by :mod:`ledger.cli`; this module does not import it, so the
two cannot import each other in a circle. Errors print one line, ``error [code]: sentence``, and
exit 1, like every other command.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy import Engine

from ledger.cli_support import friendly
from ledger.config import Settings
from ledger.custody.disclosure_store import erase_miner as erase
from ledger.db import make_engine
from ledger.registry import tokens as service
from ledger.statements import format_time

NOT_SHOWN_AGAIN = (
    "warning: this token is shown only now; the ledger keeps only its hash and cannot show it "
    "again. Hand it to its holder over a safe channel; if it is lost, revoke it and create another."
)


def _engine() -> Engine:
    """The configured database (``ledger migrate`` brings it to the schema tokens need)."""
    settings = Settings.from_env()
    settings.ensure_sqlite_dir()
    engine = make_engine(settings.database_url)
    click.get_current_context().call_on_close(engine.dispose)
    return engine


def _info_json(info: service.TokenInfo, now: datetime) -> dict[str, Any]:
    return {
        "id": info.id,
        "actor": info.actor,
        "label": info.label,
        "created": format_time(info.created),
        "expires": format_time(info.expires),
        "revoked": None if info.revoked is None else format_time(info.revoked),
        "status": info.status(now),
    }


@click.group()
def tokens() -> None:
    """API tokens: create, list and revoke the tokens actors use with the HTTP API."""


@tokens.command("create")
@click.argument("actor")
@click.option(
    "--expires-in",
    "days",
    type=click.IntRange(1, 3650),
    default=service.DEFAULT_EXPIRY.days,
    show_default=True,
    help="Days until the token expires.",
)
@click.option("--label", default="", help="A note on what the token is for (e.g. the device).")
@friendly
def create(actor: str, days: int, label: str) -> None:
    """Create an API token for the registered actor ACTOR; print it once."""
    token, info = service.issue(_engine(), actor, expires_in=timedelta(days=days), label=label)
    click.echo(token)
    click.echo(json.dumps(_info_json(info, info.created)), err=True)
    click.echo(NOT_SHOWN_AGAIN, err=True)


@tokens.command("list")
@click.option("--actor", default=None, help="Only this actor's tokens.")
@friendly
def list_cmd(actor: str | None) -> None:
    """List tokens as JSON lines, never the tokens themselves.

    Each line: id, actor, label, created, expires, revoked and status (active, expired, revoked).
    """
    now = datetime.now(UTC)
    for info in service.list_tokens(_engine(), actor):
        click.echo(json.dumps(_info_json(info, now)))


@tokens.command("revoke")
@click.argument("token_id")
@friendly
def revoke(token_id: str) -> None:
    """Revoke the token TOKEN_ID at once (the id `ledger tokens list` shows)."""
    now = datetime.now(UTC)
    info = service.revoke(_engine(), token_id, now=now)
    click.echo(json.dumps(_info_json(info, now)))


@click.command("erase-miner")
@click.argument("miner_id", metavar="ID")
@friendly
def erase_miner(miner_id: str) -> None:
    """Erase the personal data of miner ID (its registration's private fields), for good.

    The digests stay in the log: signatures, proofs and public views are unchanged, and
    `ledger audit` stays clean.
    """
    erasure = erase(_engine(), miner_id)
    click.echo(
        json.dumps(
            {
                "miner": erasure.miner,
                "seq": erasure.seq,
                "erased": erasure.erased,
                "time": erasure.time,
            }
        )
    )
