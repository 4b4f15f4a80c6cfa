"""The rule engine's common checks: genesis, ledger, keys, counters, clock, ``after`` heads.

Also the meta-test that every error code the rule modules can raise is triggered by some test.
Registry rules are in ``test_rules_registry.py``, custody rules in ``test_rules_custody.py``.
"""

from __future__ import annotations

import copy
import re
from datetime import timedelta
from pathlib import Path

import pytest
from factories import CAST, LOGGED, ORIGIN, MemoryLog, Reject, World, signer

import ledger
from ledger import rules
from ledger.builder import Author, RegistrarSpec, genesis
from ledger.errors import (
    ConflictError,
    LedgerError,
    NotFoundError,
    SignatureError,
    ValidationError,
)
from ledger.registry.types import Key
from ledger.rulebook import Context
from ledger.state import DEFAULT_POLICY, MemoryState, Policy
from ledger.statements import Envelope, Submission, format_time, parse_time

# -- genesis ---------------------------------------------------------------------------------


def test_genesis_sets_origin_policy_operator_and_registrars(log: MemoryLog) -> None:
    policy = {**DEFAULT_POLICY.to_json(), "receipt_tolerance_ppm": 1234}
    world = World(submit=log.submit, policy=policy)
    second = RegistrarSpec(
        "registrar-2", "Second", "RW", (signer("r2a").public_key, signer("r2b").public_key)
    )
    first = RegistrarSpec("registrar", "First", "CD", (signer("registrar").public_key,))
    leaf = world.run(world.genesis([first, second]))
    state = log.state
    assert state.origin() == ORIGIN
    assert state.policy() == Policy.from_json(policy)
    operator = state.actor("operator")
    assert operator is not None and operator.roles == ("operator",)
    registrar = state.actor("registrar-2")
    assert registrar is not None
    assert (registrar.roles, registrar.country, registrar.registered_seq) == (
        ("registrar",),
        "RW",
        0,
    )
    for name, actor_id in [
        ("operator", "operator"),
        ("r2a", "registrar-2"),
        ("r2b", "registrar-2"),
    ]:
        key = state.key(signer(name).key_id)
        assert key is not None and key.actor == actor_id and key.revoked_seq is None
    assert state.key(signer("operator").key_id).last_n == 1  # type: ignore[union-attr]
    for subject in ("actor:operator", "actor:registrar", "actor:registrar-2"):
        assert state.head(subject) == leaf
    assert log.entries[0].prev is None


def test_only_entry_zero_may_be_genesis(world: World, reject: Reject) -> None:
    again = world.genesis()  # a valid signature by the operator key it names
    reject(again, ValidationError, code="genesis_position", match="entry 0")


def test_entry_zero_must_be_genesis(bare_world: World, log: MemoryLog) -> None:
    first = bare_world.register_actor("trader-a", ["trader"])
    with pytest.raises(SignatureError) as info:  # through the log: no key is registered yet
        log.append(first)
    assert info.value.code == "unknown_key"
    state = MemoryState()
    ctx = Context(0, bytes(32), format_time(LOGGED))
    with pytest.raises(ValidationError, match="entry 0 must be the genesis") as info:
        rules.apply(state, first.envelope.statement, ctx)
    assert info.value.code == "genesis_position"
    state.drop()
    assert state.origin() is None


def test_genesis_must_be_signed_as_the_operator_it_names(log: MemoryLog) -> None:
    body = World().genesis().envelope.statement.body
    impostor = Author(ORIGIN, "someone-else", signer("operator")).sign(
        "genesis", body, time="2026-01-15T08:00:00Z"
    )
    with pytest.raises(ValidationError, match="signed by the operator key") as info:
        log.append(impostor)
    assert info.value.code == "genesis_signer"


def test_genesis_key_must_be_the_operator_key() -> None:
    # The signature check uses the key the body names, so a different signing key only gets this
    # far when the rules are run without the signature check; the rule must still hold.
    body = World().genesis().envelope.statement.body
    other = Author(ORIGIN, "operator", signer("registrar")).sign(
        "genesis", body, time="2026-01-15T08:00:00Z"
    )
    with pytest.raises(ValidationError, match="signed by the operator key") as info:
        rules.apply(
            MemoryState(), other.envelope.statement, Context(0, bytes(32), format_time(LOGGED))
        )
    assert info.value.code == "genesis_signer"


def test_genesis_ledger_must_equal_origin(log: MemoryLog) -> None:
    body = World().genesis().envelope.statement.body
    wrong = Author("other-ledger", "operator", signer("operator")).sign(
        "genesis", body, time="2026-01-15T08:00:00Z"
    )
    with pytest.raises(ValidationError, match=r"must equal body\.origin") as info:
        log.append(wrong)
    assert info.value.code == "wrong_ledger"


