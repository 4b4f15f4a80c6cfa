"""The sequencer's shortcuts must never change an outcome.

- signatures verified ahead of time in worker processes (large batches): a bad signature is
  still refused, and only that statement;
- derived-state rows kept warm between transactions: another writer's append in between makes
  them stale, and they must then be read again, or a lot could be moved twice;
- checkpoints signed lazily: the note handed out covers the newest commit and verifies.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest
from factories import World
from ledgers import make_ledger, submitter

from ledger.checkpoint import verify_checkpoint
from ledger.custody.audit import audit
from ledger.custody.log import ACCEPTED, REJECTED, Ledger
from ledger.custody.verifying import INLINE_BELOW, Vouch
from ledger.errors import ConflictError, ForbiddenError, PolicyError
from ledger.statements import Submission


def _lots(world: World, count: int, prefix: str = "lot") -> list[Submission]:
    return [world.register_lot(f"{prefix}-{i}", mass_g=100 + i) for i in range(count)]


def _forged(submission: Submission) -> Submission:
    """The same statement with one bit of its signature flipped."""
    sig = bytearray(submission.envelope.sig)
    sig[7] ^= 0x01
    return replace(submission, envelope=replace(submission.envelope, sig=bytes(sig)))


def test_a_large_batch_refuses_exactly_the_forged_signatures(world: World, ledger: Ledger) -> None:
    batch = _lots(world, INLINE_BELOW * 2)  # large enough for the worker processes
    forged = {5, INLINE_BELOW + 17, len(batch) - 1}
    for index in forged:
        batch[index] = _forged(batch[index])
    results = ledger.append_batch(batch)
    assert [i for i, r in enumerate(results) if r.status == REJECTED] == sorted(forged)
    for index in forged:
        error = results[index].error
        assert error is not None and error.code == "bad_signature", error
    assert all(r.status == ACCEPTED for i, r in enumerate(results) if i not in forged)
    assert audit(ledger.engine, workers=1).clean


def test_a_key_registered_inside_the_batch_is_verified_in_the_transaction(
    world: World, ledger: Ledger
) -> None:
    """The head start knows only keys already stored; a newcomer's statements still verify."""
    world.run(world.register_actor("coop-new", ("cooperative",)))
    batch = [world.register_site("site-new", "coop-new")]
    batch += [
        world.register_lot(f"new-{i}", by="coop-new", site="site-new", mass_g=10)
        for i in range(INLINE_BELOW)
    ]
    batch.append(_forged(world.register_lot("new-forged", by="coop-new", site="site-new")))
    results = ledger.append_batch(batch)
    assert [r.status for r in results[:-1]] == [ACCEPTED] * (len(batch) - 1)
    assert results[-1].status == REJECTED
    assert results[-1].error is not None and results[-1].error.code == "bad_signature"


def test_warm_rows_are_dropped_when_another_writer_appended(world: World, ledger: Ledger) -> None:
    """Two Ledger services on one database (two server processes): each keeps rows warm."""
    other = make_ledger(ledger.engine)
    world.run(world.register_lot("contested", mass_g=1_000))
    both = [world.dispatch("contested", by="coop-a", to="trader-a")]
    stale_view = world.heads["lot:contested"]
    # `other` moves the lot; `ledger` last saw it held by coop-a, at rest
    world.submit = submitter(other)
    world.run(both[0])
    world.run(world.receive("contested", by="trader-a"))
    # coop-a signs a second dispatch from its stale view; `ledger`'s warm rows say it may
    second = world.sign(
        "coop-a",
        "lot.dispatch",
        {"lot": "contested", "to": "trader-b", "mass_g": 1_000, "tags": ["T-contested"]},
        after={"lot:contested": stale_view},
    )
    with pytest.raises((ConflictError, ForbiddenError, PolicyError)):
        ledger.append(second)
    # and a statement that is right for the current state goes through the warm service
    world.submit = submitter(ledger)
    world.run(world.dispatch("contested", by="trader-a", to="exporter-a"))
    assert audit(ledger.engine, workers=1).clean


