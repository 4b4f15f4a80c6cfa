"""docs/PROTOCOL.md against the code: the examples are current, and re-verify from the document.

Three layers:

* the generator runs in ``--check`` mode, so the examples in the document and in
  ``docs/examples/`` cannot drift from what the code produces;
* an independent verifier, written from the document with only hashlib, base64, json,
  ``cryptography`` and ``rfc8785`` (no ``ledger`` import), re-checks every generated example: key
  ids, canonical bytes, signatures over the documented signing input, disclosure digests, entry
  framing and chaining, leaf hashes, ``after`` heads, the Merkle root from the leaves, stored
  nodes, proofs (and bit-flipped proofs), and the checkpoint by the signed-note rules;
* the document's tables (statement types, private fields, policy, error codes) are compared with
  the code's constants, so a new type, field or code must be documented.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "PROTOCOL.md"
EXAMPLES = ROOT / "docs" / "examples"
SCRIPT = ROOT / "scripts" / "gen_protocol_examples.py"

# Constants as the document states them (§4.4, §7, §9, §11.1, §14.2).
STATEMENT_CONTEXT = b"asm-ledger/v1/statement\n"
DISCLOSURE_CONTEXT = b"asm-ledger/v1/disclosure\n"
STATEMENT_FIELDS = {"v", "ledger", "type", "actor", "key", "n", "time", "after", "body", "sd"}
STATEMENT_OFFSET = 122
MAX_ENTRY_BYTES = 24_576
MAX_STATEMENT_BYTES = 16_384
EM_DASH = "\u2014 "
TIME_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z\Z", re.ASCII)
HEX64_RE = re.compile(r"\A[0-9a-f]{64}\Z")


# --------------------------------------------------------------------------------------------
# Helpers: an independent reading of the document


def _load(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _jcs(value: Any) -> bytes:
    return bytes(rfc8785.dumps(value))


def _b64(text: str, size: int | None = None) -> bytes:
    """Strict standard base64 (§4.2): canonical, padded, optionally of an exact size."""
    data = base64.b64decode(text, validate=True)
    assert base64.b64encode(data).decode("ascii") == text, f"non-canonical base64 {text!r}"
    if size is not None:
        assert len(data) == size
    return data


def _hex32(text: str) -> bytes:
    assert HEX64_RE.match(text), f"not 64 lowercase hex: {text!r}"
    return bytes.fromhex(text)


def _verify_ed25519(public_key: bytes, signature: bytes, message: bytes) -> None:
    Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)


def _leaf(entry: bytes) -> bytes:
    return _sha256(b"\x00" + entry)


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right)


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 6962 MTH over leaf *hashes* (§12.1), naively."""
    if not leaves:
        return _sha256(b"")
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return _node(_mth(leaves[:k]), _mth(leaves[k:]))


