"""The sequencer on both engines: append, idempotency, equivocation, batches, proofs."""

from __future__ import annotations

import json

import merkle_reference as ref
import pytest
from factories import World
from ledgers import DATA_KEY
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from ledger import canonical, entries, merkle
from ledger.checkpoint import verify_checkpoint
from ledger.custody.log import ACCEPTED, DUPLICATE, REJECTED, Ledger
from ledger.custody.models import DisclosureRow, EquivocationRow, LogEntryRow, LotRow
from ledger.disclosures import Disclosure
from ledger.errors import ConflictError, IntegrityError, SignatureError, ValidationError
from ledger.sealing import Sealer
from ledger.statements import Envelope, Submission


def _leaves(engine: Engine) -> list[bytes]:
    with engine.connect() as conn:
        rows = conn.execute(select(LogEntryRow.leaf_hash).order_by(LogEntryRow.seq)).scalars()
        return [bytes(r) for r in rows]


def _data(engine: Engine) -> list[bytes]:
    with engine.connect() as conn:
        rows = conn.execute(select(LogEntryRow.data).order_by(LogEntryRow.seq)).scalars()
        return [bytes(r) for r in rows]


def test_entries_chain_and_tree_match_the_reference(world: World, ledger: Ledger) -> None:
    leaves = _leaves(ledger.engine)
    assert len(leaves) == ledger.size() == 14  # genesis, 10 actors, 2 sites, 1 miner
    previous = None
    for seq, leaf in enumerate(leaves):
        entry = entries.decode(ledger.entry_bytes(seq))
        assert (entry.seq, entry.prev, entry.leaf_hash) == (seq, previous, leaf)
        previous = leaf
    data = _data(ledger.engine)
    for size in range(1, len(leaves) + 1):
        assert ledger.root_at(size) == ref.mth(data[:size])


def test_proofs_from_storage_equal_the_reference_and_verify(world: World, ledger: Ledger) -> None:
    leaves, data = _leaves(ledger.engine), _data(ledger.engine)
    n = len(leaves)
    for seq in range(n):
        size, proof = ledger.inclusion_proof(seq)
        assert size == n and proof == ref.path(seq, data)
        merkle.verify_inclusion(leaves[seq], seq, n, proof, ledger.root_at(n))
    for old in range(1, n + 1):
        proof = ledger.consistency_proof(old, n)
        assert proof == ref.proof(old, data)
        merkle.verify_consistency(old, n, proof, ledger.root_at(old), ledger.root_at(n))


def test_resubmission_is_idempotent(world: World, ledger: Ledger) -> None:
    submission = world.register_lot("lot-1")
    first = ledger.append(submission)
    again = ledger.append(submission)
    assert first.status == ACCEPTED
    assert (again.status, again.seq, again.leaf_hash) == (DUPLICATE, first.seq, first.leaf_hash)
    assert ledger.size() == first.seq + 1


def test_equivocation_is_refused_and_kept_as_evidence(world: World, ledger: Ledger) -> None:
    author = world.author("coop-a")
    first = world.register_lot("lot-1")
    author.n -= 1  # sign a different statement under the same counter
    second = world.register_lot("lot-2")
    assert second.envelope.statement.n == first.envelope.statement.n
    seq = ledger.append(first).seq
    with pytest.raises(ConflictError, match="equivocation") as caught:
        ledger.append(second)
    assert caught.value.code == "equivocation"
    with Session(ledger.engine) as session:
        evidence = session.scalars(select(EquivocationRow)).all()
    assert [(e.key_id, e.n, e.logged_seq) for e in evidence] == [
        (author.signer.key_id, first.envelope.statement.n, seq)
    ]
    assert evidence[0].envelope == second.envelope.canonical()
    assert ledger.size() == seq + 1


def test_stale_after_is_a_conflict_and_writes_nothing(world: World, ledger: Ledger) -> None:
    world.run(world.register_lot("lot-1"))
    stale_head = world.head("lot:lot-1")
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))
    size = ledger.size()
    late = world.sign(
        "coop-a",
        "lot.dispatch",
        {"lot": "lot-1", "to": "trader-b", "mass_g": 100_000, "tags": ["T-lot-1"]},
        after={"lot:lot-1": stale_head},
    )
    with pytest.raises(ConflictError, match="has moved on") as caught:
        ledger.append(late)
    assert caught.value.code == "stale_after"
    assert ledger.size() == size


def test_a_batch_keeps_the_good_and_reports_the_bad(world: World, ledger: Ledger) -> None:
    size = ledger.size()
    good1 = world.register_lot("lot-1")
    bad = world.register_lot("lot-1", tags=["T-other"])  # duplicate lot id
    good2 = world.register_lot("lot-2")
    results = ledger.append_batch([good1, bad, good1, good2])
    assert [r.status for r in results] == [ACCEPTED, REJECTED, DUPLICATE, ACCEPTED]
    assert results[1].error is not None and results[1].error.code == "duplicate_id"
    assert [results[0].seq, results[3].seq] == [size, size + 1]
    with ledger.engine.connect() as conn:
        assert conn.execute(select(LotRow.id).order_by(LotRow.id)).scalars().all() == [
            "lot-1",
            "lot-2",
        ]
        tags = conn.execute(text("SELECT tag FROM tags ORDER BY tag")).scalars().all()
    assert tags == ["T-lot-1", "T-lot-2"]  # the rejected statement's tag left no trace