def test_genesis_has_no_after(log: MemoryLog) -> None:
    body = World().genesis().envelope.statement.body
    wrong = Author(ORIGIN, "operator", signer("operator")).sign(
        "genesis", body, time="2026-01-15T08:00:00Z", after={"actor:operator": bytes(32)}
    )
    with pytest.raises(ValidationError, match="after must be") as info:
        log.append(wrong)
    assert info.value.code == "after_subjects"


@pytest.mark.parametrize(
    ("specs", "code"),
    [
        (
            [
                RegistrarSpec("registrar", "A", "CD", (signer("r-a").public_key,)),
                RegistrarSpec("registrar", "B", "CD", (signer("r-b").public_key,)),
            ],
            "duplicate_id",
        ),
        ([RegistrarSpec("operator", "A", "CD", (signer("r-a").public_key,))], "duplicate_id"),
        (
            [RegistrarSpec("registrar", "A", "CD", (signer("operator").public_key,))],
            "duplicate_key",
        ),
        (
            [
                RegistrarSpec("registrar", "A", "CD", (signer("r-a").public_key,)),
                RegistrarSpec("registrar-2", "B", "CD", (signer("r-a").public_key,)),
            ],
            "duplicate_key",
        ),
    ],
    ids=["registrar-twice", "registrar-is-operator", "operator-key-reused", "registrar-key-reused"],
)
def test_genesis_rejects_duplicates(log: MemoryLog, specs: list[RegistrarSpec], code: str) -> None:
    world = World(submit=log.submit)
    with pytest.raises(ConflictError) as info:
        world.run(world.genesis(specs))
    assert info.value.code == code
    assert log.size == 0


def test_genesis_body_is_checked(log: MemoryLog) -> None:
    submission = genesis(
        ORIGIN, signer("operator"), [], DEFAULT_POLICY.to_json(), time="2026-01-15T08:00:00Z"
    )
    with pytest.raises(ValidationError, match=r"body\.registrars must be a list of 1 to 8") as info:
        log.append(submission)
    assert info.value.code == "invalid"


# -- ledger, keys, counters --------------------------------------------------------------------


def test_statement_for_another_ledger(world: World, reject: Reject) -> None:
    foreign = Author("another.example/ledger", "registrar", signer("registrar"), n=50)
    submission = foreign.sign(
        "actor.register",
        world.register_actor("x-1", ["trader"]).envelope.statement.body,
        time=world.now(),
    )
    error = reject(submission, ValidationError, code="wrong_ledger", match="not valid in another")
    assert error.details["field"] == "statement.ledger"


def test_unknown_key(world: World, reject: Reject) -> None:
    world.authors["registrar"] = Author(ORIGIN, "registrar", signer("stranger"))
    reject(
        world.register_actor("x-1", ["trader"]),
        SignatureError,
        code="unknown_key",
        match="not registered",
    )


def test_unknown_key_when_rules_run_without_signature_check(world: World, mlog: MemoryLog) -> None:
    stranger = Author(ORIGIN, "registrar", signer("stranger"))
    statement = stranger.sign(
        "lot.receive", {"lot": "x", "mass_g": 1}, time=world.now()
    ).envelope.statement
    with pytest.raises(SignatureError, match="not registered") as info:
        rules.apply(mlog.state, statement, Context(mlog.size, bytes(32), mlog.logged))
    assert info.value.code == "unknown_key"
    mlog.state.drop()


def test_key_of_another_actor(world: World, reject: Reject) -> None:
    world.authors["trader-a"] = Author(ORIGIN, "trader-a", signer("trader-b"))
    submission = world.attest("att-1", by="trader-a")
    reject(submission, SignatureError, code="key_actor_mismatch", match="belongs to 'trader-b'")


def test_key_without_actor(world: World, mlog: MemoryLog) -> None:
    # Derived state where a key names an actor that does not exist cannot come from the rules;
    # if a store ever produced it, the rules must still refuse rather than act for nobody.
    ghost = signer("ghost")
    mlog.state.put_key(Key(ghost.key_id, "ghost", ghost.public_key, 1), new=True)
    mlog.state.keep()
    world.authors["ghost"] = Author(ORIGIN, "ghost", ghost)
    with pytest.raises(NotFoundError, match="'ghost' is not registered") as info:
        world.run(world.attest("att-1", by="ghost"))
    assert info.value.code == "unknown_actor"


