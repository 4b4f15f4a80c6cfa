"""The write endpoints' fast paths answer exactly what marshmallow's generic load and dump do.

``api.schemas.log`` loads request bodies of the ordinary shape, and dumps receipts, without
marshmallow's per-field machinery. Each test here compares against the slow path itself (the same
schemas with the fast path turned off), never against a copy of its rules: the same loaded value
or the same error messages, and through HTTP the same status and the same body, for the ordinary
requests and for bad JSON, wrong types, unknown fields, oversize bodies and batches, bad
signatures and wrong or missing tokens.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_helpers import bearer, payload
from factories import World
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from api import proofs, submissions
from api.limits import MAX_BATCH, MAX_BODY_BYTES
from api.schemas import log as schemas
from api.submissions import BatchReceipt, ItemResult, Receipt
from ledger import canonical

_FAST = (schemas.SubmissionSchema, schemas.BatchSchema)
_DUMPS = (schemas.ReceiptSchema, schemas.ItemResultSchema, schemas.BatchReceiptSchema)
_FAST_DUMPS = {cls: cls.__dict__["fast_dump"] for cls in _DUMPS}  # before any test patches them


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Within the block, every schema of the write endpoints goes through marshmallow."""

    def off(_self: Any, _obj: Any) -> None:
        return None

    with monkeypatch.context() as patch:
        for cls in _FAST:
            patch.setattr(cls, "fast_load", off)
        for cls in _DUMPS:
            patch.setattr(cls, "fast_dump", off)
        yield


def _load(schema: Any, data: Any) -> tuple[str, Any]:
    try:
        return "loaded", schema.load(data)
    except ValidationError as exc:
        return "error", exc.messages


