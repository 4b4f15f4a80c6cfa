"""Generate the worked examples of docs/PROTOCOL.md from the ledger's own code.

Builds a small example ledger entirely in memory -- genesis, two actor registrations (one with a
private e-mail address), a mine site, a lot with a private price, its dispatch and its receipt --
from fixed Ed25519 seeds, fixed times and fixed disclosure salts. Every statement is signed with
``ledger.statements.sign``, checked with ``ledger.rules.apply`` on a ``MemoryState``, framed with
``ledger.entries.make``; the Merkle tree is grown with ``ledger.merkle.CompactRange``, proofs are
assembled from the stored nodes, and the checkpoints are signed with ``ledger.checkpoint``.

It then writes ``docs/examples/*.json`` / ``*.txt`` and rewrites every block of
``docs/PROTOCOL.md`` between ``<!-- BEGIN GENERATED: name -->`` and
``<!-- END GENERATED: name -->``. The output is deterministic (Ed25519 signatures are).

Usage::

    .venv/bin/python scripts/gen_protocol_examples.py          # write the files
    .venv/bin/python scripts/gen_protocol_examples.py --check  # exit 1 if they are stale

What it does not do: it touches no database, no key store and no network, and writes nothing
outside ``docs/PROTOCOL.md`` and ``docs/examples/``.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere, with or without an install
    sys.path.insert(0, str(ROOT))

from ledger import canonical, disclosures, entries, merkle, rules  # noqa: E402
from ledger.bodies import PRIVATE_FIELDS  # noqa: E402
from ledger.bundle import Bundle, BundleEntry, encode, verify  # noqa: E402
from ledger.checkpoint import (  # noqa: E402
    Checkpoint,
    VerifierKey,
    note_key_id,
    sign_checkpoint,
    verify_checkpoint,
)
from ledger.crypto import Ed25519Signer  # noqa: E402
from ledger.disclosures import Disclosure  # noqa: E402
from ledger.rulebook import Context  # noqa: E402
from ledger.state import DEFAULT_POLICY, MemoryState  # noqa: E402
from ledger.statements import Envelope, Statement, sign, signing_input  # noqa: E402
from ledger.verify_bundle import report  # noqa: E402

DOC = ROOT / "docs" / "PROTOCOL.md"
EXAMPLES = ROOT / "docs" / "examples"
ORIGIN = "asm-ledger.example/demo"
SEED_PREFIX = b"asm-ledger example/"
SALT_PREFIX = b"asm-ledger example salt/"
GENERATED_RE = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>[a-z0-9-]+) -->\n)(?P<body>.*?)"
    r"(<!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)
INCLUSION_INDEX = 4  # the lot.register entry
CONSISTENCY_SIZES = (3, 7)

LOT = "NYB-2026-0001"
TAG = "CD-SK-NYB-0048213"
SITE = "nyabibwe-01"


@dataclass(frozen=True)
class Party:
    """An example actor and its one key, derived from ``SHA-256(SEED_PREFIX || name)``."""

    name: str
    actor: str

    @property
    def seed(self) -> bytes:
        return hashlib.sha256(SEED_PREFIX + self.name.encode("ascii")).digest()

    @property
    def signer(self) -> Ed25519Signer:
        return Ed25519Signer.from_seed(self.seed)


OPERATOR = Party("operator", "operator")
REGISTRAR = Party("registrar", "registrar-sk")
COOPERATIVE = Party("cooperative", "coop-nyabibwe")
TRADER = Party("trader", "comptoir-bukavu")
PARTIES = (OPERATOR, REGISTRAR, COOPERATIVE, TRADER)


def _b64key(party: Party) -> str:
    return canonical.b64encode(party.signer.public_key)


@dataclass(frozen=True)
class Step:
    """One statement of the example ledger, and the server time it is logged at."""

    label: str
    party: Party
    type: str
    time: str
    logged: str
    body: dict[str, Any]
    after: tuple[str, ...] = ()
    private: dict[str, Any] = field(default_factory=dict)


def _steps() -> list[Step]:
    genesis_body = {
        "origin": ORIGIN,
        "operator": {
            "id": OPERATOR.actor,
            "name": "Example ledger operator",
            "key": _b64key(OPERATOR),
        },
        "registrars": [
            {
                "id": REGISTRAR.actor,
                "name": "South Kivu mining registry (example)",
                "country": "CD",
                "keys": [_b64key(REGISTRAR)],
            }
        ],
        "policy": DEFAULT_POLICY.to_json(),
    }
    return [
        Step(
            label="genesis",
            party=OPERATOR,
            type="genesis",
            time="2026-01-05T08:00:00Z",
            logged="2026-01-05T08:00:01Z",
            body=genesis_body,
        ),
        Step(
            label="actor-register",
            party=REGISTRAR,
            type="actor.register",
            time="2026-01-06T09:15:00Z",
            logged="2026-01-06T09:15:02Z",
            body={
                "id": COOPERATIVE.actor,
                "name": "Coopérative minière de Nyabibwe",
                "roles": ["cooperative"],
                "country": "CD",
                "keys": [_b64key(COOPERATIVE)],
            },
            private={"email": "contact@coop-nyabibwe.example"},
        ),
        Step(
            label="actor-register-trader",
            party=REGISTRAR,
            type="actor.register",
            time="2026-01-06T09:20:00Z",
            logged="2026-01-06T09:20:01Z",
            body={
                "id": TRADER.actor,
                "name": "Comptoir Bukavu Minerals",
                "roles": ["exporter", "trader"],
                "country": "CD",
                "keys": [_b64key(TRADER)],
            },
        ),
        Step(
            label="site-register",
            party=REGISTRAR,
            type="site.register",
            time="2026-01-06T10:00:00Z",
            logged="2026-01-06T10:00:01Z",
            body={
                "id": SITE,
                "name": "Nyabibwe tin site",
                "country": "CD",
                "region": "South Kivu",
                "location": {"lat_e6": -1_983_100, "lon_e6": 28_937_400},
                "minerals": ["tin"],
                "licence": {"number": "PE-4731", "expires": "2029-06-30"},
                "cooperative": COOPERATIVE.actor,
                "capacity_g_month": 20_000_000,
                "inspection_status": "green",
            },
        ),
        Step(
            label="lot-register",
            party=COOPERATIVE,
            type="lot.register",
            time="2026-01-14T07:42:10Z",
            logged="2026-01-14T11:03:27.25Z",
            body={
                "lot": LOT,
                "site": SITE,
                "mineral": "tin",
                "form": "concentrate",
                "mass_g": 125_400,
                "grade_ppm": 652_000,
                "tags": [TAG],
                "extracted": "2026-01-12",
            },
            private={"price": {"amount_minor": 1_630_200, "currency": "USD"}},
        ),
        Step(
            label="lot-dispatch",
            party=COOPERATIVE,
            type="lot.dispatch",
            time="2026-01-15T06:30:00Z",
            logged="2026-01-15T06:30:04Z",
            body={"lot": LOT, "to": TRADER.actor, "mass_g": 125_400, "tags": [TAG]},
            after=(f"lot:{LOT}",),
        ),
        Step(
            label="lot-receive",
            party=TRADER,
            type="lot.receive",
            time="2026-01-16T15:05:00Z",
            logged="2026-01-16T15:05:02Z",
            body={"lot": LOT, "mass_g": 125_100},
            after=(f"lot:{LOT}",),
        ),
    ]


@dataclass(frozen=True)
class Logged:
    step: Step
    envelope: Envelope
    disclosures: tuple[Disclosure, ...]
    entry: entries.Entry


@dataclass
class Example:
    logged: list[Logged]
    nodes: dict[tuple[int, int], bytes]
    completed: list[tuple[int, int]]
    roots: list[bytes]  # roots[s - 1] is the root of the tree of size s


def _salt(label: str, name: str) -> bytes:
    return hashlib.sha256(SALT_PREFIX + f"{label}/{name}".encode("ascii")).digest()[:16]


def build() -> Example:
    """Sign, check and log every step; grow the tree; return everything the docs show."""
    state = MemoryState()
    counters: dict[str, int] = {}
    tree = merkle.CompactRange()
    example = Example([], {}, [], [])
    prev: bytes | None = None
    for seq, step in enumerate(_steps()):
        signer = step.party.signer
        counters[signer.key_id] = counters.get(signer.key_id, 0) + 1
        shown = tuple(
            Disclosure.new(name, value, salt=_salt(step.label, name))
            for name, value in sorted(step.private.items())
        )
        heads = {subject: state.head(subject) for subject in step.after}
        statement = Statement(
            ledger=ORIGIN,
            type=step.type,
            actor=step.party.actor,
            key=signer.key_id,
            n=counters[signer.key_id],
            time=step.time,
            after={subject: head.hex() for subject, head in heads.items() if head is not None},
            body=step.body,
            sd=tuple(sorted(d.digest() for d in shown)),
        )
        envelope = sign(statement, signer)
        entry = entries.make(seq, prev, step.logged, envelope)
        envelope.verify(rules.signing_key(state, statement))
        rules.apply(state, statement, Context(seq, entry.leaf_hash, step.logged))
        disclosures.match(statement.sd, list(shown), PRIVATE_FIELDS.get(step.type, frozenset()))
        state.keep()
        if entries.decode(entry.data).leaf_hash != entry.leaf_hash:
            raise AssertionError("entries.decode does not give back the entry")
        if canonical.dumps(json.loads(entry.data)) != entry.data:
            raise AssertionError("the entry bytes are not the JCS of the entry object")
        example.nodes[(0, seq)] = entry.leaf_hash
        for level, index, value in tree.append(entry.leaf_hash):
            example.nodes[(level, index)] = value
            example.completed.append((level, index))
        example.roots.append(tree.root())
        example.logged.append(Logged(step, envelope, shown, entry))
        prev = entry.leaf_hash
    if state.appended("flag"):  # the text of the lot-receive block says no flag is raised
        raise AssertionError(f"the example raised flags: {state.appended('flag')}")
    return example


# --------------------------------------------------------------------------------------------
# Rendering


def _json(value: Any) -> str:
    """Pretty JSON for reading: two-space indent, short arrays of scalars on one line."""
    return _pretty(value, 0) + "\n"


def _pretty(value: Any, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [f"{inner}{json.dumps(k)}: {_pretty(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value:
        flat = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
        if len(flat) <= 60 and not any(isinstance(v, dict) for v in value):
            return flat
        return "[\n" + ",\n".join(inner + _pretty(v, depth + 1) for v in value) + f"\n{pad}]"
    return json.dumps(value, ensure_ascii=False)


def _code(text: str, lang: str = "") -> str:
    return f"```{lang}\n{text.rstrip(chr(10))}\n```\n"


def _fetch(example: Example) -> merkle.Fetch:
    def fetch(ids: list[merkle.NodeId]) -> Mapping[merkle.NodeId, bytes]:
        return {node: example.nodes[node] for node in ids}

    return fetch


def _statement_record(item: Logged) -> dict[str, Any]:
    envelope = item.envelope
    message = signing_input(envelope.statement_bytes)
    return {
        "seq": item.entry.seq,
        "type": envelope.statement.type,
        "signer": item.step.party.actor,
        "statement": envelope.statement.to_json(),
        "statement_jcs": envelope.statement_bytes.decode("utf-8"),
        "statement_jcs_length": len(envelope.statement_bytes),
        "signing_input_hex": message.hex(),
        "signing_input_sha256": hashlib.sha256(message).hexdigest(),
        "sig": canonical.b64encode(envelope.sig),
        "envelope": envelope.to_json(),
        "disclosures": [d.to_json() for d in item.disclosures],
        "disclosure_jcs": [d.canonical().decode("utf-8") for d in item.disclosures],
        "disclosure_digests": [d.digest() for d in item.disclosures],
    }


def _entry_record(item: Logged) -> dict[str, Any]:
    entry = item.entry
    return {
        "seq": entry.seq,
        "type": entry.statement.type,
        "logged": entry.logged,
        "prev": None if entry.prev is None else entry.prev.hex(),
        "entry": entry.data.decode("utf-8"),
        "entry_length": len(entry.data),
        "leaf_hash": entry.leaf_hash.hex(),
    }


def _tree_record(example: Example) -> dict[str, Any]:
    size = len(example.logged)
    fetch = _fetch(example)
    index = INCLUSION_INDEX
    inclusion = merkle.inclusion_proof(index, size, fetch)
    leaf = example.nodes[(0, index)]
    merkle.verify_inclusion(leaf, index, size, inclusion, example.roots[-1])
    size1, size2 = CONSISTENCY_SIZES
    consistency = merkle.consistency_proof(size1, size2, fetch)
    root1, root2 = example.roots[size1 - 1], example.roots[size2 - 1]
    merkle.verify_consistency(size1, size2, consistency, root1, root2)
    return {
        "leaves": [item.entry.leaf_hash.hex() for item in example.logged],
        "roots": [{"size": s + 1, "root": r.hex()} for s, r in enumerate(example.roots)],
        "stored_nodes": [
            {"level": level, "index": idx, "hash": example.nodes[(level, idx)].hex()}
            for level, idx in example.completed
        ],
        "compact_range": {
            "size": size,
            "nodes": [list(node) for node in merkle.compact_range_ids(size)],
        },
        "inclusion": {
            "index": index,
            "size": size,
            "leaf_hash": leaf.hex(),
            "proof": [h.hex() for h in inclusion],
            "proof_nodes": [
                [list(node) for node in step] for step in merkle.inclusion_plan(index, size).steps
            ],
            "root": example.roots[-1].hex(),
        },
        "consistency": {
            "size1": size1,
            "size2": size2,
            "root1": root1.hex(),
            "root2": root2.hex(),
            "proof": [h.hex() for h in consistency],
            "proof_nodes": [
                [list(node) for node in step]
                for step in merkle.consistency_plan(size1, size2).steps
            ],
        },
    }


def _checkpoints(example: Example) -> dict[int, str]:
    operator = OPERATOR.signer
    key = VerifierKey.from_public_key(ORIGIN, operator.public_key)
    notes = {}
    for size in sorted({CONSISTENCY_SIZES[0], len(example.logged)}):
        note = sign_checkpoint(Checkpoint(ORIGIN, size, example.roots[size - 1]), ORIGIN, operator)
        verify_checkpoint(note, key, ORIGIN)
        notes[size] = note
    return notes


def _checkpoint_record(example: Example, notes: dict[int, str]) -> dict[str, Any]:
    public_key = OPERATOR.signer.public_key
    key_id_input = ORIGIN.encode("utf-8") + b"\n" + b"\x01" + public_key
    checkpoints = []
    for size, note in notes.items():
        text, _, block = note.partition("\n\n")
        signature_line = block.rstrip("\n")
        checkpoints.append(
            {
                "size": size,
                "note": note,
                "text": text + "\n",
                "signature_line": signature_line,
                "signature_b64": signature_line.rsplit(" ", 1)[1],
            }
        )
    return {
        "origin": ORIGIN,
        "key_name": ORIGIN,
        "public_key": canonical.b64encode(public_key),
        "key_id_input_hex": key_id_input.hex(),
        "key_id_sha256": hashlib.sha256(key_id_input).hexdigest(),
        "note_key_id": note_key_id(ORIGIN, public_key).hex(),
        "verifier_key": str(VerifierKey.from_public_key(ORIGIN, public_key)),
        "checkpoints": checkpoints,
    }


def _keys_record() -> list[dict[str, Any]]:
    return [
        {
            "actor": party.actor,
            "seed_input": (SEED_PREFIX + party.name.encode("ascii")).decode("ascii"),
            "seed": party.seed.hex(),
            "public_key": _b64key(party),
            "key_id": party.signer.key_id,
        }
        for party in PARTIES
    ]


def render() -> tuple[dict[str, str], dict[str, str]]:
    """Return (files under docs/examples by name, doc blocks by name)."""
    example = build()
    statements = [_statement_record(item) for item in example.logged]
    entry_records = [_entry_record(item) for item in example.logged]
    tree = _tree_record(example)
    notes = _checkpoints(example)
    checkpoint = _checkpoint_record(example, notes)
    keys = _keys_record()
    files = {
        "keys.json": _json(keys),
        "statements.json": _json(statements),
        "entries.json": _json(entry_records),
        "tree.json": _json(tree),
        "checkpoint.json": _json(checkpoint),
        "verifier-key.txt": checkpoint["verifier_key"] + "\n",
    }
    for item in example.logged:
        files[f"entry-{item.entry.seq}.json"] = item.entry.data.decode("utf-8")
    for size, note in notes.items():
        files[f"checkpoint-{size}.txt"] = note
    bundle = _bundle(example, notes[len(example.logged)])
    files["bundle.json"] = encode(bundle).decode("utf-8")
    blocks = _blocks(statements, entry_records, tree, checkpoint, keys)
    blocks["bundle"] = _bundle_block(bundle)
    return files, blocks


def _bundle(example: Example, note: str) -> Bundle:
    """The proof bundle of the example lot: all seven entries, proven against checkpoint 7."""
    size = len(example.logged)
    fetch = _fetch(example)
    key = VerifierKey.from_public_key(ORIGIN, OPERATOR.signer.public_key)
    bundle = Bundle(
        lot=LOT,
        head=example.logged[-1].entry.leaf_hash,
        checkpoint=note,
        key_id=key.key_id,
        entries=tuple(
            BundleEntry(
                i.entry.seq, i.entry.data, tuple(merkle.inclusion_proof(i.entry.seq, size, fetch))
            )
            for i in example.logged
        ),
    )
    verdict = verify(encode(bundle), key)
    if not verdict.ok:
        raise AssertionError(f"the example bundle does not verify: {verdict.reasons}")
    return bundle


def _bundle_block(bundle: Bundle) -> str:
    shown = bundle.to_json()
    for item in shown["entries"]:
        item["entry"] = f"<base64 of docs/examples/entry-{item['seq']}.json>"
    key = VerifierKey.from_public_key(ORIGIN, OPERATOR.signer.public_key)
    lines = report(verify(encode(bundle), key))
    return "".join(
        [
            f"The bundle of lot `{bundle.lot}` in the example ledger "
            f"(`docs/examples/bundle.json`, {len(encode(bundle))} bytes), pretty-printed, with "
            "each entry's base64 elided:\n\n",
            _code(_json(shown), "json"),
            "\nWhat `ledger verify-bundle docs/examples/bundle.json --key "
            '"$(cat docs/examples/verifier-key.txt)"` prints (exit status 0):\n\n',
            _code("\n".join(lines), "text"),
        ]
    )


def _by_label(statements: list[dict[str, Any]], seq: int) -> dict[str, Any]:
    return next(s for s in statements if s["seq"] == seq)


def _statement_block(record: dict[str, Any]) -> str:
    message_text = "asm-ledger/v1/statement\n" + record["statement_jcs"]
    return "".join(
        [
            f"Entry {record['seq']}, `{record['type']}` signed by `{record['signer']}`. "
            "The statement, pretty-printed for reading (not the signed form):\n\n",
            _code(_json(record["statement"]), "json"),
            f"\nIts canonical bytes (RFC 8785, {record['statement_jcs_length']} bytes of UTF-8, "
            "no trailing newline):\n\n",
            _code(record["statement_jcs"], "text"),
            "\nThe signing input is the context line and those bytes; the first line ends in one "
            "LF (0x0A) and nothing follows the closing brace. "
            f"SHA-256 of the signing input: `{record['signing_input_sha256']}`.\n\n",
            _code(message_text, "text"),
            '\nThe envelope is `{"statement": <the statement above>, "sig": <sig>}` with this '
            "`sig`, the standard base64 of the 64-byte Ed25519 signature:\n\n",
            _code(record["sig"], "text"),
        ]
    )


def _steps_text(steps: list[list[list[int]]]) -> str:
    """Name the nodes of each proof hash; several nodes are folded into one hash."""
    parts = []
    for step in steps:
        names = [f"({level}, {index})" for level, index in step]
        parts.append(names[0] if len(names) == 1 else f"fold({', '.join(names)})")
    return ", ".join(parts)


def _blocks(
    statements: list[dict[str, Any]],
    entry_records: list[dict[str, Any]],
    tree: dict[str, Any],
    checkpoint: dict[str, Any],
    keys: list[dict[str, Any]],
) -> dict[str, str]:
    blocks: dict[str, str] = {}
    rows = ["| actor | seed input (ASCII) | public key (base64) | key id |", "|---|---|---|---|"]
    rows += [
        f"| `{k['actor']}` | `{k['seed_input']}` | `{k['public_key']}` | `{k['key_id']}` |"
        for k in keys
    ]
    blocks["keys"] = (
        "\n".join(rows)
        + "\n\nEach seed is `SHA-256(seed input)`; the private key is the RFC 8032 key with that "
        "32-byte seed. These keys are public knowledge: never use them outside examples.\n"
    )
    blocks["genesis"] = _statement_block(_by_label(statements, 0))
    blocks["actor-register"] = _statement_block(_by_label(statements, 1))
    actor = _by_label(statements, 1)
    lot = _by_label(statements, 4)
    blocks["disclosures"] = "".join(
        [
            "The e-mail address of entry 1 is disclosed by:\n\n",
            _code(actor["disclosure_jcs"][0], "json"),
            "\nIts digest is SHA-256 over `asm-ledger/v1/disclosure` LF and the bytes above:\n\n",
            _code(actor["disclosure_digests"][0], "text"),
            "\nwhich is the one digest in that statement's `sd`. "
            "The price of the lot registered in entry 4 is disclosed by:\n\n",
            _code(lot["disclosure_jcs"][0], "json"),
            "\nwith digest:\n\n",
            _code(lot["disclosure_digests"][0], "text"),
            "\nSo that the examples can be regenerated byte for byte, their salts are fixed: the "
            "first 16 bytes of SHA-256 of the ASCII text `asm-ledger example salt/<step>/<name>` "
            "(`lot-register/price` above). Real salts MUST be random (§16).\n",
        ]
    )
    blocks["lot-register"] = (
        f"Entry {lot['seq']}, signed by `{lot['signer']}`; the one digest in `sd` is that of the "
        "price disclosure shown in §9:\n\n" + _code(_json(lot["statement"]), "json")
    )
    blocks["lot-dispatch"] = _statement_block(_by_label(statements, 5))
    receive = _by_label(statements, 6)
    sent = _by_label(statements, 5)["statement"]["body"]["mass_g"]
    measured = receive["statement"]["body"]["mass_g"]
    ppm = abs(measured - sent) * 1_000_000 // sent
    blocks["lot-receive"] = (
        f"The receipt (entry 6), signed by `{receive['signer']}`, names the dispatch (entry 5) as "
        f"the lot's head. It measures {measured} g against {sent} g dispatched, a difference of "
        f"about {ppm} ppm, within the example policy's receipt tolerance, so no flag is raised:"
        "\n\n" + _code(_json(receive["statement"]), "json")
    )
    entry = entry_records[INCLUSION_INDEX]
    blocks["entry"] = "".join(
        [
            f"Entry {entry['seq']} ({entry['type']}) as stored and hashed "
            f"({entry['entry_length']} bytes, no trailing newline; the file "
            f"`docs/examples/entry-{entry['seq']}.json` holds exactly these bytes):\n\n",
            _code(entry["entry"], "text"),
            "\nIts leaf hash, `SHA-256(0x00 || entry)`:\n\n",
            _code(entry["leaf_hash"], "text"),
        ]
    )
    rows = ["| seq | type | logged | leaf hash |", "|---|---|---|---|"]
    rows += [
        f"| {e['seq']} | `{e['type']}` | `{e['logged']}` | `{e['leaf_hash']}` |"
        for e in entry_records
    ]
    rows += ["", "| size | root |", "|---|---|"]
    rows += [f"| {r['size']} | `{r['root']}` |" for r in tree["roots"]]
    rows += [
        "",
        "Perfect subtrees completed by the appends (level 0 is the leaf hashes above):",
        "",
    ]
    rows += ["| level | index | leaves | hash |", "|---|---|---|---|"]
    for node in tree["stored_nodes"]:
        first = node["index"] << node["level"]
        last = first + (1 << node["level"]) - 1
        rows.append(f"| {node['level']} | {node['index']} | {first}..{last} | `{node['hash']}` |")
    compact = ", ".join(f"({lv}, {ix})" for lv, ix in tree["compact_range"]["nodes"])
    rows += [
        "",
        f"The compact range of the tree of size {tree['compact_range']['size']} is the nodes "
        f"{compact}; its root is the right fold of their hashes (§12.2).",
    ]
    blocks["tree"] = "\n".join(rows) + "\n"
    for name in ("inclusion", "consistency"):
        proof = tree[name]
        shown = {k: v for k, v in proof.items() if k != "proof_nodes"}
        what = (
            f"The inclusion proof of leaf {proof['index']} in the tree of size {proof['size']}"
            if name == "inclusion"
            else f"The consistency proof from size {proof['size1']} to size {proof['size2']}"
        )
        blocks[name] = (
            f"{what}, assembled from the stored nodes {_steps_text(proof['proof_nodes'])}:\n\n"
            + _code(_json(shown), "json")
        )
    last = checkpoint["checkpoints"][-1]
    blocks["checkpoint"] = "".join(
        [
            f"The operator's checkpoint of the example ledger at size {last['size']} "
            "(`docs/examples/checkpoint-7.txt`; the signature line starts with U+2014 EM DASH "
            "and a space, and the note ends in LF):\n\n",
            _code(last["note"], "text"),
            "\nThe verifier key (`docs/examples/verifier-key.txt`):\n\n",
            _code(checkpoint["verifier_key"], "text"),
            f"\nIts key id `{checkpoint['note_key_id']}` is the first 4 bytes of SHA-256 over "
            f"the {len(checkpoint['key_id_input_hex']) // 2} bytes `{checkpoint['key_name']}` "
            "LF 0x01 followed by the operator's 32-byte public key, whose SHA-256 is "
            f"`{checkpoint['key_id_sha256']}`. The signature line's base64 decodes to those 4 "
            "bytes followed by the 64-byte Ed25519 signature of the note text (the three lines "
            "above the blank line, each ending in LF).\n",
        ]
    )
    return blocks


# --------------------------------------------------------------------------------------------
# Writing and checking


def render_doc(doc: str, blocks: dict[str, str]) -> str:
    """Replace each generated block of ``doc``; every block must appear exactly once."""
    found: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in blocks:
            raise SystemExit(f"docs/PROTOCOL.md has a generated block {name!r} that no code makes")
        found.append(name)
        return f"{match.group(1)}{blocks[name]}{match.group(4)}"

    text = GENERATED_RE.sub(replace, doc)
    missing = sorted(set(blocks) - set(found))
    repeated = sorted({name for name in found if found.count(name) > 1})
    if missing or repeated:
        raise SystemExit(
            f"docs/PROTOCOL.md lacks generated block(s) {missing} or repeats {repeated}"
        )
    return text


def _diff(path: str, old: str | None, new: str | None, limit: int = 12) -> list[str]:
    if old is None:
        return [f"missing: {path}"]
    if new is None:
        return [f"not generated (remove it): {path}"]
    lines = list(
        difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            f"{path} (on disk)",
            f"{path} (generated)",
            n=0,
            lineterm="",
        )
    )
    more = [f"  ... {len(lines) - limit} more diff lines"] if len(lines) > limit else []
    return [f"stale: {path}", *(f"  {line}" for line in lines[:limit]), *more]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the docs are stale")
    args = parser.parse_args(argv)
    files, blocks = render()
    wanted = {f"docs/examples/{name}": text for name, text in files.items()}
    doc_text = DOC.read_text(encoding="utf-8")
    wanted["docs/PROTOCOL.md"] = render_doc(doc_text, blocks)
    present = {
        f"docs/examples/{p.name}": p.read_text(encoding="utf-8")
        for p in sorted(EXAMPLES.glob("*"))
        if p.is_file()
    }
    present["docs/PROTOCOL.md"] = doc_text
    stale = sorted(
        path for path in set(wanted) | set(present) if wanted.get(path) != present.get(path)
    )
    if args.check:
        if not stale:
            return 0
        print(f"{len(stale)} generated file(s) are stale; run `make docs`:", file=sys.stderr)
        for path in stale:
            print("\n".join(_diff(path, present.get(path), wanted.get(path))), file=sys.stderr)
        return 1
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for path in stale:
        target = ROOT / path
        if path in wanted:
            target.write_bytes(wanted[path].encode("utf-8"))
        else:
            target.unlink()
        print(f"{'wrote' if path in wanted else 'removed'} {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
