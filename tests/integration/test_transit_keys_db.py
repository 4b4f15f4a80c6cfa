"""The flags that read stored state across entries, on both engines: lots never received
(``transit_overdue``, found through ``ix_lot_transit_pending``) and keys revoked with an
effective time before what they signed (``key_revoked_backdated``). The audit agrees."""

from __future__ import annotations

import pytest
from factories import World, signer
from sqlalchemy import Engine, text

from ledger.custody.audit import audit
from ledger.custody.log import ACCEPTED, Ledger


def _flags(engine: Engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT code, subject, seq FROM flags ORDER BY seq, subject"))
        return [(row.code, row.subject, row.seq) for row in rows]


def _late(world: World, lot: str, day: str) -> None:
    body = world.register_lot(lot).envelope.statement.body
    world.run(world.sign("coop-a", "lot.register", body, time=f"{day}T09:00:00Z"))


def test_a_lot_never_received_is_flagged_by_a_later_entry(
    world: World, ledger: Ledger, engine: Engine
) -> None:
    for lot in ("lot-1", "lot-2", "lot-3"):
        world.run(world.register_lot(lot))
        world.run(world.dispatch(lot, by="coop-a", to="trader-a"))  # 2026-01-15
    world.run(world.receive("lot-2", by="trader-a"))
    _late(world, "lot-4", "2026-02-14")  # 30 days: the default limit, not beyond
    assert _flags(engine) == []
    _late(world, "lot-5", "2026-02-15")
    seq = ledger.size() - 1
    assert _flags(engine) == [
        ("transit_overdue", "lot:lot-1", seq),
        ("transit_overdue", "lot:lot-3", seq),
    ]
    with engine.connect() as conn:
        pending = conn.execute(text("SELECT lot FROM lot_transit WHERE pending = :t"),
                               {"t": True}).scalars().all()  # fmt: skip
    assert pending == []
    _late(world, "lot-6", "2026-03-30")
    assert len(_flags(engine)) == 2  # each lot once
    report = audit(ledger.engine, workers=0)
    assert report.clean, report.divergence


def test_overdue_lots_in_one_batch_and_across_batches(
    world: World, ledger: Ledger, engine: Engine
) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.register_lot("lot-2"))
    batch = [world.dispatch("lot-1", by="coop-a", to="trader-a")]
    body = world.dispatch("lot-2", by="coop-a", to="trader-a").envelope.statement.body
    batch.append(world.sign("coop-a", "lot.dispatch", body, time="2026-02-10T09:00:00Z"))
    late = world.register_lot("lot-3").envelope.statement.body
    # dispatched and found overdue inside one batch, before anything is flushed
    batch.append(world.sign("coop-a", "lot.register", late, time="2026-02-20T09:00:00Z"))
    results = ledger.append_batch(batch)
    assert [r.status for r in results] == [ACCEPTED] * 3
    for submission, result in zip(batch, results, strict=True):
        assert result.leaf_hash is not None
        world.accept(submission, result.leaf_hash)
    assert [f[:2] for f in _flags(engine)] == [("transit_overdue", "lot:lot-1")]
    _late(world, "lot-4", "2026-03-20")  # the next batch reads lot-2 from the database
    assert [f[:2] for f in _flags(engine)] == [
        ("transit_overdue", "lot:lot-1"),
        ("transit_overdue", "lot:lot-2"),
    ]
    report = audit(ledger.engine, workers=0)
    assert report.clean, report.divergence


def test_a_backdated_revocation_is_flagged_and_audited(
    world: World, ledger: Ledger, engine: Engine
) -> None:
    world.run(world.register_lot("lot-1"))
    used_at = ledger.size() - 1
    key = signer("coop-a").key_id
    body = {"actor": "coop-a", "key": key, "effective": "2026-01-01T00:00:00Z",
            "reason": "stolen with the office laptop"}  # fmt: skip
    world.run(world.sign("registrar", "actor.key.revoke", body))
    assert _flags(engine) == [("key_revoked_backdated", "actor:coop-a", ledger.size() - 1)]
    with engine.connect() as conn:
        row = conn.execute(text("SELECT last_seq, last_time FROM actor_keys WHERE key_id = :k"),
                           {"k": key}).one()  # fmt: skip
    assert row.last_seq == used_at
    report = audit(ledger.engine, workers=0)
    assert report.clean, report.divergence


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE lot_transit SET pending = NOT pending",
        "UPDATE actor_keys SET last_seq = 1",
    ],
    ids=["transit", "key"],
)
def test_the_audit_finds_altered_watch_state(
    world: World, ledger: Ledger, engine: Engine, sql: str
) -> None:
    world.run(world.register_lot("lot-1"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    with engine.begin() as conn:
        conn.execute(text(sql))
    report = audit(ledger.engine, workers=0)
    assert report.divergence is not None
    assert report.divergence.reason.startswith("table ")
