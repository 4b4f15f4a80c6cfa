"""``ledger audit``: clean on an honest ledger; altering any stored row behind the triggers'
back makes it fail, naming the entry where the divergence starts."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from factories import ORIGIN, World, signer
from sqlalchemy import Connection, Engine, text

from ledger import entries, merkle
from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.custody.audit import audit
from ledger.custody.log import Ledger


def _busy_world(world: World, ledger: Ledger) -> None:
    """Enough history for several tree levels: 14 + 12 = 26 entries."""
    for i in range(4):
        world.run(world.register_lot(f"lot-{i}"))
        world.transfer(f"lot-{i}", by="coop-a", to="trader-a")
    ledger.latest_checkpoint()


def _behind_the_triggers(engine: Engine, work: Callable[[Connection], None]) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            for table in ("log_entries", "log_nodes", "checkpoints"):
                for action in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        work(conn)


def _flip_entry_byte(seq: int) -> Callable[[Connection], None]:
    def work(conn: Connection) -> None:
        data = bytearray(
            conn.execute(text("SELECT data FROM log_entries WHERE seq=:s"), {"s": seq}).scalar_one()
        )
        data[len(data) // 2] ^= 0x01
        conn.execute(
            text("UPDATE log_entries SET data=:d WHERE seq=:s"), {"d": bytes(data), "s": seq}
        )

    return work


def _rewrite_entry_consistently(seq: int) -> Callable[[Connection], None]:
    """Change the entry's logged time and store the matching leaf hash too."""

    def work(conn: Connection) -> None:
        data = conn.execute(
            text("SELECT data FROM log_entries WHERE seq=:s"), {"s": seq}
        ).scalar_one()
        forged = bytes(data).replace(b'"logged":"2', b'"logged":"1', 1)
        conn.execute(
            text("UPDATE log_entries SET data=:d, leaf_hash=:h WHERE seq=:s"),
            {"d": forged, "h": merkle.leaf_hash(forged), "s": seq},
        )

    return work


def _set(sql: str) -> Callable[[Connection], None]:
    def work(conn: Connection) -> None:
        conn.execute(text(sql), {"x": b"\x5a" * 32})

    return work


CASES = {
    "entry byte flipped": (_flip_entry_byte(17), 17),
    "leaf hash replaced": (_set("UPDATE log_entries SET leaf_hash=:x WHERE seq=9"), 9),
    "entry and leaf rewritten together": (_rewrite_entry_consistently(12), 12),
    "level-1 subtree replaced": (_set("UPDATE log_nodes SET hash=:x WHERE level=1 AND idx=5"), 11),
    "level-3 subtree replaced": (_set("UPDATE log_nodes SET hash=:x WHERE level=3 AND idx=1"), 15),
    "entry deleted": (_set("DELETE FROM log_entries WHERE seq=20"), 20),
    "frontier replaced": (_set("UPDATE log_head SET frontier = :x"), None),
    "last leaf replaced": (_set("UPDATE log_head SET last_leaf = :x"), None),
    "derived lot mass changed": (_set("UPDATE lots SET mass_g = mass_g + 1 WHERE id='lot-2'"), 20),
    "derived tag deleted": (_set("DELETE FROM tags WHERE tag='T-lot-3'"), 23),
    "entry link redirected": (_set("UPDATE entry_links SET after_entry = 0 WHERE seq = 19"), 19),
    "entry link deleted": (_set("DELETE FROM entry_links WHERE seq = 16"), 16),
    "entry's actor column changed": (_set("UPDATE log_entries SET actor='x' WHERE seq=15"), 15),
    "entry's counter column changed": (_set("UPDATE log_entries SET n = n + 99 WHERE seq=21"), 21),
}


def test_audit_of_an_honest_ledger_is_clean(world: World, ledger: Ledger) -> None:
    _busy_world(world, ledger)
    report = audit(ledger.engine, workers=2)
    assert report.clean, report.divergence
    assert report.size == ledger.size() == 26
    assert report.checkpoints >= 1


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_found_at_its_entry(world: World, ledger: Ledger, case: str) -> None:
    _busy_world(world, ledger)
    tamper, seq = CASES[case]
    _behind_the_triggers(ledger.engine, tamper)
    report = audit(ledger.engine, workers=2)
    assert not report.clean
    assert report.divergence is not None
    assert report.divergence.seq == seq, str(report.divergence)