def test_the_lazily_signed_checkpoint_covers_the_newest_commit(
    world: World, ledger: Ledger
) -> None:
    for submission in _lots(world, 3, prefix="cp"):
        world.run(submission)
    last = ledger.last_checkpoint
    assert last is not None
    size, note = last
    assert size == ledger.size()
    checkpoint = verify_checkpoint(note, ledger.verifier_key(), ledger.origin())
    assert checkpoint.size == size
    assert checkpoint.root == ledger.root_at(size)


def test_a_ledger_without_an_operator_key_hands_out_no_checkpoint(world: World, engine) -> None:
    unsigned = Ledger(engine)
    world.submit = submitter(unsigned)
    world.run(world.register_lot("no-cp"))
    assert unsigned.last_checkpoint is None


# -- derived rows the overlay knows are written in the columns that changed only -----------------
def test_a_known_row_is_updated_in_its_changed_columns_only(world: World, ledger: Ledger) -> None:
    """A dispatch changes the lot's status and addressee, never its mineral: an UPDATE of the
    changed columns leaves a value planted in an unchanged column as it is (an upsert of the
    whole row would overwrite it), and the audit then sees the plant."""
    from sqlalchemy import text

    world.run(world.register_lot("lot-u"))
    with ledger.engine.begin() as conn:  # behind the overlay's back: the warm row still says tin
        conn.execute(text("UPDATE lots SET mineral = 'gold' WHERE id = 'lot-u'"))
    world.run(world.dispatch("lot-u", by="coop-a", to="trader-a"))
    with ledger.engine.connect() as conn:
        row = conn.execute(text("SELECT mineral, status FROM lots WHERE id = 'lot-u'")).one()
    assert tuple(row) == ("gold", "in_transit")
    report = audit(ledger.engine, workers=1)
    assert not report.clean and "lots" in str(report.divergence)


def test_the_changed_columns_of_a_row() -> None:
    from ledger.custody.types import Lot
    from ledger.rulebook import evolve
    from ledger.sqlstate import KINDS

    lot = Lot("l", "tin", "ore", 10, 10, 5, "coop-a", "held", ("t1",), ("site-a",), 1, 1, None,
              None)  # fmt: skip
    moved = evolve(lot, status="in_transit", addressee="trader-a", updated_seq=2)
    assert KINDS["lot"].changed("l", lot, moved) == {
        "status": "in_transit", "addressee": "trader-a", "updated_seq": 2,
    }  # fmt: skip
    assert KINDS["lot"].changed("l", lot, lot) == {}
    assert KINDS["head"].changed("lot:l", (b"\x01", 1), (b"\x02", 2)) == {
        "leaf_hash": b"\x02", "seq": 2,
    }  # fmt: skip


def test_an_update_that_finds_no_row_fails_and_writes_nothing(ledger: Ledger) -> None:
    """The guard against a stale overlay: an UPDATE must change exactly the rows it names."""
    from sqlalchemy import text

    from ledger.errors import IntegrityError
    from ledger.sqlstate import SqlBacking
    from ledger.state import Changes

    changes = Changes()
    changes.rows["head"] = {"lot:ghost": ((b"\x02" * 32, 9), False)}
    changes.before[("head", "lot:ghost")] = (b"\x01" * 32, 8)  # believed stored; it is not
    with (
        pytest.raises(IntegrityError, match="changed 0 rows, not 1"),
        ledger.engine.begin() as conn,
    ):
        SqlBacking(conn).flush(changes)
    with ledger.engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM heads WHERE subject = 'lot:ghost'")).scalar()
            == 0
        )


def test_verification_chunks_start_small_and_double() -> None:
    from ledger.custody.verifying import FIRST_CHUNK, MAX_CHUNK, _cuts

    cuts = _cuts(1000)
    sizes = [b - a for a, b in pairwise(cuts)]
    assert cuts[0] == 0 and cuts[-1] == 1000 and sum(sizes) == 1000
    assert sizes[:5] == [FIRST_CHUNK, 2 * FIRST_CHUNK, 4 * FIRST_CHUNK, 8 * FIRST_CHUNK,
                         min(16 * FIRST_CHUNK, MAX_CHUNK)]  # fmt: skip
    assert max(sizes) == MAX_CHUNK and all(size > 0 for size in sizes)
    assert _cuts(5) == [0, 5]


