"""The rule engine: may this signed statement be appended, and what does it change?

:func:`apply` is a pure function of a statement, the entry context the sequencer assigned, and a
:class:`~ledger.state.State`. It checks, in order: the body's shape; the ledger (origin) it names;
the signing key (registered to the actor, not revoked, counter increasing); the ``after`` heads
(optimistic concurrency: a stale head is a conflict); then the type's own rules, which live beside
their domain in ``ledger.registry.rules`` and ``ledger.custody.rules``. On success it writes the new
derived state; on failure it raises a :class:`~ledger.errors.LedgerError` and the caller discards
the transaction. Signatures are verified by the caller, which needs the key :func:`signing_key`
returns, so that verification can run in parallel with sequencing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from ledger import bodies, canonical
from ledger.custody import flags, incidents
from ledger.custody import rules as custody_rules
from ledger.errors import ConflictError, NotFoundError, SignatureError, ValidationError
from ledger.registry import rules as registry_rules
from ledger.registry.types import Key
from ledger.rulebook import Context, Handler, evolve
from ledger.state import State
from ledger.statements import Statement, parse_time

__all__ = ["HANDLERS", "Context", "apply", "prefetch_keys", "signing_key"]

HANDLERS: dict[str, Handler] = {
    **registry_rules.HANDLERS,
    **custody_rules.HANDLERS,
    **incidents.HANDLERS,
}


def signing_key(state: State, statement: Statement) -> bytes:
    """The public key the statement's signature must verify with (genesis: the one it names)."""
    if statement.type == "genesis":
        operator = statement.body.get("operator")
        key_text = operator.get("key") if isinstance(operator, dict) else None
        return canonical.b64decode(str(key_text), field="body.operator.key", size=32)
    key = state.key(statement.key)
    if key is None:
        raise SignatureError(
            f"key {statement.key[:16]}... is not registered in this ledger; register it with "
            "actor.register or actor.key.add first.",
            code="unknown_key",
        )
    return key.public_key


def prefetch_keys(statement: Statement) -> Iterator[tuple[str, str]]:
    """The ``(kind, key)`` state rows the rules will probably read for ``statement``.

    A hint for reading a batch's state together (:meth:`OverlayState.prefetch`); the body is
    not checked yet, so only string values are taken, and a wrong guess costs nothing. A value
    holding NUL is never a guess: PostgreSQL refuses NUL in text, which would fail the whole
    round's reads instead of this one statement (the body check refuses it later).
    """
    for kind, key in _guesses(statement):
        if "\x00" not in key or kind == "output":  # an output key is joined with NUL on purpose
            yield kind, key


def _guesses(statement: Statement) -> Iterator[tuple[str, str]]:
    yield "ledger", "1"  # the policy
    yield "key", statement.key
    yield "actor", statement.actor
    for subject in statement.after:
        yield "head", subject
        if subject.startswith("lot:"):
            yield "lot", subject[4:]
            yield "taint", subject[4:]
            if statement.type == "lot.receive":
                yield "transit", subject[4:]
    body = statement.body
    site = body.get("site")
    if statement.type == "lot.register" and type(site) is str:
        yield "open_incidents", f"site:{site}"
        extracted = body.get("extracted")
        if type(extracted) is str and "\x00" not in site + extracted:  # \x00 joins the key
            yield "output", f"{site}\x00{extracted[:7]}"  # the site's output that month
    for name, kind in _PREFETCH_FIELDS:
        value = body.get(name)
        if type(value) is str:
            yield kind, value
    tags = body.get("tags")
    if type(tags) is list:
        yield from (("tag", tag) for tag in tags if type(tag) is str)


_PREFETCH_FIELDS = (("lot", "lot"), ("site", "site"), ("site", "site_status"), ("to", "actor"))


