"""Offline sync against the real app (both engines): everything signed while the server was
unreachable is in the log after sync, exactly once and in order, however often the sync is
interrupted and re-run; rejections are reported and do not stop the rest; nothing unverified is
ever stored."""

from __future__ import annotations

from typing import Any

import pytest
from client_helpers import Faulty, Rewriting, logged_counters, lot_body
from conftest import MakeClient
from factories import signer
from flask import Flask
from sqlalchemy import Engine

from ledger.checkpoint import Checkpoint, sign_checkpoint
from ledger.client import Client, Journal
from ledger.client.errors import ResponseError
from ledger.client.server import payload
from ledger.errors import ProofError

BATCH = "/v1/statements/batch"
KEY = signer("coop-a").key_id


def _online_once(client: Client) -> int:
    """Sign and sync one statement online, so the journal knows the key's counter."""
    result = client.submit("lot.register", lot_body("lot-0"))
    assert result.item.status == "accepted"
    return result.item.n


def _offline(client: Client, count: int, first: int = 1) -> list[int]:
    """Sign ``count`` lot registrations offline; their journal ids."""
    return [
        client.sign("lot.register", lot_body(f"lot-{i}"), offline=True).id
        for i in range(first, first + count)
    ]


def _assert_logged_once_in_order(client: Client, engine: Engine) -> None:
    items = client.journal.items()
    assert {i.status for i in items} <= {"accepted", "duplicate"}
    assert logged_counters(engine, KEY) == [1, *(i.n for i in items)]  # 1: miner-1
    seqs = [i.seq for i in items]
    assert seqs == sorted(seqs)  # type: ignore[type-var]
    for item in items:
        receipt = client.journal.receipt(item.id)
        assert receipt is not None
        assert receipt.seq == item.seq


def test_statements_made_offline_are_all_logged_once_after_sync(
    make_client: MakeClient, network: Faulty, engine: Engine
) -> None:
    coop = make_client("coop-a", batch_size=3)
    _online_once(coop)
    network.down = True
    _offline(coop, 7)
    down = coop.sync()
    assert (down.pending, down.accepted) == (7, 0)
    assert down.problem is not None
    assert "cannot reach" in down.problem
    network.down = False
    posts_before = len(network.paths("POST"))
    sent: list[int] = []
    report = coop.sync(progress=sent.append)
    assert (report.accepted, report.duplicate, report.pending) == (7, 0, 0)
    assert report.complete
    assert sent == [3, 3, 1]
    assert network.paths("POST")[posts_before:] == [BATCH] * 3
    _assert_logged_once_in_order(coop, engine)
    assert coop.sync() == report.__class__(checkpoint=report.checkpoint)  # nothing left to do


@pytest.mark.parametrize("budget", range(10))
def test_a_sync_interrupted_after_any_request_can_be_rerun(
    make_client: MakeClient, network: Faulty, engine: Engine, budget: int
) -> None:
    """Three batches of requests (post, prove consistency, fetch entries); cut after each."""
    coop = make_client("coop-a", batch_size=3)
    _online_once(coop)
    _offline(coop, 7)
    network.budget = budget
    first = coop.sync()
    assert first.problem is not None or first.pending == 0
    network.budget = None
    second = coop.sync()
    assert second.pending == 0
    assert first.accepted + first.duplicate + second.accepted + second.duplicate == 7
    # cut inside a batch after its post: the log has it, so it comes back as duplicates
    sizes = [3, 3, 1]
    done, cut = divmod(budget, 3)
    assert first.accepted == sum(sizes[:done])
    assert second.duplicate == (sizes[done] if cut and done < len(sizes) else 0)
    _assert_logged_once_in_order(coop, engine)


