"""The client against the real app (in-process, both engines): signing, counters, heads, tokens,
the operator key, and how server answers become errors."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from client_helpers import Faulty, lot_body
from conftest import MakeClient
from factories import World, signer
from flask import Flask

from api.limits import MAX_BATCH as SERVER_MAX_BATCH
from ledger.checkpoint import VerifierKey
from ledger.client import MAX_BATCH, Client, Journal
from ledger.client.errors import ResponseError, UnreachableError
from ledger.errors import (
    AuthenticationError,
    ConfigError,
    ConflictError,
    NotFoundError,
    ValidationError,
)


def _dispatch(lot: str, to: str = "trader-a") -> dict[str, object]:
    return {"lot": lot, "to": to, "mass_g": 100_000, "tags": [f"T-{lot}"]}


def test_the_batch_limit_is_the_servers() -> None:
    assert MAX_BATCH == SERVER_MAX_BATCH


def test_a_submitted_statement_is_logged_with_a_verified_receipt(
    make_client: MakeClient, app: Flask
) -> None:
    client = make_client("coop-a")
    result = client.submit("lot.register", lot_body("lot-1"), private={"price": {"usd": 1}})
    item = result.item
    assert (item.status, result.report.accepted, result.report.problem) == ("accepted", 1, None)
    # miner-1 was registered with coop-a's key: the counter continues from the server's view
    assert item.n == 2
    entry = app.test_client().get(f"/v1/entries/{item.seq}").get_json()
    assert entry["leaf_hash"] == item.leaf_hash.hex()  # type: ignore[union-attr]
    assert entry["statement"]["n"] == 2
    receipt = client.journal.receipt(item.id)
    assert receipt is not None
    assert receipt.seq == item.seq
    newest = client.journal.newest_checkpoint()
    assert newest is not None
    assert receipt.checkpoint_size == newest.size > item.seq  # type: ignore[operator]
    assert client.journal.head("lot:lot-1") is not None


def test_heads_come_from_receipts_and_from_the_server(make_client: MakeClient) -> None:
    coop = make_client("coop-a")
    registered = coop.submit("lot.register", lot_body("lot-1")).item
    # offline, the journal knows the lot's head from the receipt
    dispatched = coop.sign("lot.dispatch", _dispatch("lot-1"), offline=True)
    assert coop.sync().accepted == 1
    assert coop.journal.item(dispatched.id).status == "accepted"
    # the trader's journal knows nothing of the lot: its head comes from the server
    trader = make_client("trader-a")
    received = trader.submit("lot.receive", {"lot": "lot-1", "mass_g": 100_000}).item
    assert received.status == "accepted"
    head = trader.journal.head("lot:lot-1")
    assert head is not None
    assert (head.seq, head.source) == (received.seq, "receipt")
    assert registered.seq is not None
    assert received.seq == registered.seq + 2


def test_nothing_is_signed_after_a_pending_statement(make_client: MakeClient) -> None:
    coop = make_client("coop-a")
    registered = coop.sign("lot.register", lot_body("lot-1"))  # online: n=2
    with pytest.raises(ConflictError, match=f"pending statement #{registered.id}") as caught:
        coop.sign("lot.dispatch", _dispatch("lot-1"), offline=True)
    assert caught.value.code == "head_pending"
    assert coop.journal.last_n(coop.signer.key_id) == 2  # type: ignore[union-attr]
    assert coop.sync().accepted == 1
    dispatched = coop.sign("lot.dispatch", _dispatch("lot-1"), offline=True)
    assert coop.sync().accepted == 1
    assert coop.journal.item(dispatched.id).status == "accepted"


def test_an_unknown_head_is_refused_offline_and_reported_online(
    make_client: MakeClient, world: World
) -> None:
    world.run(world.register_lot("lot-1"))
    coop = make_client("coop-a")
    with pytest.raises(NotFoundError, match="no head of lot:lot-1") as caught:
        coop.sign("lot.dispatch", _dispatch("lot-1"), offline=True)
    assert caught.value.code == "unknown_head"
    with pytest.raises(NotFoundError, match="there is no lot") as missing:
        coop.sign("lot.dispatch", _dispatch("lot-9"))
    assert missing.value.code == "unknown_lot"
    assert coop.journal.items() == []


def test_explicit_heads_are_used_as_given(make_client: MakeClient, world: World) -> None:
    head = world.run(world.register_lot("lot-1"))
    coop = make_client("coop-a")
    stale = coop.submit("lot.dispatch", _dispatch("lot-1"), after={"lot:lot-1": b"\x07" * 32})
    assert (stale.item.status, stale.item.error_code) == ("rejected", "stale_after")
    fresh = coop.submit("lot.dispatch", _dispatch("lot-1"), after={"lot:lot-1": head})
    assert fresh.item.status == "accepted"
    assert fresh.item.n == stale.item.n + 1  # the rejected one's counter is not reused


def test_offline_counters_continue_from_the_journal(make_client: MakeClient) -> None:
    coop = make_client("coop-a")
    online = coop.sign("lot.register", lot_body("lot-1"))
    offline = coop.sign("lot.register", lot_body("lot-2"), offline=True)
    assert (online.n, offline.n) == (2, 3)
    assert coop.sync().accepted == 2


def test_a_fresh_journal_never_reuses_a_logged_counter(
    make_client: MakeClient, world: World
) -> None:
    for lot in ("lot-1", "lot-2", "lot-3"):
        world.run(world.register_lot(lot))  # coop-a's key is now at n=4 in the log
    coop = make_client("coop-a")
    assert coop.sign("lot.register", lot_body("lot-4")).n == 5


def test_a_bad_body_is_refused_before_signing(make_client: MakeClient) -> None:
    coop = make_client("coop-a")
    with pytest.raises(ValidationError):
        coop.sign("lot.register", {"lot": "lot-1"}, offline=True)
    with pytest.raises(ValidationError, match="not a statement type"):
        coop.sign("genesis", {}, offline=True)
    assert coop.journal.items() == []


def test_signing_needs_a_key(make_client: MakeClient) -> None:
    client = make_client("coop-a", signer=None)
    with pytest.raises(ConfigError, match="no signing key"):
        client.sign("lot.register", lot_body("lot-1"), offline=True)


def test_the_token_is_sent_as_a_bearer_token(make_client: MakeClient, network: Faulty) -> None:
    coop = make_client("coop-a", token="asml_" + "A" * 43)
    with pytest.raises(AuthenticationError, match="unknown"):
        coop.submit("lot.register", lot_body("lot-1"))
    posts = [r for r in network.requests if r.method == "POST"]
    assert [r.headers["Authorization"] for r in posts] == ["Bearer asml_" + "A" * 43]
    assert [i.status for i in coop.journal.items()] == ["pending"]


def test_without_a_token_writes_are_refused_and_stay_pending(make_client: MakeClient) -> None:
    coop = make_client("coop-a", token=None)
    item = coop.sign("lot.register", lot_body("lot-1"))
    with pytest.raises(AuthenticationError) as caught:
        coop.sync()
    assert caught.value.details["status"] == 401
    assert coop.journal.item(item.id).status == "pending"


def test_another_actors_token_leaves_the_statement_pending(
    make_client: MakeClient, token_for: Callable[[str], str]
) -> None:
    """The server refuses the token, not the statement: it is not marked rejected."""
    coop = make_client("coop-a", token=token_for("coop-b"))
    result = coop.submit("lot.register", lot_body("lot-1"))
    assert result.item.status == "pending"
    assert result.report.problem is not None
    assert "token_actor_mismatch" in result.report.problem
    fixed = make_client("coop-a", journal=coop.journal, token=token_for("coop-a"))
    assert fixed.sync().accepted == 1


def test_while_the_server_is_down_a_submission_stays_pending(
    make_client: MakeClient, network: Faulty
) -> None:
    coop = make_client("coop-a")
    first = coop.submit("lot.register", lot_body("lot-1")).item  # learns the counter: n=2
    network.down = True
    result = coop.submit("lot.register", lot_body("lot-2"))
    assert result.item.status == "pending"
    assert result.report.problem is not None
    assert "cannot reach the ledger server" in result.report.problem
    assert result.item.n == first.n + 1
    network.down = False
    report = coop.sync()
    assert (report.accepted, report.pending, report.problem) == (1, 0, None)


def test_a_journal_that_never_reached_the_server_does_not_guess_a_counter(
    make_client: MakeClient, network: Faulty
) -> None:
    """coop-a's key already used n=1 in the log; guessing n=1 would be equivocation."""
    coop = make_client("coop-a")
    network.down = True
    with pytest.raises(ConfigError, match="sign online once first") as caught:
        coop.submit("lot.register", lot_body("lot-1"))
    assert caught.value.code == "counter_unknown"
    assert coop.journal.items() == []


