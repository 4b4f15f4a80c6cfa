"""Private reads: what the entitled get, that it checks against the public log, and the export.

(Who gets a 200, a 403 or a 401 is the matrix of ``test_auth_matrix``; what never reaches an
outsider is ``test_privacy_crawl``.)
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from api_helpers import assert_error, operator_key
from auth_helpers import CANARIES, Tokens, add_regulator, seed_secrets
from factories import World
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from ledger import canonical
from ledger.checkpoint import VerifierKey
from ledger.custody.privacy import counterparty, may_read, verify_disclosure_export
from ledger.disclosures import DISCLOSURE_CONTEXT, Disclosure
from ledger.errors import ProofError, ValidationError
from ledger.registry.access import Caller
from ledger.statements import Statement

SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def secrets(world: World, engine: Engine) -> dict[str, int]:
    add_regulator(world)
    return seed_secrets(world, engine)


@pytest.fixture
def as_role(app: Flask) -> Callable[[str], dict[str, str]]:
    tokens = Tokens(app)
    return lambda role: tokens.headers(role, owner=role)


@pytest.fixture
def as_actor(app: Flask) -> Callable[[str], dict[str, str]]:
    tokens = Tokens(app)
    return lambda actor: {"Authorization": f"Bearer {tokens.token(actor)}"}


def _get(client: FlaskClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_each_disclosure_checks_against_the_public_log(
    secrets: dict[str, int], client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    body = _get(client, "/v1/lots/lot-1/private", as_role("regulator"))
    assert body["withheld"] == 0
    seqs = [secrets[s] for s in ("register", "dispatch1", "receive1", "dispatch2", "receive2",
                                 "export")]  # fmt: skip
    assert sorted({d["seq"] for d in body["disclosures"]}) == seqs
    for item in body["disclosures"]:
        disclosure = Disclosure.from_json(item["disclosure"])
        digest = hashlib.sha256(DISCLOSURE_CONTEXT + canonical.dumps(item["disclosure"]))
        assert digest.hexdigest() == item["digest"] == disclosure.digest()
        entry = client.get(f"/v1/entries/{item['seq']}").get_json()
        assert item["digest"] in entry["statement"]["sd"]
        assert (item["type"], item["actor"]) == (entry["statement"]["type"],
                                                 entry["statement"]["actor"])  # fmt: skip
        assert disclosure.value == CANARIES[item["type"]][item["name"]]
        assert item["erased"] is None


def test_actor_and_miner_private_data(
    secrets: dict[str, int], client: FlaskClient, as_actor: Callable[[str], dict[str, str]]
) -> None:
    actor = _get(client, "/v1/actors/coop-c/private", as_actor("coop-c"))  # its own data
    assert {d["name"]: d["disclosure"][2] for d in actor["disclosures"]} == CANARIES[
        "actor.register"
    ]
    miner = _get(client, "/v1/miners/miner-9/private", as_actor("coop-a"))
    assert {d["name"]: d["disclosure"][2] for d in miner["disclosures"]} == CANARIES[
        "miner.register"
    ]
    genesis_actor = _get(client, "/v1/actors/registrar/private", as_actor("coop-a"))
    assert genesis_actor == {"disclosures": [], "withheld": 0}


def test_a_miner_registered_by_the_registrar_is_readable_by_its_cooperative(
    world: World, client: FlaskClient, as_actor: Callable[[str], dict[str, str]]
) -> None:
    world.run(world.register_miner("miner-8", "coop-b", "site-b", by="registrar",
                                   private={"name": "Neema"}))  # fmt: skip
    for actor, shown in (("coop-b", 1), ("registrar", 1), ("coop-a", 0)):
        body = _get(client, "/v1/miners/miner-8/private", as_actor(actor))
        assert (len(body["disclosures"]), body["withheld"]) == (shown, 1 - shown), actor


@pytest.mark.parametrize(
    ("path", "code"),
    [("/v1/lots/nope/private", "unknown_lot"), ("/v1/lots/bad%20id/private", "unknown_lot"),
     ("/v1/actors/nope/private", "unknown_actor"), ("/v1/miners/nope/private", "unknown_miner"),
     ("/v1/entries/99999/private", "no_entry"), ("/v1/miners/nope/erase", "unknown_miner"),
     ("/v1/entries/1/disclosures/" + "0" * 64, "unknown_disclosure"),
     ("/v1/entries/1/disclosures/xyz", "unknown_disclosure")],
)  # fmt: skip
def test_unknown_objects_are_404(
    world: World,
    client: FlaskClient,
    as_role: Callable[[str], dict[str, str]],
    path: str,
    code: str,
) -> None:
    method = client.post if path.endswith("/erase") else client.get
    assert_error(method(path, headers=as_role("registrar")), 404, code)


# -- the export -------------------------------------------------------------------------------
@pytest.fixture
def export(
    secrets: dict[str, int], client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> dict[str, Any]:
    sd = client.get(f"/v1/entries/{secrets['dispatch1']}").get_json()["statement"]["sd"]
    item = _get(client, f"/v1/entries/{secrets['dispatch1']}/disclosures/{sd[0]}",
                as_role("trader"))  # the addressee  # fmt: skip
    return item


def test_a_disclosure_is_found_only_under_its_own_entry(
    secrets: dict[str, int], client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    seq = secrets["dispatch1"]
    sd = client.get(f"/v1/entries/{seq}").get_json()["statement"]["sd"]
    other = secrets["receive1"]
    assert_error(client.get(f"/v1/entries/{other}/disclosures/{sd[0]}",
                            headers=as_role("auditor")), 404, "unknown_disclosure")  # fmt: skip


def test_an_export_verifies_offline(export: dict[str, Any], client: FlaskClient) -> None:
    disclosure = verify_disclosure_export(json.loads(json.dumps(export)), operator_key(client))
    assert disclosure.to_json() == export["disclosure"]
    assert disclosure.value == CANARIES["lot.dispatch"][export["name"]]
    assert export["checkpoint"]["size"] == export["inclusion"]["tree_size"]


def _flip_hex(value: str) -> str:
    return ("1" if value[0] == "0" else "0") + value[1:]


def _spoil_entry(export: dict[str, Any]) -> None:
    data = base64.b64decode(export["entry"]).replace(b'"mass_g":100000', b'"mass_g":100001')
    export["entry"] = base64.b64encode(data).decode()


def _other_value(export: dict[str, Any]) -> None:
    export["disclosure"][2] = 1  # the digest no longer matches
    export["digest"] = Disclosure.from_json(export["disclosure"]).digest()


def _forged_checkpoint(export: dict[str, Any]) -> None:
    lines = export["checkpoint"]["note"].split("\n")
    lines[1] = str(int(lines[1]) + 1)
    export["checkpoint"]["note"] = "\n".join(lines)


TAMPERING: dict[str, tuple[Callable[[dict[str, Any]], Any], type[Exception], str]] = {
    "proof node flipped": (lambda e: e["inclusion"]["proof"].__setitem__(
        0, _flip_hex(e["inclusion"]["proof"][0])), ProofError, "inclusion proof"),
    "proof truncated": (lambda e: e["inclusion"]["proof"].pop(), ProofError, "proof"),
    "entry changed": (_spoil_entry, ProofError, "inclusion proof"),
    "checkpoint forged": (_forged_checkpoint, ProofError, "signature"),
    "value changed": (lambda e: e["disclosure"].__setitem__(2, 1), ProofError, "digest"),
    "digest and value changed": (_other_value, ProofError, "sd"),
    "digest changed": (lambda e: e.__setitem__("digest", _flip_hex(e["digest"])), ProofError,
                       "digest"),
    "seq changed": (lambda e: e.__setitem__("seq", e["seq"] + 1), ProofError, "seq"),
    "erased": (lambda e: e.__setitem__("disclosure", None), ValidationError, "erased"),
    "no checkpoint": (lambda e: e.pop("checkpoint"), ValidationError, "checkpoint"),
    "proof not a list": (lambda e: e["inclusion"].__setitem__("proof", "ab"), ValidationError,
                         "proof"),
    "entry not base64": (lambda e: e.__setitem__("entry", "%%%"), ValidationError, "entry"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_tampered_export_fails(export: dict[str, Any], client: FlaskClient, case: str) -> None:
    spoil, error, match = TAMPERING[case]
    tampered = copy.deepcopy(export)
    spoil(tampered)
    with pytest.raises(error, match=match):
        verify_disclosure_export(tampered, operator_key(client))


def test_an_export_fails_against_another_log_key(
    export: dict[str, Any], client: FlaskClient
) -> None:
    key = operator_key(client)
    other = VerifierKey.from_public_key(key.name, b"\x01" * 32)
    with pytest.raises(ProofError):
        verify_disclosure_export(export, other)


# -- the rules, alone ----------------------------------------------------------------------------
class FakeRelations:
    def signer_followed(self, seq: int, subject: str, leaf_hash: bytes) -> str | None:
        return {(SEQ, "lot:l", b"\x01" * 32): "coop-a"}.get((seq, subject, leaf_hash))

    def cooperative_of(self, site_id: str) -> str | None:
        return {"site-a": "coop-a"}.get(site_id)


SEQ = 7  # the entry of each statement below


def _statement(kind: str, body: dict[str, Any], after: dict[str, str] | None = None) -> Statement:
    return Statement("o", kind, "signer-x", "0" * 64, 1, "2026-01-01T00:00:00Z", after or {}, body)


COUNTERPARTIES = {
    "lot.dispatch": (_statement("lot.dispatch", {"lot": "l", "to": "trader-a"}), "trader-a"),
    "lot.receive": (_statement("lot.receive", {"lot": "l"}, {"lot:l": "01" * 32}), "coop-a"),
    "lot.register": (_statement("lot.register", {"lot": "l"}), None),
    "lot.export": (_statement("lot.export", {"lot": "l"}), None),
    "actor.register": (_statement("actor.register", {"id": "coop-c"}), "coop-c"),
    "miner.register": (_statement("miner.register", {"cooperative": "coop-b"}), "coop-b"),
    "attestation of a site": (
        _statement("attestation", {"subject": {"kind": "site", "id": "site-a"}}), "coop-a"),
    "attestation of an actor": (
        _statement("attestation", {"subject": {"kind": "actor", "id": "trader-b"}}), "trader-b"),
    "attestation of a lot": (_statement("attestation", {"subject": {"kind": "lot", "id": "l"}}),
                             None),
    "lot.split": (_statement("lot.split", {"lot": "l"}), None),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(COUNTERPARTIES))
def test_the_counterparty_of_each_type(case: str) -> None:
    statement, expected = COUNTERPARTIES[case]
    assert counterparty(SEQ, statement, FakeRelations()) == expected
    for reader in ("signer-x", expected, "auditor-z"):
        if reader is not None:
            roles = frozenset({"auditor"} if reader == "auditor-z" else {"trader"})
            assert may_read(Caller(reader, roles), SEQ, statement, FakeRelations())
    assert not may_read(Caller("stranger", frozenset({"registrar", "inspector"})), SEQ,
                        statement, FakeRelations())  # fmt: skip
    assert may_read(Caller("stranger", frozenset({"regulator"})), SEQ, statement, FakeRelations())


def test_a_receipt_from_another_entry_has_no_counterparty() -> None:
    """The dispatcher is found through the receipt's own entry's link, not any entry's."""
    statement, _ = COUNTERPARTIES["lot.receive"]
    assert counterparty(SEQ + 1, statement, FakeRelations()) is None


def test_the_rules_and_the_export_check_need_no_database_or_web_library() -> None:
    program = textwrap.dedent(
        """
        import sys

        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("sqlalchemy", "flask", "marshmallow", "alembic"):
                    raise ImportError("blocked: " + name)

        sys.meta_path.insert(0, Block())
        import ledger.custody.privacy, ledger.registry.access
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr


def test_private_answers_are_not_cached(
    secrets: dict[str, int], client: FlaskClient, as_role: Callable[[str], dict[str, str]]
) -> None:
    statuses = []
    for headers in (as_role("auditor"), as_role("buyer"), {"Authorization": ""}):
        response = client.get(f"/v1/entries/{secrets['export']}/private", headers=headers)
        assert response.headers["Cache-Control"] == "no-store", response.status_code
        statuses.append(response.status_code)
    assert statuses == [200, 403, 401]
    assert "no-store" not in client.get("/v1/lots/lot-1").headers.get("Cache-Control", "")