def test_checkpoint_verifies_with_the_operator_key(world: World, ledger: Ledger) -> None:
    note = ledger.latest_checkpoint()
    checkpoint = verify_checkpoint(note, ledger.verifier_key(), world.origin)
    assert checkpoint.size == ledger.size()
    assert checkpoint.root == ledger.root_at(ledger.size())
    assert ledger.check_startup().size == ledger.size()


def test_startup_check_refuses_a_head_that_differs(world: World, ledger: Ledger) -> None:
    ledger.latest_checkpoint()
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE log_head SET root = :r"), {"r": b"\x00" * 32})
    with pytest.raises(IntegrityError, match="stored root differs"):
        ledger.check_startup()


def test_disclosures_are_stored_encrypted(world: World, ledger: Ledger) -> None:
    price = {"amount": 731_500, "currency": "USD"}
    result = ledger.append(world.register_lot("lot-1", private={"price": price}))
    with Session(ledger.engine) as session:
        row = session.scalars(select(DisclosureRow).where(DisclosureRow.seq == result.seq)).one()
    assert b"731500" not in row.ciphertext and row.name == "price"
    plain = Sealer(DATA_KEY).open(row.ciphertext, row.digest)
    disclosure = Disclosure.from_json(json.loads(plain))
    assert disclosure.value == price and disclosure.digest() == row.digest


def test_every_private_digest_needs_its_disclosure(world: World, ledger: Ledger) -> None:
    full = world.register_lot("lot-1", private={"price": {"amount": 1, "currency": "USD"}})
    withheld = Submission(full.envelope, ())
    with pytest.raises(ValidationError, match="needs its disclosure") as caught:
        ledger.append(withheld)
    assert caught.value.code == "disclosure_missing"
    forged = Submission(full.envelope, (Disclosure.new("price", {"amount": 2, "currency": "USD"}),))
    with pytest.raises(ValidationError, match="does not match any digest"):
        ledger.append(forged)


def test_unsigned_equivocation_is_not_evidence(world: World, ledger: Ledger) -> None:
    """Anyone can copy a (key, n); only the key's holder can equivocate."""
    first = world.register_lot("lot-1")
    ledger.append(first)
    value = first.envelope.statement.to_json()
    value["body"]["mass_g"] += 1
    fake = Envelope.from_json({"statement": value, "sig": canonical.b64encode(bytes(64))})
    with pytest.raises(SignatureError) as caught:
        ledger.append(Submission(fake))
    assert caught.value.code == "bad_signature"
    with Session(ledger.engine) as session:
        assert session.scalars(select(EquivocationRow)).all() == []


def test_proofs_served_from_the_node_cache_are_the_same(world: World, ledger: Ledger) -> None:
    """Past 256 leaves the upper subtree hashes are cached; proofs must not change."""
    lots = [world.register_lot(f"lot-c{i}", mass_g=10) for i in range(600)]
    ledger.append_batch(lots)
    data = _data(ledger.engine)
    n = len(data)
    first = [ledger.inclusion_proof(seq)[1] for seq in range(0, n, 37)]
    assert ledger._nodes.get((8, 0)) is not None  # the cache holds an upper-level node now
    second = [ledger.inclusion_proof(seq)[1] for seq in range(0, n, 37)]
    assert first == second == [ref.path(seq, data) for seq in range(0, n, 37)]
    assert ledger.consistency_proof(300, n) == ref.proof(300, data)


def test_a_transaction_proves_its_own_entries_from_memory(world: World, ledger: Ledger) -> None:
    """The tree a transaction leaves (its start's compact range, its new leaves and subtrees)
    proves every entry it appended exactly as the stored tree does, at every alignment."""
    number = 0
    for length in (1, 2, 3, 1, 5, 8, 13, 1, 21, 4, 34, 7):
        batch = [world.register_lot(f"lot-r{number + i}") for i in range(length)]
        number += length
        results = ledger.append_batch(batch)
        for submission, result in zip(batch, results, strict=True):
            assert result.status == ACCEPTED and result.tree is not None and result.seq is not None
            world.accept(submission, result.leaf_hash or b"")
            tree = result.tree
            assert (tree.size, tree.root) == (ledger.size(), ledger.root_at(tree.size))
            path = tree.inclusion_path(result.seq)
            assert path == ledger.inclusion_proof(result.seq, tree.size)[1]
            merkle.verify_inclusion(result.leaf_hash, result.seq, tree.size, path, tree.root)
        with pytest.raises(ValueError, match="not appended by this transaction"):
            results[0].tree.inclusion_path(results[0].seq - 1)  # type: ignore[union-attr, operator]
    again = ledger.append_batch([batch[0]])[0]
    assert again.status == DUPLICATE and again.tree is None  # proven from storage instead
