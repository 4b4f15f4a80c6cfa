"""A small, engine-agnostic world builder for tests: fixed keys, signed statements, tracked heads.

:class:`World` signs statements as the actors of a test ledger and remembers the head (leaf hash)
of every subject it has seen accepted, so that the next statement about a lot names the right
``after``. It never touches a store: it hands :class:`~ledger.statements.Submission` objects to a
``submit`` callable that appends them somewhere and returns the leaf hash, or raises the
:class:`~ledger.errors.LedgerError` of a rejection. :class:`MemoryLog` is such a callable over the
pure core (``ledger.rules`` on a :class:`~ledger.state.MemoryState`); database tests pass
``lambda s: ledger.append(s).leaf_hash`` instead.

Typical use::

    log = MemoryLog()
    world = World(submit=log.submit)
    world.populate()                                   # genesis, the cast, two sites, a miner
    world.run(world.register_lot("lot-1", by="coop-a", site="site-a"))
    world.run(world.dispatch("lot-1", by="coop-a", to="trader-a"))

Builders (``register_*``, ``dispatch`` ...) only sign; :meth:`World.run` submits and, on
acceptance, records the new heads. Keys come from fixed seeds (:func:`seed`), so every run signs
the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger import disclosures, entries, rules
from ledger.bodies import PRIVATE_FIELDS
from ledger.builder import Author, RegistrarSpec, genesis
from ledger.canonical import b64encode
from ledger.crypto import Ed25519Signer
from ledger.entries import Entry
from ledger.errors import LedgerError, ValidationError
from ledger.rulebook import Context
from ledger.state import DEFAULT_POLICY, MemoryState, OverlayState
from ledger.statements import Statement, Submission, format_time

ORIGIN = "test.asm-ledger.example/ledger"
T0 = datetime(2026, 1, 15, 8, 0, 0, tzinfo=UTC)
LOGGED = T0 + timedelta(days=1)  # the MemoryLog clock: after every statement time a test uses
POLICY: dict[str, int] = DEFAULT_POLICY.to_json()

Submit = Callable[[Submission], bytes]
# ``reject(submission, ErrorClass, code=..., match=...) -> the error`` (a fixture in tests/unit)
Reject = Callable[..., LedgerError]

# The standard cast: actor id -> roles. Registered by World.populate, in this order.
CAST: dict[str, tuple[str, ...]] = {
    "coop-a": ("cooperative",),
    "coop-b": ("cooperative",),
    "trader-a": ("trader",),
    "trader-b": ("trader",),
    "exporter-a": ("exporter",),
    "smelter-a": ("processor",),
    "refiner-a": ("refiner",),
    "auditor-a": ("auditor",),
    "inspector-a": ("inspector",),
    "buyer-a": ("buyer",),
}


def seed(name: str) -> bytes:
    """A fixed 32-byte Ed25519 seed for ``name`` (the same in every run)."""
    return hashlib.sha256(b"asm-ledger/tests/seed\n" + name.encode()).digest()


def signer(name: str) -> Ed25519Signer:
    return Ed25519Signer.from_seed(seed(name))


def subjects_of(statement: Statement) -> tuple[str, ...]:
    """The subjects whose head an accepted statement becomes (written from the protocol)."""
    body = statement.body
    kind = statement.type
    if kind == "genesis":
        return (
            "actor:" + body["operator"]["id"],
            *("actor:" + r["id"] for r in body["registrars"]),
        )
    if kind == "actor.register":
        return (f"actor:{body['id']}",)
    if kind in ("actor.key.add", "actor.key.revoke"):
        return (f"actor:{body['actor']}",)
    if kind == "site.register":
        return (f"site:{body['id']}",)
    if kind == "miner.register":
        return (f"miner:{body['id']}",)
    if kind in ("lot.register", "lot.dispatch", "lot.receive", "lot.export"):
        return (f"lot:{body['lot']}",)
    if kind == "lot.split":
        return (f"lot:{body['lot']}", *(f"lot:{o['lot']}" for o in body["outputs"]))
    if kind == "lot.merge":
        return (*(f"lot:{i}" for i in body["inputs"]), f"lot:{body['output']['lot']}")
    if kind == "lot.process":
        return (
            *(f"lot:{i}" for i in body["inputs"]),
            *(f"lot:{o['lot']}" for o in body["outputs"]),
        )
    if kind == "attestation":
        return (f"attestation:{body['id']}",)
    if kind == "attestation.revoke":
        return (f"attestation:{body['attestation']}",)
    if kind == "incident":
        return (f"incident:{body['id']}",)
    if kind == "incident.resolve":
        return (f"incident:{body['incident']}",)
    raise ValueError(f"unknown statement type {kind}")


def after_of(statement_type: str, body: Mapping[str, Any]) -> tuple[str, ...]:
    """The subjects a statement must name in ``after`` (written from the protocol)."""
    if statement_type in ("lot.dispatch", "lot.receive", "lot.split", "lot.export"):
        return (f"lot:{body['lot']}",)
    if statement_type in ("lot.merge", "lot.process"):
        return tuple(f"lot:{i}" for i in body["inputs"])
    if statement_type in ("actor.key.add", "actor.key.revoke"):
        return (f"actor:{body['actor']}",)
    if statement_type == "attestation.revoke":
        return (f"attestation:{body['attestation']}",)
    if statement_type == "incident.resolve":
        return (f"incident:{body['incident']}",)
    return ()


@dataclass
class LotInfo:
    """What the world remembers of a lot, to fill in dispatch bodies."""

    mass_g: int
    tags: tuple[str, ...]


@dataclass
class World:
    """Actors of one test ledger, signing statements; heads tracked from accepted leaf hashes."""

    submit: Submit | None = None
    origin: str = ORIGIN
    policy: Mapping[str, int] = field(default_factory=lambda: dict(POLICY))
    start: datetime = T0
    authors: dict[str, Author] = field(default_factory=dict)
    heads: dict[str, bytes] = field(default_factory=dict)
    lots: dict[str, LotInfo] = field(default_factory=dict)
    ticks: int = 0

    def __post_init__(self) -> None:
        for name in ("operator", "registrar"):
            self.authors.setdefault(name, Author(self.origin, name, signer(name)))

    # -- time, authors, heads --------------------------------------------------------------
    def now(self) -> str:
        """The next statement time: one second after the last, from ``start``."""
        self.ticks += 1
        return format_time(self.start + timedelta(seconds=self.ticks))

    def author(self, actor: str) -> Author:
        if actor not in self.authors:
            self.authors[actor] = Author(self.origin, actor, signer(actor))
        return self.authors[actor]

    def sign(
        self,
        actor: str,
        statement_type: str,
        body: dict[str, Any],
        *,
        after: Mapping[str, bytes | str] | None = None,
        private: Mapping[str, Any] | None = None,
        time: datetime | str | None = None,
    ) -> Submission:
        """Sign as ``actor``; ``after`` defaults to the tracked heads of the type's subjects."""
        if after is None:
            # an untracked subject gets an all-zero head, which the rules refuse
            after = {s: self.heads.get(s, b"\x00" * 32) for s in after_of(statement_type, body)}
        return self.author(actor).sign(
            statement_type,
            body,
            time=self.now() if time is None else time,
            after=after,
            private=private,
            salt=seed(f"salt/{actor}/{self.author(actor).n + 1}")[:16],
        )

    def run(self, submission: Submission) -> bytes:
        """Submit; on acceptance record the new heads and return the leaf hash."""
        if self.submit is None:
            raise RuntimeError("World.run needs a submit callable")
        leaf_hash = self.submit(submission)
        self.accept(submission, leaf_hash)
        return leaf_hash

    def run_all(self, submissions: Iterable[Submission]) -> list[bytes]:
        return [self.run(s) for s in submissions]

    def accept(self, submission: Submission, leaf_hash: bytes) -> None:
        """Record that ``submission`` was accepted as the entry with ``leaf_hash``."""
        statement = submission.envelope.statement
        for subject in subjects_of(statement):
            self.heads[subject] = leaf_hash
        self._track_lots(statement)

    def _track_lots(self, statement: Statement) -> None:
        body = statement.body
        kind = statement.type
        if kind == "lot.register":
            self.lots[body["lot"]] = LotInfo(body["mass_g"], tuple(sorted(body["tags"])))
        elif kind == "lot.receive":
            self.lots[body["lot"]].mass_g = body["mass_g"]
        elif kind in ("lot.split", "lot.process"):
            for out in body["outputs"]:
                self.lots[out["lot"]] = LotInfo(out["mass_g"], tuple(sorted(out["tags"])))
        elif kind == "lot.merge":
            out = body["output"]
            self.lots[out["lot"]] = LotInfo(out["mass_g"], tuple(sorted(out["tags"])))

    def head(self, subject: str) -> bytes:
        return self.heads[subject]

    # -- registry ---------------------------------------------------------------------------
    def genesis(
        self, registrars: Sequence[RegistrarSpec] | None = None, *, time: str | None = None
    ) -> Submission:
        specs = list(registrars or [])
        if not specs:
            specs = [
                RegistrarSpec(
                    "registrar", "Test registrar", "CD", (signer("registrar").public_key,)
                )
            ]
        operator = self.authors["operator"]
        submission = genesis(
            self.origin,
            operator.signer,
            specs,
            self.policy,
            time=self.now() if time is None else time,
        )
        operator.n = max(operator.n, submission.envelope.statement.n)
        return submission

    def register_actor(
        self,
        actor_id: str,
        roles: Sequence[str],
        *,
        by: str = "registrar",
        country: str = "CD",
        keys: Sequence[bytes] | None = None,
        private: Mapping[str, Any] | None = None,
    ) -> Submission:
        """actor.register; the new actor's :class:`Author` signs with the first of ``keys``."""
        public_keys = list(keys) if keys is not None else [signer(actor_id).public_key]
        self.author(actor_id)
        body = {
            "id": actor_id,
            "name": f"{actor_id} (test)",
            "roles": list(roles),
            "country": country,
            "keys": [b64encode(k) for k in public_keys],
        }
        return self.sign(by, "actor.register", body, private=private)

    def add_key(self, actor_id: str, public_key: bytes, *, by: str | None = None) -> Submission:
        body = {"actor": actor_id, "key": b64encode(public_key)}
        return self.sign(by or actor_id, "actor.key.add", body)

    def revoke_key(
        self, actor_id: str, key_id: str, *, by: str | None = None, reason: str = "lost phone"
    ) -> Submission:
        body = {"actor": actor_id, "key": key_id, "effective": self.now(), "reason": reason}
        return self.sign(by or actor_id, "actor.key.revoke", body)

    def register_site(
        self,
        site_id: str,
        cooperative: str,
        *,
        minerals: Sequence[str] = ("tin", "tantalum"),
        capacity_g_month: int = 10_000_000,
        by: str = "registrar",
        status: str = "green",
        licence_expires: str = "2030-12-31",
        time: datetime | str | None = None,
    ) -> Submission:
        body = {
            "id": site_id,
            "name": f"{site_id} (test)",
            "country": "CD",
            "region": "South Kivu",
            "location": {"lat_e6": -2_500_000, "lon_e6": 28_860_000},
            "minerals": list(minerals),
            "licence": {"number": f"PE-{site_id}", "expires": licence_expires},
            "cooperative": cooperative,
            "capacity_g_month": capacity_g_month,
            "inspection_status": status,
        }
        return self.sign(by, "site.register", body, time=time)

    def register_miner(
        self,
        miner_id: str,
        cooperative: str,
        site: str,
        *,
        by: str | None = None,
        private: Mapping[str, Any] | None = None,
    ) -> Submission:
        body = {"id": miner_id, "cooperative": cooperative, "site": site}
        return self.sign(by or cooperative, "miner.register", body, private=private)

    def populate(self) -> None:
        """Genesis, the :data:`CAST`, site-a (coop-a: tin, tantalum), site-b (coop-b: gold),
        and miner-1 at site-a. Needs ``submit``."""
        self.run(self.genesis())
        for actor_id, roles in CAST.items():
            self.run(self.register_actor(actor_id, roles))
        self.run(self.register_site("site-a", "coop-a"))
        self.run(
            self.register_site(
                "site-b", "coop-b", minerals=("gold",), capacity_g_month=50_000, status="yellow"
            )
        )
        self.run(self.register_miner("miner-1", "coop-a", "site-a"))

    # -- custody ----------------------------------------------------------------------------
    def register_lot(
        self,
        lot: str,
        *,
        by: str = "coop-a",
        site: str = "site-a",
        mineral: str = "tin",
        form: str = "ore",
        mass_g: int = 100_000,
        grade_ppm: int = 500_000,
        tags: Sequence[str] | None = None,
        extracted: str = "2026-01-10",
        private: Mapping[str, Any] | None = None,
        time: datetime | str | None = None,
    ) -> Submission:
        body = {
            "lot": lot,
            "site": site,
            "mineral": mineral,
            "form": form,
            "mass_g": mass_g,
            "grade_ppm": grade_ppm,
            "tags": list(tags) if tags is not None else [f"T-{lot}"],
            "extracted": extracted,
        }
        return self.sign(by, "lot.register", body, private=private, time=time)

    def dispatch(
        self,
        lot: str,
        *,
        by: str,
        to: str,
        mass_g: int | None = None,
        tags: Sequence[str] | None = None,
        private: Mapping[str, Any] | None = None,
    ) -> Submission:
        """lot.dispatch; mass and tags default to what the world knows of the lot."""
        known = self.lots.get(lot, LotInfo(1, ()))
        body = {
            "lot": lot,
            "to": to,
            "mass_g": known.mass_g if mass_g is None else mass_g,
            "tags": list(known.tags if tags is None else tags),
        }
        return self.sign(by, "lot.dispatch", body, private=private)

    def receive(self, lot: str, *, by: str, mass_g: int | None = None) -> Submission:
        known = self.lots.get(lot, LotInfo(1, ()))
        body = {"lot": lot, "mass_g": known.mass_g if mass_g is None else mass_g}
        return self.sign(by, "lot.receive", body)

    def transfer(self, lot: str, *, by: str, to: str, mass_g: int | None = None) -> None:
        """Dispatch and receive (runs both)."""
        self.run(self.dispatch(lot, by=by, to=to))
        self.run(self.receive(lot, by=to, mass_g=mass_g))

    def split(
        self,
        lot: str,
        outputs: Sequence[tuple[str, int] | tuple[str, int, Sequence[str]]],
        *,
        by: str,
    ) -> Submission:
        """lot.split; each output is ``(lot, mass_g)`` or ``(lot, mass_g, tags)``."""
        body = {
            "lot": lot,
            "outputs": [
                {
                    "lot": out[0],
                    "mass_g": out[1],
                    "tags": list(out[2]) if len(out) > 2 else [f"T-{out[0]}"],
                }
                for out in outputs
            ],
        }
        return self.sign(by, "lot.split", body)

    def merge(
        self,
        inputs: Sequence[str],
        output: str,
        *,
        by: str,
        mass_g: int,
        grade_ppm: int,
        tags: Sequence[str] | None = None,
    ) -> Submission:
        body = {
            "inputs": list(inputs),
            "output": {
                "lot": output,
                "mass_g": mass_g,
                "grade_ppm": grade_ppm,
                "tags": list(tags) if tags is not None else [f"T-{output}"],
            },
        }
        return self.sign(by, "lot.merge", body)

    def process(
        self, inputs: Sequence[str], outputs: Sequence[Mapping[str, Any]], *, by: str
    ) -> Submission:
        """lot.process; each output needs lot, mineral, mass_g, grade_ppm (form, tags default)."""
        body = {
            "inputs": list(inputs),
            "outputs": [
                {
                    "lot": o["lot"],
                    "mineral": o["mineral"],
                    "form": o.get("form", "concentrate"),
                    "mass_g": o["mass_g"],
                    "grade_ppm": o["grade_ppm"],
                    "tags": list(o.get("tags", [f"T-{o['lot']}"])),
                }
                for o in outputs
            ],
        }
        return self.sign(by, "lot.process", body)

    def export(
        self,
        lot: str,
        *,
        by: str = "exporter-a",
        certificate: str = "ICGLR-CD-0001",
        destination: str = "MY",
        private: Mapping[str, Any] | None = None,
    ) -> Submission:
        body = {"lot": lot, "certificate": certificate, "destination": destination}
        return self.sign(by, "lot.export", body, private=private)

    def attest(
        self,
        attestation_id: str,
        *,
        by: str = "auditor-a",
        claim: str = "child_labour_free",
        kind: str = "site",
        subject: str = "site-a",
        result: str | None = None,
        valid_from: str = "2026-01-01",
        valid_until: str = "2026-12-31",
        evidence: Sequence[str] = (),
        vocabulary: int | None = None,
        fields: Mapping[str, Any] | None = None,
        time: datetime | str | None = None,
    ) -> Submission:
        """attestation; ``vocabulary`` and ``fields`` give the claim's own fields (version 1)."""
        body: dict[str, Any] = {
            "id": attestation_id,
            "claim": claim,
            "subject": {"kind": kind, "id": subject},
            "valid_from": valid_from,
            "valid_until": valid_until,
            "evidence": list(evidence),
        }
        if result is not None:
            body["result"] = result
        if vocabulary is not None:
            body["vocabulary"] = vocabulary
        if fields is not None:
            body["fields"] = dict(fields)
        return self.sign(by, "attestation", body, time=time)

    def inspect(
        self,
        attestation_id: str,
        result: str,
        *,
        site: str = "site-a",
        by: str = "inspector-a",
        date: str = "2026-01-10",
        valid_from: str | None = None,
        valid_until: str = "2026-12-31",
        time: datetime | str | None = None,
    ) -> Submission:
        """A vocabulary-1 ``site.inspection`` of ``site`` with ``result``, made on ``date``."""
        fields = {"inspector": "A. Inspector", "agency": "CEEC South Kivu", "date": date}
        return self.attest(
            attestation_id,
            by=by,
            claim="site.inspection",
            subject=site,
            result=result,
            valid_from=valid_from or date,
            valid_until=valid_until,
            vocabulary=1,
            fields=fields,
            time=time,
        )

    def revoke_attestation(
        self, attestation_id: str, *, by: str = "auditor-a", reason: str = "issued in error"
    ) -> Submission:
        body = {"attestation": attestation_id, "reason": reason}
        return self.sign(by, "attestation.revoke", body)

    # -- due diligence --------------------------------------------------------------------
    def report_incident(
        self,
        incident_id: str,
        *,
        by: str = "trader-a",
        kind: str = "lot",
        subject: str = "lot-1",
        category: str = "serious_abuses",
        severity: str = "high",
        observed: str = "2026-01-14",
        summary: str | None = None,
        private: Mapping[str, Any] | None = None,
    ) -> Submission:
        """incident; ``private`` may hold ``details`` and ``witnesses`` (disclosures)."""
        body: dict[str, Any] = {
            "id": incident_id,
            "category": category,
            "severity": severity,
            "subject": {"kind": kind, "id": subject},
            "observed": observed,
        }
        if summary is not None:
            body["summary"] = summary
        return self.sign(by, "incident", body, private=private)

    def resolve_incident(
        self, incident_id: str, *, by: str = "auditor-a", resolution: str = "verified and remedied"
    ) -> Submission:
        body = {"incident": incident_id, "resolution": resolution}
        return self.sign(by, "incident.resolve", body)

    def split_and_merge(self) -> None:
        """lot-1 and lot-2 registered at site-a and sent to trader-a, who splits lot-1 into
        lot-1a (60 kg) and lot-1b (40 kg) and merges lot-1a with lot-2 into lot-m: the DAG the
        taint tests walk."""
        self.run(self.register_lot("lot-1"))
        self.run(self.register_lot("lot-2"))
        self.transfer("lot-1", by="coop-a", to="trader-a")
        self.transfer("lot-2", by="coop-a", to="trader-a")
        self.run(self.split("lot-1", [("lot-1a", 60_000), ("lot-1b", 40_000)], by="trader-a"))
        self.run(
            self.merge(["lot-1a", "lot-2"], "lot-m", by="trader-a", mass_g=160_000,
                       grade_ppm=500_000)
        )  # fmt: skip