def test_a_forged_checkpoint_fails_the_audit(world: World, ledger: Ledger) -> None:
    _busy_world(world, ledger)

    def work(conn: Connection) -> None:
        note = conn.execute(text("SELECT note FROM checkpoints ORDER BY size DESC")).first()[0]
        conn.execute(
            text("UPDATE checkpoints SET note=:n"), {"n": note.replace("\n26\n", "\n25\n")}
        )

    _behind_the_triggers(ledger.engine, work)
    report = audit(ledger.engine, workers=1)
    assert report.divergence is not None
    assert (
        "checkpoint" in report.divergence.reason and "does not verify" in report.divergence.reason
    )


def _rewrite_history(conn: Connection, target: int, mutate: Callable[[bytes], bytes]) -> None:
    """What an operator with database access and the operator key could do: change one entry,
    re-chain every later one, recompute the whole tree and re-sign the checkpoint."""
    rows = conn.execute(text("SELECT seq, data FROM log_entries ORDER BY seq")).all()
    data = [bytes(r.data) for r in rows]
    data[target] = mutate(data[target])
    leaves = [merkle.leaf_hash(d) for d in data[: target + 1]]
    for seq in range(target + 1, len(data)):
        old_prev = entries.split(data[seq])[1]
        assert old_prev is not None
        data[seq] = data[seq].replace(old_prev.hex().encode(), leaves[-1].hex().encode(), 1)
        leaves.append(merkle.leaf_hash(data[seq]))
    tree = merkle.CompactRange()
    for seq in range(len(data)):
        conn.execute(
            text("UPDATE log_entries SET data=:d, leaf_hash=:h WHERE seq=:s"),
            {"d": data[seq], "h": leaves[seq], "s": seq},
        )
        for level, index, node in tree.append(leaves[seq]):
            conn.execute(
                text("UPDATE log_nodes SET hash=:h WHERE level=:l AND idx=:i"),
                {"h": node, "l": level, "i": index},
            )
    conn.execute(
        text("UPDATE log_head SET root=:r, frontier=:f, last_leaf=:l"),
        {"r": tree.root(), "f": b"".join(tree.hashes), "l": leaves[-1]},
    )
    conn.execute(text("DELETE FROM checkpoints"))
    note = sign_checkpoint(Checkpoint(ORIGIN, len(data), tree.root()), ORIGIN, signer("operator"))
    conn.execute(
        text("INSERT INTO checkpoints (size, root, note) VALUES (:s, :r, :n)"),
        {"s": len(data), "r": tree.root(), "n": note},
    )


def test_rewritten_history_is_caught_by_the_signature_alone(world: World, ledger: Ledger) -> None:
    """A log longer than one chunk is checked by worker processes; their finding is reported."""
    from ledger.custody.audit import CHUNK

    lots = [world.register_lot(f"lot-w{i}", mass_g=1_000) for i in range(CHUNK + 200)]
    for start in range(0, len(lots), 500):
        ledger.append_batch(lots[start : start + 500])
    ledger.latest_checkpoint()
    assert audit(ledger.engine, workers=2).clean
    target = CHUNK + 100

    def flip_signature(data: bytes) -> bytes:
        forged = bytearray(data)
        forged[len(b'{"envelope":{"sig":"')] ^= 0x01  # one base64 character of the signature
        return bytes(forged)

    _behind_the_triggers(ledger.engine, lambda conn: _rewrite_history(conn, target, flip_signature))
    ledger.check_startup()  # the rewritten tree is self-consistent and its checkpoint verifies
    report = audit(ledger.engine, workers=2)
    assert report.divergence is not None
    assert report.divergence.seq == target, str(report.divergence)
    assert "signature does not verify" in report.divergence.reason


def test_derived_tables_are_compared_in_byte_order(world: World, ledger: Ledger) -> None:
    """Both walks must sort alike: on PostgreSQL string keys are ordered with COLLATE "C", so a
    server whose default collation is linguistic (en_US: "a-1" < "A_2" < "B") agrees with
    SQLite's byte order ("A_2" < "B" < "a-1")."""
    from sqlalchemy.dialects import postgresql

    from ledger.custody.audit import _ordered
    from ledger.custody.models import LotRow
    from ledger.db import table

    for lot in ("a-1", "A_2", "a.3", "B", "b"):
        world.run(world.register_lot(lot))
    with ledger.engine.connect() as conn:
        sql = str(_ordered(table(LotRow), conn).compile(dialect=postgresql.dialect()))
        if conn.dialect.name == "postgresql":
            assert 'ORDER BY lots.id COLLATE "C"' in sql
    assert audit(ledger.engine, workers=1).clean
