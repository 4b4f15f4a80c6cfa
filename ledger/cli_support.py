"""What every ``ledger`` command module shares: one clear line instead of a traceback, and
JSON options. Kept apart from ``ledger.cli`` so that command groups defined elsewhere
(``ledger.registry.tokens_cli``, ``ledger.client.cli``) can use it without an import cycle."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from ledger import canonical
from ledger.builder import Author
from ledger.config import Settings
from ledger.crypto import Ed25519Signer
from ledger.errors import LedgerError, ValidationError

F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Turn a LedgerError or an unreachable database into one line and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LedgerError as exc:
            click.echo(f"error [{exc.code}]: {exc.message}", err=True)
            sys.exit(1)
        except OperationalError as exc:
            click.echo(
                f"error [database]: cannot use the database at {safe_url()}: "
                f"{str(exc.orig).strip()}. Check DATABASE_URL and that the server is running.",
                err=True,
            )
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def safe_url() -> str:
    """DATABASE_URL as configured, with any password hidden."""
    return make_url(Settings.from_env().database_url).render_as_string(hide_password=True)


def json_arg(text: str, option: str) -> Any:
    """A JSON option's value: the text itself, or ``@FILE``; parsed strictly."""
    if text.startswith("@"):
        with open(text[1:], "rb") as handle:
            text = handle.read().decode("utf-8")
    try:
        return canonical.parse(text)
    except LedgerError as exc:
        raise ValidationError(f"{option}: {exc.message}", code="invalid") from exc


def local_author(conn: Any, origin: str, signer: Ed25519Signer, key_name: str) -> Author:
    """An author for a local key, with the actor and the last counter the ledger holds for it."""
    from sqlalchemy import select

    from ledger.registry.models import KeyRow

    key = conn.execute(
        select(KeyRow.actor_id, KeyRow.last_n).where(KeyRow.key_id == signer.key_id)
    ).first()
    if key is None:
        raise ValidationError(
            f"key {key_name} is not registered to any actor in this ledger.", code="unknown_key"
        )
    return Author(origin, key.actor_id, signer, n=key.last_n)