def test_a_lost_answer_comes_back_as_duplicates_with_proofs(
    make_client: MakeClient, network: Faulty, engine: Engine
) -> None:
    coop = make_client("coop-a")
    _online_once(coop)
    _offline(coop, 3)
    network.lose = {("POST", BATCH)}
    lost = coop.sync()
    assert (lost.pending, lost.accepted) == (3, 0)
    assert len(logged_counters(engine, KEY)) == 1 + 1 + 3  # the server did append them
    network.lose = set()
    again = coop.sync()
    assert (again.accepted, again.duplicate, again.pending) == (0, 3, 0)
    _assert_logged_once_in_order(coop, engine)


class Crash(Exception):
    """The device dies."""


def test_a_crash_between_batches_loses_nothing(make_client: MakeClient, engine: Engine) -> None:
    coop = make_client("coop-a", batch_size=2)
    _online_once(coop)
    _offline(coop, 5)

    def crash(count: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        coop.sync(progress=crash)
    assert coop.journal.counts()["pending"] == 3  # the first batch was settled before the crash
    assert coop.sync().accepted == 3
    _assert_logged_once_in_order(coop, engine)


def test_a_crash_before_the_journal_stores_the_receipts(
    make_client: MakeClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    coop = make_client("coop-a")
    _online_once(coop)
    _offline(coop, 4)
    settle = Journal.settle
    monkeypatch.setattr(Journal, "settle", lambda *a, **k: (_ for _ in ()).throw(Crash()))
    with pytest.raises(Crash):
        coop.sync()
    monkeypatch.setattr(Journal, "settle", settle)
    assert coop.journal.counts()["pending"] == 4
    report = coop.sync()
    assert (report.accepted, report.duplicate) == (0, 4)
    _assert_logged_once_in_order(coop, engine)


def test_accepted_duplicate_and_rejected_in_one_sync(
    make_client: MakeClient, app: Flask, token_for: Any, engine: Engine
) -> None:
    coop = make_client("coop-a")
    _online_once(coop)
    ids = [
        coop.sign("lot.register", lot_body("lot-1"), offline=True).id,
        coop.sign("lot.register", lot_body("lot-2"), offline=True).id,
        coop.sign("lot.register", lot_body("lot-3", tags=["T-lot-1"]), offline=True).id,
        coop.sign("lot.register", lot_body("lot-4"), offline=True).id,
    ]
    # lot-1 reached the log another way (a sync whose answer was lost, a relay)
    lot1 = coop.journal.pending()[0].submission
    response = app.test_client().post(
        "/v1/statements",
        json=payload(lot1),
        headers={"Authorization": f"Bearer {token_for('coop-a')}"},
    )
    assert response.status_code == 201
    report = coop.sync()
    assert (report.accepted, report.duplicate, report.pending) == (2, 1, 0)
    assert [(i.id, i.error_code) for i in report.rejected] == [(ids[2], "tag_reused")]
    assert "T-lot-1" in (report.rejected[0].error_message or "")
    assert not report.complete
    statuses = [coop.journal.item(i).status for i in ids]
    assert statuses == ["duplicate", "accepted", "rejected", "accepted"]
    # the rejected statement is not retried, and its counter is never used again
    assert coop.sync().rejected == ()
    rejected_n = coop.journal.item(ids[2]).n
    assert coop.sign("lot.register", lot_body("lot-5"), offline=True).n > rejected_n + 1
    assert rejected_n not in logged_counters(engine, KEY)


def test_a_failing_server_stops_the_sync_and_keeps_everything(
    make_client: MakeClient, network: Faulty
) -> None:
    coop = make_client("coop-a")
    _online_once(coop)
    _offline(coop, 2)
    failing = make_client(
        "coop-a", journal=coop.journal, transport=Rewriting(network, BATCH, status=503)
    )
    report = failing.sync()
    assert report.pending == 2
    assert report.problem is not None
    assert "503" in report.problem


def test_an_item_the_server_failed_on_stays_pending(
    make_client: MakeClient, network: Faulty
) -> None:
    coop = make_client("coop-a")
    _online_once(coop)
    ids = _offline(coop, 2)

    def fail_second(body: dict[str, Any]) -> dict[str, Any]:
        second = body["results"][1]
        second.update(status="rejected", seq=None, leaf_hash=None, inclusion=None, type=None)
        second["error"] = {"code": "internal", "status": 500, "message": "oops", "errors": {}}
        return body

    flaky = make_client(
        "coop-a", journal=coop.journal, transport=Rewriting(network, BATCH, fail_second)
    )
    report = flaky.sync()
    assert report.accepted == 1
    assert report.pending == 1
    assert report.problem is not None
    assert [coop.journal.item(i).status for i in ids] == ["accepted", "pending"]
    assert coop.sync().duplicate == 1


# -- nothing unverified is stored ---------------------------------------------------------------
def _flip_hex(text: str) -> str:
    return ("0" if text[0] != "0" else "1") + text[1:]


def _flip_proof(body: dict[str, Any]) -> dict[str, Any]:
    proof = body["results"][0]["inclusion"]["proof"]
    proof[0] = _flip_hex(proof[0])
    return body


def _swap_leaves(body: dict[str, Any]) -> dict[str, Any]:
    first, second = body["results"][0], body["results"][1]
    first["leaf_hash"], second["leaf_hash"] = second["leaf_hash"], first["leaf_hash"]
    first["seq"], second["seq"] = second["seq"], first["seq"]
    first["inclusion"], second["inclusion"] = second["inclusion"], first["inclusion"]
    return body


def _foreign_checkpoint(body: dict[str, Any]) -> dict[str, Any]:
    checkpoint = Checkpoint(
        body["checkpoint"]["origin"],
        body["checkpoint"]["size"],
        bytes.fromhex(body["checkpoint"]["root"]),
    )
    body["checkpoint"]["note"] = sign_checkpoint(checkpoint, checkpoint.origin, signer("impostor"))
    return body


def _one_result_missing(body: dict[str, Any]) -> dict[str, Any]:
    body["results"].pop()
    return body


def _other_entry(body: dict[str, Any]) -> dict[str, Any]:
    """Serve the bytes of the first entry of the page in place of each of the others."""
    entries = body["entries"]
    for entry in entries[1:]:
        entry["entry"] = entries[0]["entry"]
    return body


TAMPERED = {
    "a bit flipped in an inclusion proof": (BATCH, _flip_proof, ProofError),
    "receipts swapped between statements": (BATCH, _swap_leaves, ProofError),
    "a checkpoint signed by another key": (BATCH, _foreign_checkpoint, ProofError),
    "a result missing": (BATCH, _one_result_missing, ResponseError),
    "entries that are not ours": ("/v1/entries", _other_entry, ProofError),
}


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_answer_is_refused_and_nothing_is_stored(
    make_client: MakeClient, network: Faulty, engine: Engine, case: str
) -> None:
    coop = make_client("coop-a")
    _online_once(coop)
    ids = _offline(coop, 3)
    path, rewrite, error = TAMPERED[case]
    liar = make_client("coop-a", journal=coop.journal, transport=Rewriting(network, path, rewrite))
    with pytest.raises(error):
        liar.sync()
    assert [coop.journal.item(i).status for i in ids] == ["pending"] * 3
    assert all(coop.journal.receipt(i) is None for i in ids)
    # the honest server's answer is then accepted (the statements were appended: duplicates)
    report = coop.sync()
    assert (report.duplicate, report.pending) == (3, 0)
    _assert_logged_once_in_order(coop, engine)


def test_entry_bytes_are_decoded_from_base64(make_client: MakeClient) -> None:
    coop = make_client("coop-a")
    item = coop.submit("lot.register", lot_body("lot-1")).item
    receipt = coop.journal.receipt(item.id)
    assert receipt is not None
    assert b'"lot":"lot-1"' in receipt.entry
