"""Per-actor API tokens: issue, authenticate, revoke, list.

A token is ``asml_`` followed by 32 random bytes in unpadded URL-safe base64 (48 characters in
all); the prefix makes a leaked token easy to recognise (secret scanners, logs). The plaintext
is returned once, by :func:`issue`, and never stored: the table ``api_tokens`` keeps its SHA-256
and a short random id that names it in lists and revocations. A plain hash is enough because
the token is 256 random bits: a slow password KDF (bcrypt, Argon2) exists to make guessing
*low-entropy* secrets expensive, and nobody can enumerate 2**256 candidates, so it would only
slow every request down. Looking tokens up by their hash also means there is no secret-dependent
string comparison to time.

Tokens expire (by default after 90 days) and can be revoked; a token is issued only to a
registered actor. The table is not part of the log: it is mutable, and ``ledger audit`` ignores
it. A token authenticates an actor; it never makes a statement acceptable (see
:mod:`ledger.registry.access`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update
from sqlalchemy.exc import DBAPIError

from ledger import rawsql
from ledger.db import WRITE, table
from ledger.errors import AuthenticationError, NotFoundError, ValidationError
from ledger.registry.access import Caller
from ledger.registry.models import ActorRow, ApiTokenRow
from ledger.statements import format_time, parse_time

PREFIX = "asml_"
TOKEN_BYTES = 32
DEFAULT_EXPIRY = timedelta(days=90)
MAX_LABEL = 100
_TOKEN_RE = re.compile(r"^asml_[A-Za-z0-9_-]{43}\Z")
_ACTIVE, _EXPIRED, _REVOKED = "active", "expired", "revoked"

TOKENS = table(ApiTokenRow)
ACTORS = table(ActorRow)
# A token and its actor's roles, by the token's hash (a unique index). Every write request
# whose token a worker has not authenticated in the last few seconds runs it; in plain SQL on
# the driver's cursor it costs a tenth of the same query through SQLAlchemy (see ledger.rawsql).
_LOOKUP = (
    "SELECT t.id, t.actor_id, t.label, t.created, t.expires, t.revoked, a.roles"
    " FROM api_tokens t JOIN actors a ON a.id = t.actor_id"
    " WHERE t.token_hash = ?"
)


@dataclass(frozen=True)
class TokenInfo:
    """What is known about a token besides its secret. Times are UTC, to the second."""

    id: str
    actor: str
    label: str
    created: datetime
    expires: datetime
    revoked: datetime | None

    def status(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked`` at ``now``."""
        if self.revoked is not None:
            return _REVOKED
        return _EXPIRED if now >= self.expires else _ACTIVE


def token_hash(token: str) -> bytes:
    """What is stored of a token: SHA-256 of its text."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def issue(
    engine: Engine,
    actor_id: str,
    *,
    expires_in: timedelta = DEFAULT_EXPIRY,
    label: str = "",
    now: datetime | None = None,
) -> tuple[str, TokenInfo]:
    """Issue a token for the registered actor ``actor_id``.

    Returns:
        The plaintext token (shown once: only its hash is kept) and its :class:`TokenInfo`.

    Raises:
        NotFoundError: the actor is not registered (``unknown_actor``).
        ValidationError: ``expires_in`` is not positive, or the label is too long.
    """
    if expires_in <= timedelta(0):
        raise ValidationError("a token must expire after it is issued.", field="expires_in")
    if len(label) > MAX_LABEL:
        raise ValidationError(f"a token label has at most {MAX_LABEL} characters.", field="label")
    created = _second(now or datetime.now(UTC))
    info = TokenInfo(secrets.token_hex(8), actor_id, label, created, created + expires_in, None)
    token = PREFIX + base64.urlsafe_b64encode(secrets.token_bytes(TOKEN_BYTES)).decode("ascii")
    token = token.rstrip("=")
    with _writing(engine) as conn:
        if conn.execute(select(ACTORS.c.id).where(ACTORS.c.id == actor_id)).first() is None:
            raise NotFoundError(
                f"there is no actor {actor_id!r}; register it before issuing it a token.",
                code="unknown_actor",
            )
        conn.execute(
            insert(TOKENS).values(
                id=info.id,
                token_hash=token_hash(token),
                actor_id=actor_id,
                label=label,
                created=_text(info.created),
                expires=_text(info.expires),
                revoked=None,
            )
        )
    return token, info


def authenticate(conn_or_engine: Connection | Engine, token: str, *, now: datetime) -> TokenInfo:
    """The token's :class:`TokenInfo`, if it is one this ledger issued and it is active.

    Raises:
        AuthenticationError: the token is malformed, unknown, expired or revoked.
    """
    return _active(conn_or_engine, token, now)[0]


def authenticate_caller(
    conn_or_engine: Connection | Engine, token: str, *, now: datetime
) -> Caller:
    """Like :func:`authenticate`, but the :class:`Caller`: the token's actor and its roles."""
    info, roles = _active(conn_or_engine, token, now)
    return Caller(info.actor, frozenset(roles))


