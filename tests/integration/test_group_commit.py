"""Group commit: threads appending single statements at once share transactions safely."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from factories import World

from ledger import entries
from ledger.custody.audit import audit
from ledger.custody.log import ACCEPTED, Ledger, Result
from ledger.custody.verifying import Vouch
from ledger.errors import ConflictError, SignatureError
from ledger.statements import Submission

THREADS, EACH = 8, 25


def test_concurrent_single_appends_are_grouped_and_all_land(world: World, ledger: Ledger) -> None:
    plans = []
    for t in range(THREADS):  # one signer per thread: a key's counters must arrive in order
        coop = f"coop-t{t}"
        world.run(world.register_actor(coop, ("cooperative",)))
        world.run(world.register_site(f"site-t{t}", coop))
        plans.append([world.register_lot(f"lot-{t}-{i}", by=coop, site=f"site-t{t}", mass_g=100)
                      for i in range(EACH)])  # fmt: skip
    base = ledger.size()
    batch_sizes: list[int] = []
    original = ledger.append_round

    def recording(submissions: Sequence[Submission], vouched: dict[int, Vouch]) -> list[Result]:
        batch_sizes.append(len(submissions))
        return original(submissions, vouched)

    ledger.append_round = recording  # type: ignore[method-assign]
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []

    def run(plan: list[Submission]) -> None:
        barrier.wait()
        outcomes.extend(ledger.append(s).status for s in plan)

    threads = [threading.Thread(target=run, args=(plan,)) for plan in plans]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == [ACCEPTED] * (THREADS * EACH)
    assert ledger.size() == base + THREADS * EACH
    assert sum(batch_sizes) == THREADS * EACH
    assert max(batch_sizes) > 1, "no two appends were ever grouped"
    previous = entries.decode(ledger.entry_bytes(base - 1)).leaf_hash
    for seq in range(base, ledger.size()):
        entry = entries.decode(ledger.entry_bytes(seq))
        assert entry.prev == previous
        previous = entry.leaf_hash
    assert audit(ledger.engine, workers=1).clean


def test_a_rejection_in_a_group_is_its_callers_alone(world: World, ledger: Ledger) -> None:
    world.run(world.register_lot("lot-1"))
    first = world.dispatch("lot-1", by="coop-a", to="trader-a")
    rival = world.dispatch("lot-1", by="coop-a", to="trader-b")  # same head: one must lose
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def run(name: str, submission: Submission) -> None:
        barrier.wait()
        try:
            results[name] = ledger.append(submission).status
        except ConflictError as exc:
            results[name] = exc.code

    threads = [threading.Thread(target=run, args=(n, s)) for n, s in (("a", first), ("b", rival))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(map(str, results.values())) in (
        [ACCEPTED, "stale_after"],
        [ACCEPTED, "stale_counter"],
    )


def test_a_caller_verifies_its_own_signature_before_joining_a_round(
    world: World, ledger: Ledger
) -> None:
    """Each caller checks its statement's signature in its own thread (in parallel with the
    others); the round then verifies only what no caller could (a key not known yet)."""
    world.run(world.register_lot("lot-known-key"))  # the cooperative's key is known from now
    started: list[int] = []
    original = ledger._preverifier.start

    def recording(jobs: Any) -> Any:
        started.append(len(jobs))
        return original(jobs)

    ledger._preverifier.start = recording  # type: ignore[method-assign]
    assert ledger.append(world.register_lot("lot-v1")).status == ACCEPTED
    forged = world.register_lot("lot-v2")
    sig = bytes([forged.envelope.sig[0] ^ 1]) + forged.envelope.sig[1:]
    forged = replace(forged, envelope=replace(forged.envelope, sig=sig))
    with pytest.raises(SignatureError, match="does not verify"):
        ledger.append(forged)  # the caller's check failed: the round checks again and refuses
    assert started == [0, 1]