def test_a_vouch_counts_only_from_its_own_ledger_for_its_own_envelope(
    world: World, ledger: Ledger
) -> None:
    """Group commit hands the sequencer signatures its callers verified already; a vouch that
    this ledger did not make, or made for another envelope, must not spare a forged signature."""
    assert ledger.append_batch(_lots(world, 1, "known"))[0].status == ACCEPTED
    genuine, forged = _lots(world, 2, "vouched")
    forged = _forged(forged)
    key_id = forged.envelope.statement.key
    public_key = ledger._public_keys[key_id]  # the signer's registered key: the head start knows it
    own = ledger._verify_ahead(genuine)
    assert own is not None and own.public_key == public_key
    assert ledger._verify_ahead(forged) is None

    made_elsewhere = Vouch(forged.envelope, public_key, object())
    for vouch in (made_elsewhere, own):  # someone else's mark; this ledger's, for another envelope
        [result] = ledger.append_round([forged], {0: vouch})
        assert result.status == REJECTED
        assert result.error is not None and result.error.code == "bad_signature"
    assert ledger.append_round([genuine], {0: own})[0].status == ACCEPTED

    # The control: what stops a forgery above is the check of the mark and the envelope. A vouch
    # with this ledger's own mark is believed, and only the audit then finds the forgery.
    size = ledger.size()
    trusted = Vouch(forged.envelope, public_key, ledger._vouch_mark)
    assert ledger.append_round([forged], {0: trusted})[0].status == ACCEPTED
    report = audit(ledger.engine, workers=1)
    assert report.divergence is not None and report.divergence.seq == size
    assert "signature" in report.divergence.reason


def test_a_stale_row_fails_the_append_and_nothing_is_written(world: World, ledger: Ledger) -> None:
    """The same guard on the append path, where PostgreSQL sends the writes in one pipeline and
    checks the counts when it ends: a row the warm state believes stored but that is gone fails
    the whole transaction."""
    from sqlalchemy import text

    from ledger.errors import IntegrityError

    world.run(world.register_lot("lot-g"))
    with ledger.engine.begin() as conn:  # behind the overlay's back: the warm head row is stale
        conn.execute(text("DELETE FROM heads WHERE subject = 'lot:lot-g'"))
    size = ledger.size()
    with pytest.raises(IntegrityError, match=r"UPDATE heads SET .* changed 0 rows, not 1"):
        ledger.append(world.dispatch("lot-g", by="coop-a", to="trader-a"))
    assert ledger.size() == size
    with ledger.engine.connect() as conn:
        status = conn.execute(text("SELECT status FROM lots WHERE id = 'lot-g'")).scalar()
        log_size = conn.execute(text("SELECT count(*) FROM log_entries")).scalar()
    assert (status, log_size) == ("held", size)


def test_a_stale_row_among_several_fails_the_whole_batch(world: World, ledger: Ledger) -> None:
    """The count of a many-row UPDATE in the pipeline is the sum over its rows: one of two
    rows missing fails the batch, and nothing of it is written."""
    from sqlalchemy import text

    from ledger.errors import IntegrityError

    world.run_all([world.register_lot("lot-s1"), world.register_lot("lot-s2")])
    with ledger.engine.begin() as conn:
        conn.execute(text("DELETE FROM heads WHERE subject = 'lot:lot-s1'"))
    size = ledger.size()
    moves = [world.dispatch(lot, by="coop-a", to="trader-a") for lot in ("lot-s1", "lot-s2")]
    with pytest.raises(IntegrityError, match=r"UPDATE heads SET .* changed 1 rows, not 2"):
        ledger.append_batch(moves)
    assert ledger.size() == size
    with ledger.engine.connect() as conn:
        found = conn.execute(text("SELECT id, status FROM lots WHERE id LIKE 'lot-s%' ORDER BY id"))
        assert [tuple(row) for row in found] == [("lot-s1", "held"), ("lot-s2", "held")]