def revoke(engine: Engine, token_id: str, *, now: datetime | None = None) -> TokenInfo:
    """Revoke a token by its id; revoking a revoked token changes nothing.

    Raises:
        NotFoundError: no token has that id (``unknown_token``).
    """
    moment = _text(_second(now or datetime.now(UTC)))
    with _writing(engine) as conn:
        conn.execute(
            update(TOKENS)
            .where(TOKENS.c.id == token_id, TOKENS.c.revoked.is_(None))
            .values(revoked=moment)
        )
        row = conn.execute(select(TOKENS).where(TOKENS.c.id == token_id)).first()
    if row is None:
        raise NotFoundError(f"there is no token with id {token_id[:40]!r}.", code="unknown_token")
    return _info(row)


def list_tokens(engine: Engine, actor_id: str | None = None) -> list[TokenInfo]:
    """Every token (of one actor, if given), oldest first. Never the tokens themselves."""
    query = select(TOKENS).order_by(TOKENS.c.created, TOKENS.c.id)
    if actor_id is not None:
        query = query.where(TOKENS.c.actor_id == actor_id)
    with engine.connect() as conn:
        return [_info(row) for row in conn.execute(query)]


def _active(
    conn_or_engine: Connection | Engine, token: str, now: datetime
) -> tuple[TokenInfo, list[str]]:
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        raise _refused("this is not an API token of this ledger (they start with asml_).")
    row = _lookup(conn_or_engine, token_hash(token))
    if row is None:
        raise _refused("this API token is unknown to this ledger.")
    *columns, roles = row
    info = _made(*columns)
    if info.revoked is not None:
        raise _refused(f"API token {info.id} was revoked at {_text(info.revoked)}.")
    if info.status(now) == _EXPIRED:
        raise _refused(f"API token {info.id} expired at {_text(info.expires)}.")
    return info, list(json.loads(roles) if isinstance(roles, str) else roles)


def _lookup(bind: Connection | Engine, digest: bytes) -> tuple[Any, ...] | None:
    """The row of :data:`_LOOKUP` for a token's hash: inside the given connection's transaction,
    or on a pooled driver connection of the engine held for this one query. Driver errors are
    raised as SQLAlchemy's (a database that is down or locked is the API's 503)."""
    dialect = bind.dialect
    try:
        if isinstance(bind, Connection):
            return rawsql.Raw(bind).one(_LOOKUP, (digest,))
        return _pooled_lookup(bind, digest)
    except dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(_LOOKUP, None, exc, dialect.loaded_dbapi.Error) from exc


def _pooled_lookup(engine: Engine, digest: bytes) -> tuple[Any, ...] | None:
    postgres = engine.dialect.name == "postgresql"
    pooled = engine.raw_connection()  # the driver's connection, without a Connection around it
    driver: Any = pooled.dbapi_connection
    before = driver.autocommit if postgres else None
    try:
        if postgres:
            # A read needs no transaction: without one, the query is one round trip instead
            # of three (BEGIN, the query, and the pool's ROLLBACK when the connection goes
            # back). SQLAlchemy's pre-ping does the same.
            driver.autocommit = True
        cursor = driver.cursor()
        try:
            cursor.execute(rawsql.for_driver(_LOOKUP, postgres), (digest,))
            row = cursor.fetchone()
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error as exc:
        if engine.dialect.is_disconnect(exc, driver, None):
            pooled.invalidate(exc)
        raise
    finally:
        if postgres and not driver.closed:
            driver.autocommit = before
        pooled.close()  # back to the pool (or, invalidated, closed)
    return None if row is None else tuple(row)


def _refused(reason: str) -> AuthenticationError:
    return AuthenticationError(
        f"{reason} Ask the ledger's operator for a token (`ledger tokens create ACTOR`).",
        invalid_token=True,
    )


def _info(row: Row[object]) -> TokenInfo:
    found = row._mapping
    return _made(*(found[name] for name in ("id", "actor_id", "label", "created", "expires",
                                            "revoked")))  # fmt: skip


def _made(
    token_id: Any, actor: Any, label: Any, created: Any, expires: Any, revoked: Any
) -> TokenInfo:
    """A token's description from its stored columns (times as stored text)."""
    return TokenInfo(
        id=token_id,
        actor=actor,
        label=label,
        created=parse_time(created),
        expires=parse_time(expires),
        revoked=None if revoked is None else parse_time(revoked),
    )


def _second(moment: datetime) -> datetime:
    """UTC, to the second: stored as fixed-width text, so the text sorts like the time."""
    return moment.astimezone(UTC).replace(microsecond=0)


def _text(moment: datetime) -> str:
    return format_time(_second(moment))


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction (SQLite: ``BEGIN IMMEDIATE``, so a read cannot go stale first)."""
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with conn.begin():
            yield conn