# -- the operator key ---------------------------------------------------------------------------
def test_the_operator_key_is_pinned_in_the_journal(
    make_client: MakeClient, operator_key: VerifierKey, tmp_path: object, network: Faulty
) -> None:
    coop = make_client("coop-a")
    assert coop.journal.setting("verifier_key") == str(operator_key)
    later = make_client("coop-a", journal=coop.journal, verifier_key=None)
    assert later.verifier_key == operator_key
    other = VerifierKey.from_public_key("other.example/ledger", signer("other").public_key)
    with pytest.raises(ConfigError, match="belongs to the ledger") as caught:
        make_client("coop-a", journal=coop.journal, verifier_key=other)
    assert caught.value.code == "other_ledger"


def test_without_a_key_the_servers_is_trusted_on_first_use(
    make_client: MakeClient, operator_key: VerifierKey, tmp_path: object
) -> None:
    client = make_client("coop-a", verifier_key=None)
    assert client.journal.setting("verifier_key") is None
    assert client.origin == operator_key.name
    assert client.journal.setting("verifier_key") == str(operator_key)


def test_a_checkpoint_under_another_key_is_refused(make_client: MakeClient) -> None:
    other = VerifierKey.from_public_key(
        "test.asm-ledger.example/ledger", signer("impostor").public_key
    )
    client = make_client("coop-a", verifier_key=other)
    from ledger.errors import ProofError

    with pytest.raises(ProofError, match="no signature by a known key"):
        client.check()
    assert client.journal.newest_checkpoint() is None


# -- answers --------------------------------------------------------------------------------
def _answering(status: int, body: bytes, content_type: str = "application/json") -> Faulty:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})

    return Faulty(httpx.MockTransport(handler))


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_unreachable(tmp_path: object, operator_key: VerifierKey, status: int) -> None:
    with Journal.open(f"{tmp_path}/j.journal") as journal:
        client = Client(
            "http://x",
            actor="coop-a",
            journal=journal,
            verifier_key=operator_key,
            transport=_answering(status, b"{}"),
        )
        with pytest.raises(UnreachableError, match=str(status)):
            client.check()


def test_a_malformed_answer_is_a_response_error(
    tmp_path: object, operator_key: VerifierKey
) -> None:
    with Journal.open(f"{tmp_path}/j.journal") as journal:
        for body in (b"not json", b'{"note": 5}', b"[]"):
            client = Client(
                "http://x",
                actor="coop-a",
                journal=journal,
                verifier_key=operator_key,
                transport=_answering(200, body),
            )
            with pytest.raises(ResponseError):
                client.check()