def test_revoked_key_cannot_sign(world: World, reject: Reject) -> None:
    old, new = signer("trader-a"), signer("trader-a/2")
    world.run(world.add_key("trader-a", new.public_key))
    world.run(world.revoke_key("trader-a", old.key_id))
    reject(
        world.attest("x", by="trader-a"),
        SignatureError,
        code="key_revoked",
        match="revoked at entry",
    )
    world.authors["trader-a"] = Author(ORIGIN, "trader-a", new)
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    world.run(world.receive("lot-1", by="trader-a"))  # the new key signs


def test_stale_counter(world: World, mlog: MemoryLog, reject: Reject) -> None:
    registrar = world.authors["registrar"]
    key = signer("registrar").key_id
    assert mlog.state.key(key).last_n == registrar.n  # type: ignore[union-attr]
    used = registrar.n
    registrar.n = used - 1  # sign the next statement with n == the last n used
    error = reject(world.register_actor("x-1", ["trader"]), ConflictError, code="stale_counter")
    assert error.details["field"] == "statement.n"
    registrar.n = 0
    reject(
        world.register_actor("x-1", ["trader"]),
        ConflictError,
        code="stale_counter",
        match="not above",
    )


def test_counter_may_skip_and_advances(world: World, mlog: MemoryLog) -> None:
    registrar = world.authors["registrar"]
    key = signer("registrar").key_id
    registrar.n += 10
    world.run(world.register_actor("x-1", ["trader"]))
    assert mlog.state.key(key).last_n == registrar.n  # type: ignore[union-attr]
    world.run(world.register_lot("lot-1"))
    coop = mlog.state.key(signer("coop-a").key_id)
    assert coop is not None
    assert coop.last_n == world.authors["coop-a"].n == 2  # miner-1, then lot-1


def test_time_in_future(world: World, reject: Reject) -> None:
    skew = timedelta(seconds=DEFAULT_POLICY.max_future_skew_s)
    limit = parse_time(format_time(LOGGED)) + skew
    late = world.sign(
        "registrar",
        "actor.register",
        world.register_actor("x-1", ["trader"]).envelope.statement.body,
        time=format_time(limit + timedelta(microseconds=1)),
    )
    error = reject(
        late, ValidationError, code="time_in_future", match="ahead of the ledger's clock"
    )
    assert error.details["field"] == "statement.time"
    on_time = world.sign(
        "registrar", "actor.register", late.envelope.statement.body, time=format_time(limit)
    )
    world.run(on_time)


def test_time_in_future_uses_genesis_policy(log: MemoryLog) -> None:
    world = World(submit=log.submit, policy={**DEFAULT_POLICY.to_json(), "max_future_skew_s": 0})
    world.run(world.genesis())
    body = world.register_actor("x-1", ["trader"]).envelope.statement.body
    ahead = world.sign(
        "registrar", "actor.register", body, time=format_time(LOGGED + timedelta(seconds=1))
    )
    with pytest.raises(ValidationError) as info:
        world.run(ahead)
    assert info.value.code == "time_in_future"


# -- after -----------------------------------------------------------------------------------


def test_after_must_name_exactly_the_subjects(world: World, reject: Reject) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.register_lot("lot-2"))
    head = world.head("lot:lot-1")
    body = world.dispatch("lot-1", by="coop-a", to="trader-a").envelope.statement.body
    for after in (
        {},
        {"lot:lot-2": world.head("lot:lot-2")},
        {"lot:lot-1": head, "lot:lot-2": head},
    ):
        submission = world.sign("coop-a", "lot.dispatch", body, after=after)
        error = reject(
            submission,
            ValidationError,
            code="after_subjects",
            match="exactly the heads of lot:lot-1",
        )
        assert error.details["field"] == "statement.after"
    registration = world.sign(
        "coop-a",
        "lot.register",
        world.register_lot("lot-3").envelope.statement.body,
        after={"lot:lot-1": head},
    )
    reject(registration, ValidationError, code="after_subjects", match="no subjects")


def test_stale_after_is_a_conflict(world: World, reject: Reject) -> None:
    first = world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    current = world.head("lot:lot-1")
    stale = world.sign(
        "trader-a", "lot.receive", {"lot": "lot-1", "mass_g": 100_000}, after={"lot:lot-1": first}
    )
    error = reject(stale, ConflictError, code="stale_after", match="has moved on")
    assert error.details == {"subject": "lot:lot-1", "head": current.hex()}


def test_after_naming_an_unknown_subject(world: World, reject: Reject) -> None:
    submission = world.dispatch("ghost-lot", by="coop-a", to="trader-a", mass_g=5, tags=[])
    reject(submission, NotFoundError, code="unknown_subject", match="lot:ghost-lot does not exist")


