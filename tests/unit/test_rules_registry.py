"""Registry rules: actors and their keys, mine sites, miners."""

from __future__ import annotations

import pytest
from factories import MemoryLog, Reject, World, signer

from ledger.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from ledger.registry.types import Site

# -- actor.register -------------------------------------------------------------------------


def test_registrar_registers_an_actor(world: World, mlog: MemoryLog) -> None:
    keys = [signer("newco").public_key, signer("newco/2").public_key]
    leaf = world.run(
        world.register_actor(
            "newco",
            ["trader", "exporter"],
            country="RW",
            keys=keys,
            private={"email": "ops@newco.example"},
        )
    )
    actor = mlog.state.actor("newco")
    assert actor is not None
    assert (actor.roles, actor.country, actor.registered_seq) == (
        ("exporter", "trader"),
        "RW",
        mlog.size - 1,
    )
    for name, public_key in zip(("newco", "newco/2"), keys, strict=True):
        key = mlog.state.key(signer(name).key_id)
        assert key is not None
        assert (key.actor, key.public_key, key.last_n) == ("newco", public_key, 0)
    assert mlog.state.head("actor:newco") == leaf


def test_a_registrar_may_register_a_registrar(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_actor("registrar-2", ["registrar"]))
    world.run(world.register_actor("trader-z", ["trader"], by="registrar-2"))
    assert mlog.state.actor("trader-z") is not None


@pytest.mark.parametrize("by", ["trader-a", "coop-a", "auditor-a", "operator"])
def test_only_registrars_register_actors(world: World, reject: Reject, by: str) -> None:
    submission = world.register_actor("x-1", ["trader"], by=by)
    reject(submission, ForbiddenError, code="wrong_role", match="may not register actors")


def test_actor_id_is_unique(world: World, reject: Reject) -> None:
    submission = world.register_actor("trader-a", ["trader"], keys=[signer("fresh").public_key])
    reject(submission, ConflictError, code="duplicate_id", match="actor trader-a already exists")


def test_actor_keys_are_unique(world: World, reject: Reject) -> None:
    submission = world.register_actor("x-1", ["trader"], keys=[signer("trader-a").public_key])
    reject(submission, ConflictError, code="duplicate_key", match="already registered")


def test_actor_body_is_checked(world: World, reject: Reject) -> None:
    submission = world.register_actor("x-1", ["smuggler"])
    error = reject(submission, ValidationError, code="invalid", match="must be one of")
    assert error.details["field"] == "body.roles[0]"


# -- actor.key.add ----------------------------------------------------------------------------


def test_actor_adds_its_own_key(world: World, mlog: MemoryLog) -> None:
    new = signer("trader-a/2")
    leaf = world.run(world.add_key("trader-a", new.public_key))
    key = mlog.state.key(new.key_id)
    assert key is not None
    assert (key.actor, key.added_seq, key.revoked_seq) == ("trader-a", mlog.size - 1, None)
    assert mlog.state.head("actor:trader-a") == leaf


def test_registrar_adds_a_key_for_an_actor(world: World, mlog: MemoryLog) -> None:
    new = signer("trader-a/2")
    world.run(world.add_key("trader-a", new.public_key, by="registrar"))
    assert mlog.state.key(new.key_id) is not None


def test_another_actor_may_not_add_a_key(world: World, reject: Reject) -> None:
    submission = world.add_key("trader-a", signer("trader-b/2").public_key, by="trader-b")
    reject(submission, ForbiddenError, code="wrong_role", match="may not add a key for trader-a")


def test_added_key_must_be_new(world: World, reject: Reject) -> None:
    submission = world.add_key("trader-a", signer("trader-b").public_key)
    reject(submission, ConflictError, code="duplicate_key", match="already registered")


def test_key_for_unknown_actor(world: World, reject: Reject) -> None:
    submission = world.add_key("ghost", signer("ghost").public_key, by="registrar")
    reject(submission, NotFoundError, code="unknown_subject", match="actor:ghost does not exist")


# -- actor.key.revoke -------------------------------------------------------------------------


def test_actor_revokes_its_own_key(world: World, mlog: MemoryLog) -> None:
    old = signer("trader-a")
    world.run(world.add_key("trader-a", signer("trader-a/2").public_key))
    revocation = world.revoke_key("trader-a", old.key_id)
    leaf = world.run(revocation)
    key = mlog.state.key(old.key_id)
    assert key is not None
    assert key.revoked_seq == mlog.size - 1
    assert key.revoked_effective == revocation.envelope.statement.body["effective"]
    assert key.last_n == world.authors["trader-a"].n  # the revoking statement's own counter
    assert mlog.state.head("actor:trader-a") == leaf


def test_registrar_revokes_a_key(world: World, mlog: MemoryLog) -> None:
    world.run(world.revoke_key("trader-a", signer("trader-a").key_id, by="registrar"))
    key = mlog.state.key(signer("trader-a").key_id)
    assert key is not None
    assert key.revoked_seq is not None


def test_another_actor_may_not_revoke_a_key(world: World, reject: Reject) -> None:
    submission = world.revoke_key("trader-a", signer("trader-a").key_id, by="trader-b")
    reject(submission, ForbiddenError, code="wrong_role", match="may not revoke a key for trader-a")