def _verify_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes) -> bool:
    """§12.3: RFC 9162 §2.1.3.2 with the ledger's strictness."""
    if not 0 <= index < size or any(len(h) != 32 for h in [leaf, root, *proof]):
        return False
    inner = (index ^ (size - 1)).bit_length()
    if len(proof) != inner + bin(index >> inner).count("1"):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def _verify_consistency(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> bool:
    """§12.4: RFC 9162 §2.1.4.2 with the ledger's strictness."""
    if not 0 < size1 <= size2 or any(len(h) != 32 for h in [root1, root2, *proof]):
        return False
    if size1 == size2:
        return not proof and root1 == root2
    level = (size1 & -size1).bit_length() - 1
    mask = (size1 - 1) >> level
    inner = ((size1 - 1) ^ (size2 - 1)).bit_length() - level
    seeded = int(size1 & (size1 - 1) != 0)
    if len(proof) != seeded + inner + bin(mask >> inner).count("1"):
        return False
    path = list(proof) if seeded else [root1, *proof]
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


def _instant(text: str) -> datetime:
    """A time of §2; ``logged`` must also be in its shortest form (§11.1)."""
    match = TIME_RE.match(text)
    assert match, text
    fraction = (match.group(1) or ".")[1:]
    assert not fraction.endswith("0"), f"{text} has trailing zeros in its fraction"
    moment = datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return moment + timedelta(microseconds=int(fraction.ljust(6, "0")))


def _note_key_id(name: str, public_key: bytes) -> bytes:
    return _sha256(name.encode("utf-8") + b"\n" + b"\x01" + public_key)[:4]


def _open_note(note: str, verifier_key: str) -> list[str]:
    """§14.2: parse the verifier key, split the note, verify, return the checkpoint lines."""
    name, key_id_hex, key_b64 = verifier_key.split("+")
    assert re.fullmatch(r"[0-9a-f]{8}", key_id_hex)
    key = _b64(key_b64, 33)
    assert key[0] == 1
    public_key = key[1:]
    assert _note_key_id(name, public_key).hex() == key_id_hex
    split = note.rfind("\n\n")
    text, block = note[: split + 1], note[split + 2 :]
    assert block.endswith("\n")
    assert not re.search(r"[\x00-\x09\x0b-\x1f]", note)
    verified = 0
    for line in block[:-1].split("\n"):
        assert line.startswith(EM_DASH)
        signer, encoded = line[len(EM_DASH) :].split(" ")
        raw = _b64(encoded)
        if (signer, raw[:4].hex()) != (name, key_id_hex):
            continue
        _verify_ed25519(public_key, raw[4:], text.encode("utf-8"))
        verified += 1
    assert verified, "no signature by the trusted key"
    lines = text[:-1].split("\n")
    assert len(lines) >= 3
    assert all(lines)
    return lines


@cache
def _statements() -> list[dict[str, Any]]:
    return _load("statements.json")  # type: ignore[no-any-return]


@cache
def _entries() -> list[dict[str, Any]]:
    return _load("entries.json")  # type: ignore[no-any-return]


@cache
def _keys_by_id() -> dict[str, bytes]:
    return {k["key_id"]: _b64(k["public_key"], 32) for k in _load("keys.json")}


def _entry_bytes(seq: int) -> bytes:
    return (EXAMPLES / f"entry-{seq}.json").read_bytes()


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(title_start: str) -> str:
    text = _doc()
    start = text.index(f"\n## {title_start}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def _table_rows(section: str, header: str) -> list[list[str]]:
    lines = section[section.index(header) :].split("\n")
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@cache
def _documented_private_fields() -> dict[str, set[str]]:
    rows = _table_rows(_section("9."), "| statement type | private field names |")
    return {_ticked(row[0])[0]: set(_ticked(row[1])) for row in rows}


# --------------------------------------------------------------------------------------------
# The examples are current


def test_generated_examples_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr + result.stdout


def test_every_generated_block_is_filled() -> None:
    blocks = re.findall(
        r"<!-- BEGIN GENERATED: ([a-z0-9-]+) -->\n(.*?)<!-- END GENERATED: \1 -->",
        _doc(),
        re.DOTALL,
    )
    assert len(blocks) >= 10
    for name, body in blocks:
        assert body.strip(), f"generated block {name} is empty"


# --------------------------------------------------------------------------------------------
# Independent verification of the examples


def test_key_ids_are_sha256_of_the_raw_public_key() -> None:
    for record in _load("keys.json"):
        seed = _sha256(record["seed_input"].encode("ascii"))
        assert seed.hex() == record["seed"]
        public_key = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
        assert _b64(record["public_key"], 32) == public_key
        assert record["key_id"] == hashlib.sha256(public_key).hexdigest()


def test_statements_are_canonical_and_their_signatures_verify() -> None:
    keys = _keys_by_id()
    for record in _statements():
        statement = record["statement"]
        assert set(statement) == STATEMENT_FIELDS
        assert statement["v"] == 1
        assert statement["v"] is not True
        assert TIME_RE.match(statement["time"])
        canonical = _jcs(statement)
        assert canonical == record["statement_jcs"].encode("utf-8")
        assert len(canonical) == record["statement_jcs_length"] <= MAX_STATEMENT_BYTES
        message = STATEMENT_CONTEXT + canonical
        assert message.hex() == record["signing_input_hex"]
        assert hashlib.sha256(message).hexdigest() == record["signing_input_sha256"]
        if statement["type"] == "genesis":
            public_key = _b64(statement["body"]["operator"]["key"], 32)
            assert statement["key"] == hashlib.sha256(public_key).hexdigest()
        else:
            public_key = keys[statement["key"]]
        signature = _b64(record["sig"], 64)
        _verify_ed25519(public_key, signature, message)
        assert record["envelope"] == {"statement": statement, "sig": record["sig"]}
        with pytest.raises(InvalidSignature):
            _verify_ed25519(public_key, signature, canonical)  # no context, no signature
        tampered = bytearray(message)
        tampered[-2] ^= 1
        with pytest.raises(InvalidSignature):
            _verify_ed25519(public_key, signature, bytes(tampered))


def test_disclosure_digests_are_the_sd_of_their_statement() -> None:
    private = _documented_private_fields()
    seen = set()
    for record in _statements():
        statement = record["statement"]
        digests = []
        for disclosure, jcs in zip(record["disclosures"], record["disclosure_jcs"], strict=True):
            salt_b64, name, _value = disclosure
            assert len(_b64(salt_b64)) >= 16
            assert name in private.get(statement["type"], set())
            assert _jcs(disclosure) == jcs.encode("utf-8")
            digests.append(hashlib.sha256(DISCLOSURE_CONTEXT + _jcs(disclosure)).hexdigest())
            seen.add(name)
        assert digests == record["disclosure_digests"]
        assert statement["sd"] == sorted(digests)
        assert statement["sd"] == sorted(set(statement["sd"]))
    assert {"email", "price"} <= seen
    # The example salts are fixed as the document says (§9's generated example).
    for seq, label in [(1, "actor-register"), (4, "lot-register")]:
        for salt_b64, name, _value in _statements()[seq]["disclosures"]:
            expected = _sha256(f"asm-ledger example salt/{label}/{name}".encode("ascii"))[:16]
            assert _b64(salt_b64, 16) == expected


def test_entries_frame_the_statement_bytes_and_chain() -> None:
    statements = _statements()
    previous_leaf: bytes | None = None
    previous_logged: datetime | None = None
    for seq, record in enumerate(_entries()):
        data = _entry_bytes(seq)
        assert data == record["entry"].encode("utf-8")
        assert len(data) == record["entry_length"]
        assert len(data) <= MAX_ENTRY_BYTES
        entry = json.loads(data)
        assert _jcs(entry) == data
        assert set(entry) == {"envelope", "logged", "prev", "seq"}
        assert entry["seq"] == seq == record["seq"]
        assert entry["envelope"] == statements[seq]["envelope"]
        statement_bytes = statements[seq]["statement_jcs"].encode("utf-8")
        assert data[:STATEMENT_OFFSET] == (
            b'{"envelope":{"sig":"' + entry["envelope"]["sig"].encode() + b'","statement":'
        )
        assert data[STATEMENT_OFFSET:].startswith(statement_bytes)
        tail = data[STATEMENT_OFFSET + len(statement_bytes) :]
        prev_json = b"null" if previous_leaf is None else b'"' + previous_leaf.hex().encode() + b'"'
        assert tail == (
            b'},"logged":"'
            + entry["logged"].encode()
            + b'","prev":'
            + prev_json
            + b',"seq":'
            + str(seq).encode()
            + b"}"
        )
        logged = _instant(entry["logged"])
        assert previous_logged is None or logged >= previous_logged
        leaf = _leaf(data)
        assert leaf.hex() == record["leaf_hash"]
        previous_leaf, previous_logged = leaf, logged


def _touched(statement: dict[str, Any]) -> list[str]:
    """The subjects whose head an entry becomes (§10.1), for the types of the example."""
    body = statement["body"]
    kind = statement["type"]
    if kind == "genesis":
        return [
            f"actor:{body['operator']['id']}",
            *(f"actor:{r['id']}" for r in body["registrars"]),
        ]
    if kind in {"actor.register", "site.register", "miner.register"}:
        return [f"{kind.split('.')[0]}:{body['id']}"]
    if kind in {"lot.register", "lot.dispatch", "lot.receive", "lot.export"}:
        return [f"lot:{body['lot']}"]
    raise AssertionError(f"the example has no {kind}; extend _touched")


def test_after_names_the_current_heads() -> None:
    heads: dict[str, str] = {}
    used = 0
    for record, entry in zip(_statements(), _entries(), strict=True):
        statement = record["statement"]
        for subject, head in statement["after"].items():
            _hex32(head)
            assert heads[subject] == head, subject
            used += 1
        for subject in _touched(statement):
            heads[subject] = entry["leaf_hash"]
    assert used >= 2


def test_root_and_stored_nodes_from_the_leaves() -> None:
    tree = _load("tree.json")
    leaves = [_leaf(_entry_bytes(seq)) for seq in range(len(_entries()))]
    assert [h.hex() for h in leaves] == tree["leaves"]
    for item in tree["roots"]:
        assert _mth(leaves[: item["size"]]).hex() == item["root"]
    for node in tree["stored_nodes"]:
        first = node["index"] << node["level"]
        assert node["level"] >= 1
        assert _mth(leaves[first : first + (1 << node["level"])]).hex() == node["hash"]
    # §12.2: the compact range, one node per set bit of the size, and its right fold.
    size = tree["compact_range"]["size"]
    start, ids = 0, []
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            ids.append([level, start >> level])
            start += 1 << level
    assert ids == tree["compact_range"]["nodes"]
    hashes = [_mth(leaves[i << lv : (i + 1) << lv]) for lv, i in ids]
    value = hashes[-1]
    for h in reversed(hashes[:-1]):
        value = _node(h, value)
    assert value == _mth(leaves)


def _range_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """Perfect nodes covering leaves [start, end), largest first (§12.2, compact range)."""
    ids = []
    count = end - start
    for level in range(count.bit_length() - 1, -1, -1):
        if count >> level & 1:
            ids.append((level, start >> level))
            start += 1 << level
    return ids


def _path_from_nodes(
    index: int, size: int, level: int, nodes: dict[tuple[int, int], bytes]
) -> list[bytes]:
    """The informative construction of §12.2: a proof from stored perfect nodes only."""
    fork = (index ^ (size - 1)).bit_length()
    path = [nodes[(lv, (index >> lv) ^ 1)] for lv in range(level, fork - 1)]
    if fork:
        parts = [nodes[n] for n in _range_nodes(((index >> (fork - 1)) + 1) << (fork - 1), size)]
        value = parts[-1]
        for part in reversed(parts[:-1]):
            value = _node(part, value)
        path.append(value)
    for lv in range(max(fork, level), size.bit_length()):
        if index >> lv & 1:
            path.append(nodes[(lv, (index >> lv) - 1)])
    return path


def test_proofs_are_assembled_from_the_stored_nodes() -> None:
    tree = _load("tree.json")
    leaves = [_hex32(h) for h in tree["leaves"]]
    expected_order = [
        (lv, ((i + 1) >> lv) - 1)
        for i in range(len(leaves))
        for lv in range(1, ((i + 1) & -(i + 1)).bit_length())
    ]
    assert [(n["level"], n["index"]) for n in tree["stored_nodes"]] == expected_order
    nodes = {(0, i): h for i, h in enumerate(leaves)}
    nodes |= {(n["level"], n["index"]): _hex32(n["hash"]) for n in tree["stored_nodes"]}
    inclusion = tree["inclusion"]
    built = _path_from_nodes(inclusion["index"], inclusion["size"], 0, nodes)
    assert [h.hex() for h in built] == inclusion["proof"]
    consistency = tree["consistency"]
    size1, size2 = consistency["size1"], consistency["size2"]
    level = (size1 & -size1).bit_length() - 1
    built = _path_from_nodes(size1 - 1, size2, level, nodes)
    if size1 != 1 << level:
        built.insert(0, nodes[(level, (size1 - 1) >> level)])
    assert [h.hex() for h in built] == consistency["proof"]
    # Every other proof the example tree allows, checked with the verifiers above.
    for size in range(1, len(leaves) + 1):
        root = _mth(leaves[:size])
        for index in range(size):
            assert _verify_inclusion(
                leaves[index], index, size, _path_from_nodes(index, size, 0, nodes), root
            )
        for size1 in range(1, size):
            level = (size1 & -size1).bit_length() - 1
            path = _path_from_nodes(size1 - 1, size, level, nodes)
            if size1 != 1 << level:
                path.insert(0, nodes[(level, (size1 - 1) >> level)])
            assert _verify_consistency(size1, size, path, _mth(leaves[:size1]), root)


def test_inclusion_proof_verifies_and_bit_flips_fail() -> None:
    proof = _load("tree.json")["inclusion"]
    leaf = _hex32(proof["leaf_hash"])
    path = [_hex32(h) for h in proof["proof"]]
    root = _hex32(proof["root"])
    index, size = proof["index"], proof["size"]
    assert leaf == _leaf(_entry_bytes(index))
    assert _verify_inclusion(leaf, index, size, path, root)
    for position in range(len(path)):
        for bit in (0, 7, 255):
            flipped = bytearray(path[position])
            flipped[bit // 8] ^= 1 << (bit % 8)
            bad = [*path[:position], bytes(flipped), *path[position + 1 :]]
            assert not _verify_inclusion(leaf, index, size, bad, root)
    assert not _verify_inclusion(leaf, index + 1, size, path, root)
    assert not _verify_inclusion(leaf, index, index + 1, path, root)
    assert not _verify_inclusion(leaf, index, size, [*path, root], root)
    assert not _verify_inclusion(leaf, index, size, path[:-1], root)
    assert not _verify_inclusion(leaf, size, size, path, root)


def test_consistency_proof_verifies_and_bit_flips_fail() -> None:
    proof = _load("tree.json")["consistency"]
    size1, size2 = proof["size1"], proof["size2"]
    path = [_hex32(h) for h in proof["proof"]]
    root1, root2 = _hex32(proof["root1"]), _hex32(proof["root2"])
    leaves = [_leaf(_entry_bytes(seq)) for seq in range(size2)]
    assert (root1, root2) == (_mth(leaves[:size1]), _mth(leaves))
    assert _verify_consistency(size1, size2, path, root1, root2)
    for position in range(len(path)):
        flipped = bytearray(path[position])
        flipped[0] ^= 0x80
        bad = [*path[:position], bytes(flipped), *path[position + 1 :]]
        assert not _verify_consistency(size1, size2, bad, root1, root2)
    assert not _verify_consistency(size1, size2, path, root2, root1)
    assert not _verify_consistency(size1 + 1, size2, path, root1, root2)
    assert not _verify_consistency(size1, size2, path[:-1], root1, root2)
    assert not _verify_consistency(0, size2, [], root1, root2)
    assert _verify_consistency(size2, size2, [], root2, root2)


def test_checkpoints_verify_by_the_signed_note_rules() -> None:
    record = _load("checkpoint.json")
    tree = _load("tree.json")
    roots = {item["size"]: item["root"] for item in tree["roots"]}
    genesis = _statements()[0]["statement"]
    operator_key = _b64(genesis["body"]["operator"]["key"], 32)
    origin = genesis["body"]["origin"]
    assert origin == genesis["ledger"] == record["origin"] == record["key_name"]
    key_id = _note_key_id(origin, operator_key)
    assert key_id.hex() == record["note_key_id"]
    assert bytes.fromhex(record["key_id_input_hex"]) == origin.encode() + b"\n\x01" + operator_key
    key_data = base64.b64encode(b"\x01" + operator_key).decode("ascii")
    verifier_key = f"{origin}+{key_id.hex()}+{key_data}"
    assert verifier_key == record["verifier_key"]
    assert (EXAMPLES / "verifier-key.txt").read_text(encoding="utf-8") == verifier_key + "\n"
    assert len(record["checkpoints"]) >= 2
    for checkpoint in record["checkpoints"]:
        note = (EXAMPLES / f"checkpoint-{checkpoint['size']}.txt").read_text(encoding="utf-8")
        assert note == checkpoint["note"]
        lines = _open_note(note, verifier_key)
        assert lines[0] == origin
        assert lines[1] == str(checkpoint["size"])
        assert _b64(lines[2], 32).hex() == roots[checkpoint["size"]]
        tampered = note.replace(f"\n{checkpoint['size']}\n", f"\n{checkpoint['size'] + 1}\n")
        with pytest.raises(InvalidSignature):
            _open_note(tampered, verifier_key)


def test_base64_and_hex_are_strict() -> None:
    with pytest.raises(AssertionError, match="non-canonical"):
        _b64("AB==")  # unused bits set
    with pytest.raises(binascii.Error):
        _b64("AA=")
    with pytest.raises(AssertionError, match="lowercase hex"):
        _hex32("AB" * 32)


# --------------------------------------------------------------------------------------------
# The document's tables against the code's constants


def test_documented_statement_types_are_the_codes() -> None:
    from ledger.statements import STATEMENT_TYPES

    rows = _table_rows(_section("10."), "| type | signer |")
    assert {_ticked(row[0])[0] for row in rows} == set(STATEMENT_TYPES)


def test_documented_private_fields_are_the_codes() -> None:
    from ledger.bodies import PRIVATE_FIELDS

    assert _documented_private_fields() == {k: set(v) for k, v in PRIVATE_FIELDS.items()}


def test_documented_policy_is_the_codes() -> None:
    from ledger.state import DEFAULT_POLICY

    rows = _table_rows(_section("13."), "| member | range |")
    documented = {_ticked(row[0])[0]: int(row[3].replace(" ", "")) for row in rows}
    assert documented == DEFAULT_POLICY.to_json()


def test_documented_error_codes_are_the_codes() -> None:
    sources = [
        ROOT / "ledger" / "rules.py",
        ROOT / "ledger" / "rulebook.py",
        ROOT / "ledger" / "registry" / "rules.py",
        ROOT / "ledger" / "custody" / "rules.py",
        ROOT / "ledger" / "custody" / "sitestatus.py",
        ROOT / "ledger" / "custody" / "incidents.py",
    ]
    raised = set()
    for path in sources:
        raised |= set(re.findall(r'code="([a-z_]+)"', path.read_text(encoding="utf-8")))
    from ledger.custody.types import HELD, LOT_STATUSES

    raised |= {f"lot_{status}" for status in LOT_STATUSES if status != HELD}
    raised |= {"equivocation", "disclosure_missing", "invalid", "too_large", "bad_signature"}
    rows = _table_rows(_section("18."), "| code | class | meaning |")
    documented = {code for row in rows for code in _ticked(row[0])}
    assert documented == raised
