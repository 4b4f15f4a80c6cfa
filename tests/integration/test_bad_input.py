"""Bad input gets its own clear error, and nothing is written."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from factories import World, signer

from ledger import canonical
from ledger.custody.log import Ledger
from ledger.errors import (
    ForbiddenError,
    LedgerError,
    SignatureError,
    TooLargeError,
    ValidationError,
)
from ledger.statements import Envelope, Statement, Submission, sign


def _resign(submission: Submission, **changes: object) -> Submission:
    statement = replace(submission.envelope.statement, **changes)  # type: ignore[arg-type]
    return Submission(sign(statement, signer(statement.actor)), submission.disclosures)


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        (b"{not json", "invalid", "not valid JSON"),
        (b'{"statement": {}, "sig": "AA=="}', "invalid", "missing"),
        (b'{"statement": 1}', "invalid", "exactly the fields statement and sig"),
        (b"\xff\xfe", "invalid", "not valid UTF-8"),
        (b'{"a": 1, "a": 2}', "invalid", "duplicate key"),
        (b'{"x": 1.5}', "invalid", "floating-point"),
    ],
)
def test_malformed_envelopes(raw: bytes, code: str, words: str) -> None:
    with pytest.raises(ValidationError, match=words) as caught:
        Envelope.from_bytes(raw)
    assert caught.value.code == code


def _expect(ledger: Ledger, submission: Submission, error: type[LedgerError], code: str) -> None:
    size = ledger.size()
    with pytest.raises(error) as caught:
        ledger.append(submission)
    assert caught.value.code == code, caught.value
    assert caught.value.message.endswith(".") and len(caught.value.message) > 20
    assert ledger.size() == size


def test_oversized_statement(world: World) -> None:
    good = world.register_lot("lot-1")
    body = dict(good.envelope.statement.body, tags=[f"T-{i:060d}" for i in range(256)])
    statement = replace(good.envelope.statement, body=body)
    with pytest.raises(TooLargeError, match="limit is 16384") as caught:
        Envelope.from_json(
            {"statement": statement.to_json(), "sig": canonical.b64encode(bytes(64))}
        )
    assert caught.value.code == "too_large"


def test_wrong_origin(world: World, ledger: Ledger) -> None:
    other = _resign(world.register_lot("lot-1"), ledger="elsewhere.example/ledger")
    _expect(ledger, other, ValidationError, "wrong_ledger")


def test_wrong_signature(world: World, ledger: Ledger) -> None:
    good = world.register_lot("lot-1")
    sig = bytearray(good.envelope.sig)
    sig[0] ^= 0x80
    forged = Submission(replace(good.envelope, sig=bytes(sig)))
    _expect(ledger, forged, SignatureError, "bad_signature")


def test_statement_changed_after_signing(world: World, ledger: Ledger) -> None:
    good = world.register_lot("lot-1")
    value = good.envelope.statement.to_json()
    value["body"]["mass_g"] += 1
    tampered = Envelope.from_json(
        {"statement": value, "sig": canonical.b64encode(good.envelope.sig)}
    )
    _expect(ledger, Submission(tampered), SignatureError, "bad_signature")


def test_signed_by_a_key_of_another_actor(world: World, ledger: Ledger) -> None:
    good = world.register_lot("lot-1")
    statement = replace(good.envelope.statement, key=signer("trader-a").key_id)
    _expect(
        ledger,
        Submission(sign(statement, signer("trader-a"))),
        SignatureError,
        "key_actor_mismatch",
    )


def test_out_of_role(world: World, ledger: Ledger) -> None:
    _expect(
        ledger, world.register_site("site-x", "coop-a", by="coop-a"), ForbiddenError, "wrong_role"
    )
    _expect(ledger, world.register_lot("lot-1", by="trader-a"), ForbiddenError, "wrong_role")


def test_errors_are_sentences_not_tracebacks(world: World, ledger: Ledger) -> None:
    bad = _resign(world.register_lot("lot-1"), ledger="elsewhere.example/ledger")
    result = ledger.append_batch([bad])[0]
    assert result.error is not None
    text = json.dumps({"code": result.error.code, "message": result.error.message})
    assert "Traceback" not in text and "SELECT" not in text and "sqlalchemy" not in text.lower()


def test_statement_from_json_rejects_unknown_type() -> None:
    with pytest.raises(ValidationError, match="not a known statement type"):
        Statement.from_json(
            {
                "v": 1,
                "ledger": "x",
                "type": "lot.steal",
                "actor": "a",
                "key": "0" * 64,
                "n": 1,
                "time": "2026-01-01T00:00:00Z",
                "after": {},
                "body": {},
                "sd": [],
            }
        )