def test_revoke_a_key_of_another_actor(world: World, reject: Reject) -> None:
    submission = world.revoke_key("trader-a", signer("trader-b").key_id, by="registrar")
    reject(submission, NotFoundError, code="unknown_key", match="trader-a has no key")


def test_revoke_an_unknown_key(world: World, reject: Reject) -> None:
    submission = world.revoke_key("trader-a", "ef" * 32)
    reject(submission, NotFoundError, code="unknown_key", match="trader-a has no key efefef")


def test_revoke_twice(world: World, reject: Reject) -> None:
    key = signer("trader-a").key_id
    world.run(world.revoke_key("trader-a", key, by="registrar"))
    submission = world.revoke_key("trader-a", key, by="registrar")
    reject(submission, ConflictError, code="already_revoked", match="already revoked")


# -- site.register ----------------------------------------------------------------------------


def test_registrar_registers_a_site(world: World, mlog: MemoryLog) -> None:
    submission = world.register_site(
        "site-c", "coop-b", minerals=("tungsten", "tin"), capacity_g_month=7
    )
    leaf = world.run(submission)
    assert mlog.state.site("site-c") == Site(
        id="site-c",
        name="site-c (test)",
        country="CD",
        region="South Kivu",
        lat_e6=-2_500_000,
        lon_e6=28_860_000,
        minerals=("tin", "tungsten"),
        licence_number="PE-site-c",
        licence_expires="2030-12-31",
        cooperative="coop-b",
        capacity_g_month=7,
        inspection_status="green",
        registered_seq=mlog.size - 1,
    )
    assert mlog.state.head("site:site-c") == leaf


@pytest.mark.parametrize("by", ["coop-a", "trader-a", "inspector-a"])
def test_only_registrars_register_sites(world: World, reject: Reject, by: str) -> None:
    submission = world.register_site("site-c", "coop-a", by=by)
    reject(submission, ForbiddenError, code="wrong_role", match="may not register mine sites")


def test_site_id_is_unique(world: World, reject: Reject) -> None:
    submission = world.register_site("site-a", "coop-b")
    reject(submission, ConflictError, code="duplicate_id", match="site site-a already exists")


def test_site_cooperative_must_exist(world: World, reject: Reject) -> None:
    submission = world.register_site("site-c", "coop-z")
    reject(submission, NotFoundError, code="unknown_actor", match="cooperative coop-z")


def test_site_cooperative_must_be_a_cooperative(world: World, reject: Reject) -> None:
    submission = world.register_site("site-c", "trader-a")
    reject(
        submission, ForbiddenError, code="wrong_role", match="trader-a may not operate a mine site"
    )


# -- miner.register ---------------------------------------------------------------------------


def test_cooperative_registers_its_miner(world: World, mlog: MemoryLog) -> None:
    private = {"name": "Amani B.", "national_id": "CD-123", "birth_year": 1990}
    leaf = world.run(world.register_miner("miner-2", "coop-a", "site-a", private=private))
    miner = mlog.state.miner("miner-2")
    assert miner is not None
    assert (miner.cooperative, miner.site, miner.registered_seq) == (
        "coop-a",
        "site-a",
        mlog.size - 1,
    )
    assert mlog.state.head("miner:miner-2") == leaf
    statement = mlog.entries[-1].statement
    assert len(statement.sd) == 3
    assert "Amani" not in mlog.entries[-1].data.decode()  # private fields stay off the log


def test_registrar_registers_a_miner(world: World, mlog: MemoryLog) -> None:
    world.run(world.register_miner("miner-2", "coop-a", "site-a", by="registrar"))
    assert mlog.state.miner("miner-2") is not None


@pytest.mark.parametrize("by", ["coop-b", "trader-a"])
def test_others_may_not_register_a_cooperatives_miners(
    world: World, reject: Reject, by: str
) -> None:
    submission = world.register_miner("miner-2", "coop-a", "site-a", by=by)
    reject(submission, ForbiddenError, code="wrong_role", match="may not register miners of coop-a")


def test_miner_id_is_unique(world: World, reject: Reject) -> None:
    submission = world.register_miner("miner-1", "coop-a", "site-a")
    reject(submission, ConflictError, code="duplicate_id", match="miner miner-1 already exists")


def test_miner_site_must_exist(world: World, reject: Reject) -> None:
    submission = world.register_miner("miner-2", "coop-a", "site-z")
    reject(submission, NotFoundError, code="unknown_site", match="site site-z is not registered")


def test_miner_site_must_be_the_cooperatives(world: World, reject: Reject) -> None:
    submission = world.register_miner("miner-2", "coop-b", "site-a")
    reject(submission, ForbiddenError, code="site_not_operated", match="operated by coop-a")


# -- disclosures on the way in (the MemoryLog mirrors the sequencer) ---------------------------


def test_private_field_not_allowed_for_the_type(world: World, reject: Reject) -> None:
    submission = world.register_site("site-c", "coop-a")
    world.authors["registrar"].n -= 1
    sneaky = world.sign(
        "registrar", "site.register", submission.envelope.statement.body, private={"owner": "x"}
    )
    reject(sneaky, ValidationError, code="invalid", match="'owner' is not a private field")