def apply(state: State, statement: Statement, ctx: Context) -> None:
    """Check ``statement`` against the rules and the state; write its effects into ``state``."""
    bodies.check_body(statement.type, statement.body)
    _check_time(state, statement, ctx)
    if statement.type == "genesis" or ctx.seq == 0:
        registry_rules.apply_genesis(state, statement, ctx)
        return
    if statement.ledger != state.origin():
        raise ValidationError(
            f"statement.ledger is {statement.ledger!r} but this ledger is {state.origin()!r}; "
            "a statement signed for one ledger is not valid in another.",
            code="wrong_ledger",
            field="statement.ledger",
        )
    _check_key(state, statement)
    handler = HANDLERS[statement.type]
    _check_after(state, statement, handler.subjects(statement), ctx.seq)
    touched = handler.apply(state, statement, ctx)
    # The key's use is recorded after the handler, which may have changed the key's row (a
    # revocation of the signing key itself is judged by what it signed before this statement).
    key = state.key(statement.key)
    assert key is not None  # checked by _check_key; revoking keeps the row
    state.put_key(_used(key, statement, ctx), new=False)
    for subject in touched:
        state.set_head(subject, ctx.leaf_hash, ctx.seq)
    flags.overdue(state, statement, ctx)


def _used(key: Key, statement: Statement, ctx: Context) -> Key:
    """The key after signing ``statement``: its counter, and its latest-dated statement."""
    last = key.last_time
    if last is None or _not_before(statement.time, last):
        return evolve(key, last_n=statement.n, last_seq=ctx.seq, last_time=statement.time)
    return evolve(key, last_n=statement.n)


def _not_before(time: str, other: str) -> bool:
    if len(time) == len(other) == 20:  # both to the second: ISO text sorts as time does
        return time >= other
    return parse_time(time) >= parse_time(other)


def _check_time(state: State, statement: Statement, ctx: Context) -> None:
    claimed = parse_time(statement.time, "statement.time")
    logged = parse_time(ctx.logged, "logged")
    skew = timedelta(seconds=state.policy().max_future_skew_s)
    if claimed > logged + skew:
        raise ValidationError(
            f"statement.time {statement.time} is ahead of the ledger's clock ({ctx.logged}) by "
            "more than the policy allows; check the device's clock.",
            code="time_in_future",
            field="statement.time",
        )


def _check_key(state: State, statement: Statement) -> Key:
    key = state.key(statement.key)
    if key is None:
        raise SignatureError(
            "the signing key is not registered in this ledger.", code="unknown_key"
        )
    if key.actor != statement.actor:
        raise SignatureError(
            f"the signing key belongs to {key.actor!r}, not to statement.actor "
            f"{statement.actor!r}.",
            code="key_actor_mismatch",
        )
    if key.revoked_seq is not None:
        raise SignatureError(
            f"the signing key was revoked at entry {key.revoked_seq}; sign with a current key.",
            code="key_revoked",
        )
    if statement.n <= key.last_n:
        raise ConflictError(
            f"statement.n {statement.n} is not above this key's last counter {key.last_n}; "
            "each statement signed with a key needs a new, higher n.",
            code="stale_counter",
            field="statement.n",
        )
    if state.actor(statement.actor) is None:
        raise NotFoundError(f"actor {statement.actor!r} is not registered.", code="unknown_actor")
    return key


def _check_after(state: State, statement: Statement, subjects: tuple[str, ...], seq: int) -> None:
    """``after`` names exactly the current heads of ``subjects``; each link is recorded by
    sequence number (``entry_links``), so that histories are followed without a hash index."""
    expected = set(subjects)
    given = set(statement.after)
    if given != expected:
        want = ", ".join(sorted(expected)) or "no subjects"
        raise ValidationError(
            f"statement.after must name exactly the heads of {want}.",
            code="after_subjects",
            field="statement.after",
        )
    for subject in subjects:
        found = state.head_entry(subject)
        if found is None:
            raise NotFoundError(f"{subject} does not exist in this ledger.", code="unknown_subject")
        head, head_seq = found
        if head.hex() != statement.after[subject]:
            raise ConflictError(
                f"{subject} has moved on: its head is now {head.hex()[:16]}..., not the "
                f"{statement.after[subject][:16]}... this statement was made after. Fetch the "
                "current head and decide again.",
                code="stale_after",
                subject=subject,
                head=head.hex(),
            )
        state.add_link(seq, subject, head_seq)