class MemoryLog:
    """A log over the pure core: entries, signatures, disclosures and rules on a MemoryState.

    Mirrors the sequencer (``ledger.custody.log``) without a database: the rules run against an
    :class:`~ledger.state.OverlayState` whose staged writes are kept on success and dropped on
    rejection, so a rejected statement leaves no trace.
    """

    def __init__(self, *, logged: datetime = LOGGED) -> None:
        self.state: OverlayState = MemoryState()
        self.entries: list[Entry] = []
        self.logged = format_time(logged)

    @property
    def size(self) -> int:
        return len(self.entries)

    def make_entry(self, submission: Submission, logged: str | None = None) -> Entry:
        prev = self.entries[-1].leaf_hash if self.entries else None
        return entries.make(self.size, prev, logged or self.logged, submission.envelope)

    def append(self, submission: Submission, *, logged: str | None = None) -> Entry:
        """Check and apply ``submission``; raise its :class:`LedgerError` if it is rejected."""
        entry = self.make_entry(submission, logged)
        statement = submission.envelope.statement
        try:
            public_key = rules.signing_key(self.state, statement)
            submission.envelope.verify(public_key)
            allowed = PRIVATE_FIELDS.get(statement.type, frozenset())
            disclosures.match(statement.sd, list(submission.disclosures), allowed)
            if len(submission.disclosures) != len(statement.sd):
                raise ValidationError("a disclosure is missing.", code="disclosure_missing")
            rules.apply(self.state, statement, Context(entry.seq, entry.leaf_hash, entry.logged))
        except LedgerError:
            self.state.drop()
            raise
        self.state.keep()
        self.entries.append(entry)
        return entry

    def submit(self, submission: Submission) -> bytes:
        """The :data:`Submit` callable for :class:`World`."""
        return self.append(submission).leaf_hash

    def flags(self) -> list[Any]:
        return self.state.appended("flag")

    def edges(self) -> list[tuple[str, str, int]]:
        return self.state.appended("edge")


def populated() -> tuple[World, MemoryLog]:
    """A fresh MemoryLog and a World populated on it (see :meth:`World.populate`)."""
    log = MemoryLog()
    world = World(submit=log.submit)
    world.populate()
    return world, log