def _both_loads(schema: Any, data: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    fast = _load(schema, data)
    with monkeypatch.context() as patch:
        for cls in _FAST:
            patch.setattr(cls, "fast_load", lambda _self, _obj: None)
        slow = _load(schema, data)
    return fast, slow


ENVELOPE = {"statement": {"type": "lot.register", "n": 1}, "sig": "AAAA"}
SUBMISSIONS: dict[str, Any] = {
    "ordinary": {"envelope": ENVELOPE, "disclosures": [["c2FsdA==", "price", {"usd": 1}]]},
    "no disclosures": {"envelope": ENVELOPE},
    "empty disclosures": {"envelope": ENVELOPE, "disclosures": []},
    "empty envelope": {"envelope": {}},
    "no envelope": {"disclosures": []},
    "empty body": {},
    "null envelope": {"envelope": None},
    "envelope a list": {"envelope": [ENVELOPE]},
    "envelope a string": {"envelope": "x"},
    "null disclosures": {"envelope": ENVELOPE, "disclosures": None},
    "disclosures an object": {"envelope": ENVELOPE, "disclosures": {"a": 1}},
    "disclosures a string": {"envelope": ENVELOPE, "disclosures": "abc"},
    "a disclosure a string": {"envelope": ENVELOPE, "disclosures": ["abc"]},
    "a disclosure an object": {"envelope": ENVELOPE, "disclosures": [{"a": 1}]},
    "a null disclosure": {"envelope": ENVELOPE, "disclosures": [None]},
    "a null in a disclosure": {"envelope": ENVELOPE, "disclosures": [["s", "price", None]]},
    "falsy values in a disclosure": {"envelope": ENVELOPE, "disclosures": [[0, False, "", []]]},
    "unknown field": {"envelope": ENVELOPE, "extra": 1},
    "body a list": [{"envelope": ENVELOPE}],
    "body a string": "envelope",
    "body a number": 7,
    "body null": None,
}
BATCHES: dict[str, Any] = {
    "ordinary": {"statements": [SUBMISSIONS["ordinary"], SUBMISSIONS["no disclosures"]]},
    "empty": {"statements": []},
    "null": {"statements": None},
    "an object": {"statements": {"envelope": ENVELOPE}},
    "no statements": {},
    "unknown field": {"statements": [SUBMISSIONS["ordinary"]], "extra": 1},
    "an item a number": {"statements": [SUBMISSIONS["ordinary"], 1]},
    **{f"an item: {name}": {"statements": [item]} for name, item in SUBMISSIONS.items()},
    "body a list": [SUBMISSIONS["ordinary"]],
}


@pytest.mark.parametrize("data", SUBMISSIONS.values(), ids=SUBMISSIONS.keys())
def test_a_submission_loads_as_marshmallow_loads_it(
    data: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, slow = _both_loads(schemas.SubmissionSchema(), data, monkeypatch)
    assert fast == slow


@pytest.mark.parametrize("data", BATCHES.values(), ids=BATCHES.keys())
def test_a_batch_loads_as_marshmallow_loads_it(data: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both_loads(schemas.BatchSchema(), data, monkeypatch)
    assert fast == slow


def test_the_fast_path_takes_the_ordinary_shapes() -> None:
    """The cases above would pass with no fast path at all; these must not go to marshmallow."""
    schema = schemas.SubmissionSchema()
    for name in ("ordinary", "no disclosures", "empty envelope", "falsy values in a disclosure"):
        assert schema.fast_load(SUBMISSIONS[name]) is not None, name
    assert schemas.BatchSchema().fast_load(BATCHES["ordinary"]) is not None
    assert schema.fast_load(SUBMISSIONS["no disclosures"])["disclosures"] == []


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["envelope", "disclosures", "statements", "x"]), inner)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(data=JSON)
def test_any_json_loads_as_marshmallow_loads_it(data: Any) -> None:
    for cls in _FAST:
        schema = cls()
        fast = schema.fast_load(data)
        try:
            slow = _slow(cls).load(data)
        except ValidationError:
            assert fast is None
        else:
            assert fast is None or fast == slow


def _slow(cls: type) -> Any:
    """An instance of ``cls`` without its fast path."""
    return type(f"Slow{cls.__name__}", (cls,), {"fast_load": lambda _self, _obj: None})()


def _checkpoint(size: int = 9) -> proofs.SignedCheckpoint:
    return proofs.SignedCheckpoint("example.org/log", size, bytes(range(32)), "a note\n\n— sig\n")


def _proof(seq: int, size: int = 9) -> proofs.InclusionProof:
    path = [bytes([seq, i]) * 16 for i in range(3)]
    return proofs.InclusionProof(seq, size, bytes([seq]) * 32, bytes(range(32)), path)


RECEIPT = Receipt("accepted", 4, b"\x01" * 32, "lot.register", "coop-a", "k" * 64, 3, _proof(4),
                  _checkpoint())  # fmt: skip
ERROR = {"code": "bad_signature", "status": 422, "message": "no.", "errors": {"json": {"sig": []}}}
BATCH_RECEIPTS = {
    "mixed": BatchReceipt(
        [
            ItemResult(0, "accepted", 4, b"\x01" * 32, "lot.register", _proof(4)),
            ItemResult(1, "rejected", error=ERROR),
            ItemResult(2, "duplicate", 2, b"\x02" * 32, "lot.dispatch", _proof(2)),
            ItemResult(3, "rejected", error={"code": "invalid", "status": 400, "message": "m"}),
        ],
        _checkpoint(),
    ),
    "all rejected": BatchReceipt([ItemResult(0, "rejected", error=ERROR)], None),
    "empty": BatchReceipt([], None),
}


@pytest.mark.parametrize(
    ("cls", "obj"),
    [
        (schemas.ReceiptSchema, RECEIPT),
        (schemas.ItemResultSchema, BATCH_RECEIPTS["mixed"].results[1]),
    ]
    + [(schemas.BatchReceiptSchema, receipt) for receipt in BATCH_RECEIPTS.values()],
    ids=["receipt", "item", *BATCH_RECEIPTS],
)
def test_a_receipt_dumps_as_marshmallow_dumps_it(cls: type, obj: Any, slow: None) -> None:
    found = _FAST_DUMPS[cls](cls(), obj)
    assert found is not None
    assert found == cls().dump(obj)  # marshmallow's: the fixture turned the fast paths off
    assert json.dumps(found, sort_keys=True) == json.dumps(cls().dump(obj), sort_keys=True)


def test_other_objects_go_to_marshmallow() -> None:
    as_dict = {"status": "accepted", "seq": 1}
    assert schemas.ReceiptSchema().fast_dump(as_dict) is None
    assert schemas.ReceiptSchema().dump(as_dict) == {"status": "accepted", "seq": 1}
    assert schemas.ReceiptSchema(only=("seq",)).dump(RECEIPT) == {"seq": 4}


# -- through HTTP: the same status and body with and without the fast paths -----------------
def _send(client: FlaskClient, path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = client.post(path, data=data, headers={"Content-Type": "application/json", **headers})
    return response.status_code, response.get_json()


def _same_both_ways(
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    body: Any,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    fast = _send(client, path, body, headers or {})
    with monkeypatch.context() as patch:
        for cls in _FAST:
            patch.setattr(cls, "fast_load", lambda _self, _obj: None)
        for cls in _DUMPS:
            patch.setattr(cls, "fast_dump", lambda _self, _obj: None)
        slow = _send(client, path, body, headers or {})
    assert fast == slow
    return fast


def _bad_requests(world: World) -> dict[str, Any]:
    good = payload(world.register_lot("lot-bad"))
    wrong_sig = payload(world.register_lot("lot-sig"))
    wrong_sig["envelope"]["sig"] = "A" + wrong_sig["envelope"]["sig"][1:]
    return {
        "bad JSON": b'{"envelope": ',
        "duplicate keys": b'{"envelope": {}, "envelope": {}}',
        "a float": b'{"envelope": {"statement": {"n": 1.5}, "sig": ""}}',
        "not UTF-8": b'{"envelope": "\xff"}',
        **SUBMISSIONS,
        "an envelope the core refuses": {"envelope": {"statement": {}, "sig": "x"}},
        "a wrong signature": wrong_sig,
        "an unknown field beside a good envelope": {**good, "extra": True},
        "oversize": b'{"envelope": "' + b"x" * MAX_BODY_BYTES + b'"}',
    }


def test_bad_submissions_get_the_same_answer(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, body in _bad_requests(world).items():
        status, answer = _same_both_ways(client, monkeypatch, "/v1/statements", body)
        assert status >= 400, name
        assert set(answer) == {"code", "status", "message", "errors"}, name


def test_bad_batches_get_the_same_answer(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = payload(world.register_lot("lot-batch"))
    cases = {
        **BATCHES,
        "too many": {"statements": [good] * (MAX_BATCH + 1)},
        "bad JSON": b'{"statements": [',
        **{f"an item: {n}": {"statements": [b]} for n, b in _bad_requests(world).items()
           if not isinstance(b, bytes)},
    }  # fmt: skip
    for name, body in cases.items():
        status, answer = _same_both_ways(client, monkeypatch, "/v1/statements/batch", body)
        assert status in (200, 400, 413), name
        if status == 200:
            assert all(r["status"] == "rejected" for r in answer["results"]), name


def test_tokens_are_checked_the_same(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = payload(world.register_lot("lot-token"))
    other = bearer(client.application, "coop-b")
    for path, sent in (("/v1/statements", body), ("/v1/statements/batch", {"statements": [body]})):
        for headers in ({"Authorization": ""}, {"Authorization": "Bearer asml_nope"}, other):
            status, answer = _same_both_ways(client, monkeypatch, path, sent, headers)
            assert status in (401, 403) or answer["results"][0]["error"]["status"] == 403


def test_accepted_and_duplicate_answers_are_the_same(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Accepted once (fast), then the duplicate answer, fast and slow: the same receipt."""
    body = payload(world.register_lot("lot-twice"))
    status, accepted = _send(client, "/v1/statements", body, {})
    assert status == 201
    status, duplicate = _same_both_ways(client, monkeypatch, "/v1/statements", body)
    assert status == 200
    assert duplicate == {**accepted, "status": "duplicate"}
    batch = {"statements": [body, payload(world.register_lot("lot-thrice"))]}
    status, first = _send(client, "/v1/statements/batch", batch, {})
    assert [r["status"] for r in first["results"]] == ["duplicate", "accepted"]
    status, again = _same_both_ways(client, monkeypatch, "/v1/statements/batch", batch)
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]


def test_an_ordinary_body_is_checked_once(
    world: World, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The body is checked against the data model while it is parsed, and its statement is not
    walked again by the core's parser (only each disclosure's value is, by Disclosure)."""

    def strictly(_text: str) -> None:
        raise AssertionError("parsed a second time, strictly")

    monkeypatch.setattr(canonical, "_parse_strictly", strictly)
    body = payload(world.register_lot("lot-once", private={"price": {"usd": 12}}))
    data = json.dumps(body).encode()
    status, answer = _send(client, "/v1/statements", data, {})
    assert status == 201, answer
    status, answer = _send(client, "/v1/statements/batch", {"statements": [body]}, {})
    assert answer["results"][0]["status"] == "duplicate"

    walked: list[Any] = []
    check_value = canonical.check_value

    def counting(value: Any, *args: Any) -> None:
        walked.append(value)
        check_value(value, *args)

    monkeypatch.setattr(canonical, "check_value", counting)
    item = schemas.SubmissionSchema().load(canonical.parse(data))  # what the view is given
    assert submissions.parse(item).envelope.statement.type == "lot.register"
    assert walked == [{"usd": 12}]