# -- whole-engine properties ----------------------------------------------------------------------


def test_bad_signature_is_refused_before_the_rules(world: World, reject: Reject) -> None:
    good = world.register_actor("x-1", ["trader"])
    envelope = good.envelope
    forged = Envelope(envelope.statement, bytes(64), envelope.statement_bytes)
    reject(Submission(forged), SignatureError, code="bad_signature", match="does not verify")


def test_cast_is_registered(world: World, mlog: MemoryLog) -> None:
    for actor_id, roles in CAST.items():
        actor = mlog.state.actor(actor_id)
        assert actor is not None and actor.roles == roles
    assert mlog.size == 1 + len(CAST) + 3


def test_world_heads_agree_with_state(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_lot("lot-1", mass_g=100_000))
    world.transfer("lot-1", by="coop-a", to="trader-a")
    world.run(world.split("lot-1", [("lot-1a", 60_000), ("lot-1b", 40_000)], by="trader-a"))
    world.run(world.attest("att-1"))
    world.run(world.revoke_attestation("att-1"))
    world.run(world.add_key("trader-b", signer("trader-b/2").public_key))
    assert len(world.heads) > 15
    for subject, head in world.heads.items():
        assert mlog.state.head(subject) == head, subject
    for index, entry in enumerate(mlog.entries):
        assert entry.seq == index
        assert entry.prev == (mlog.entries[index - 1].leaf_hash if index else None)


def test_rules_are_a_function_of_state_and_statement() -> None:
    """Replaying the same entries on a fresh MemoryState gives the same derived state."""
    worlds = []
    for _ in range(2):
        log = MemoryLog()
        world = World(submit=log.submit)
        world.populate()
        world.run(world.register_lot("lot-1"))
        world.transfer("lot-1", by="coop-a", to="trader-a", mass_g=90_000)
        worlds.append((world, log))
    (_, l1), (_, l2) = worlds
    assert [e.data for e in l1.entries] == [e.data for e in l2.entries]
    assert l1.state.accepted == l2.state.accepted
    replay = MemoryState()
    for entry in l1.entries:
        rules.apply(replay, entry.statement, Context(entry.seq, entry.leaf_hash, entry.logged))
        replay.keep()
    assert replay.accepted == l1.state.accepted


def test_rejected_statement_in_the_middle_leaves_no_trace(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    # The counter is advanced and the head checked before the handler refuses: all must vanish.
    before = copy.deepcopy(mlog.state.accepted)
    bad = world.receive("lot-1", by="trader-b")
    with pytest.raises(LedgerError) as info:
        world.run(bad)
    assert info.value.code == "not_addressee"
    mlog.state.keep()
    assert mlog.state.accepted == before
    assert mlog.state.key(signer("trader-b").key_id).last_n == 0  # type: ignore[union-attr]


# -- every error code is exercised ----------------------------------------------------------------

RULE_MODULES = (
    "rules.py",
    "rulebook.py",
    "registry/rules.py",
    "custody/rules.py",
    "custody/sitestatus.py",
    "custody/incidents.py",
)
TEST_FILES = (
    "test_rules.py",
    "test_rules_registry.py",
    "test_rules_custody.py",
    "test_vocabulary.py",
    "test_site_status.py",
    "test_incidents.py",
)
LOT_STATUS_CODES = {"lot_in_transit", "lot_consumed", "lot_exported"}  # code=f"lot_{lot.status}"


def _raised_codes() -> set[str]:
    root = Path(ledger.__file__).parent
    codes: set[str] = set()
    for name in RULE_MODULES:
        source = (root / name).read_text()
        codes |= set(re.findall(r'code="([a-z_]+)"', source))
        dynamic = re.findall(r'code=f"([^"]*)"', source)
        assert set(dynamic) <= {"lot_{lot.status}"}, f"new computed code in {name}: {dynamic}"
        if dynamic:
            codes |= LOT_STATUS_CODES
    return codes


def _tested_codes() -> set[str]:
    here = Path(__file__).parent
    codes: set[str] = set()
    for name in TEST_FILES:
        codes |= set(re.findall(r'code(?:=| == )"([a-z_]+)"', (here / name).read_text()))
    return codes


def test_every_rule_error_code_is_tested() -> None:
    raised = _raised_codes()
    assert len(raised) > 30  # the grep found the codes
    missing = raised - _tested_codes()
    assert not missing, f"no test triggers {sorted(missing)}"


def test_lot_status_codes_cover_every_status_but_held() -> None:
    from ledger.custody.types import HELD, LOT_STATUSES

    assert {f"lot_{s}" for s in LOT_STATUSES if s != HELD} == LOT_STATUS_CODES
