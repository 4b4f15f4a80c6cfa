"""The benchmark workload: a registry, then lots moving from mine to exporter, signed in waves.

A benchmark ledger has a fixed cast (cooperatives each operating one site, traders, exporters),
registered in one setup batch. After that every lot goes through five statements::

    lot.register (cooperative) -> lot.dispatch (to a trader, private price) -> lot.receive
    -> lot.dispatch (to an exporter, private price) -> lot.receive

A statement's ``after`` must name the lot's current head, which is the leaf hash the log returns
for the previous statement, so statements are signed in *waves*: a wave holds one step of every
lot that is ready (its previous step accepted) and fills a fifth of its size with new
registrations. From the fifth wave on, a wave of 1000 is 200 of each of the five kinds.

Signing is the client's cost: the benchmarks sign a wave before they start the clock. Signing is
spread over a process pool (about 280 us a statement on one core); specs are plain tuples, the
workers rebuild each actor's :class:`~ledger.builder.Author` from its fixed seed.

This module never touches a database; :mod:`bench.ledgers` appends what it signs.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.builder import Author, RegistrarSpec, genesis
from ledger.canonical import b64encode
from ledger.crypto import Ed25519Signer
from ledger.custody.log import Result
from ledger.sealing import Sealer
from ledger.state import DEFAULT_POLICY
from ledger.statements import Submission, format_time

ORIGIN = "bench.asm-ledger.example/ledger"
COOPERATIVES, TRADERS, EXPORTERS = 100, 20, 5
SETUP_ENTRIES = 1 + COOPERATIVES + TRADERS + EXPORTERS + COOPERATIVES  # genesis, actors, sites
CAPACITY_G_MONTH = 10**12  # never the limiting rule: the benchmark measures throughput
LAST_STAGE = 5  # register, dispatch, receive, dispatch, receive

# (actor, n, type, body, time, after, private): everything a worker needs to sign a statement.
Spec = tuple[str, int, str, dict[str, Any], str, dict[str, str], dict[str, Any]]


def seed(name: str) -> bytes:
    """The fixed Ed25519 seed of a benchmark actor (the same in every run)."""
    return hashlib.sha256(b"asm-ledger/bench/seed\n" + name.encode()).digest()


def signer(name: str) -> Ed25519Signer:
    return Ed25519Signer.from_seed(seed(name))


def sealer() -> Sealer:
    """The data key that benchmark ledgers store private fields under."""
    return Sealer(hashlib.sha256(b"asm-ledger/bench/data-key").digest())


def operator() -> Ed25519Signer:
    return signer("operator")


def now() -> str:
    """Statement time: the present, to the second (never ahead of the log's clock)."""
    return format_time(datetime.now(UTC).replace(microsecond=0))


@dataclass
class LotState:
    """A lot of the workload: its number, the step it is at, and its head once accepted."""

    number: int
    stage: int = 0
    head: bytes | None = None

    @property
    def id(self) -> str:
        return f"L{self.number:08d}"

    @property
    def cooperative(self) -> str:
        return f"coop-{self.number % COOPERATIVES:03d}"

    @property
    def trader(self) -> str:
        return f"trader-{self.number % TRADERS:02d}"

    @property
    def exporter(self) -> str:
        return f"exporter-{self.number % EXPORTERS}"

    @property
    def mass_g(self) -> int:
        return 50_000 + (self.number * 7919) % 200_000

    @property
    def received_mass_g(self) -> int:
        """Every 50th lot weighs 2% light on its first receipt: the ledger raises a flag."""
        return self.mass_g * 98 // 100 if self.number % 50 == 0 else self.mass_g


@dataclass
class Workload:
    """Signs the setup and the waves of a benchmark ledger, and learns heads from the results."""

    pool: ProcessPoolExecutor | None = None
    counters: dict[str, int] = field(default_factory=dict)
    ready: deque[LotState] = field(default_factory=deque)
    next_lot: int = 0
    _signed: list[LotState | None] = field(default_factory=list)

    def setup(self) -> list[Submission]:
        """Genesis, the cast and one site per cooperative: :data:`SETUP_ENTRIES` statements."""
        registrar = RegistrarSpec(
            "registrar", "Bench registrar", "CD", (signer("registrar").public_key,)
        )
        first = genesis(ORIGIN, operator(), [registrar], DEFAULT_POLICY.to_json(), time=now())
        self.counters["operator"] = first.envelope.statement.n
        specs = [self._spec("registrar", "actor.register", actor_body(a, r)) for a, r in _cast()]
        specs += [
            self._spec("registrar", "site.register", _site_body(i)) for i in range(COOPERATIVES)
        ]
        self._signed = [None] * (1 + len(specs))
        return [first, *self._sign(specs)]

    def wave(self, size: int) -> list[Submission]:
        """Sign the next wave of at most ``size`` statements (a fifth of them registrations)."""
        registrations = max(1, size // LAST_STAGE)
        advancing = min(len(self.ready), size - registrations)
        lots = [self.ready.popleft() for _ in range(advancing)]
        lots += [LotState(self.next_lot + i) for i in range(registrations)]
        self.next_lot += registrations
        self._signed = list(lots)
        return self._sign([self._step(lot) for lot in lots])

    def accept(self, results: Sequence[Result]) -> None:
        """Learn the heads of the last signed batch; every statement must have been accepted."""
        for lot, result in zip(self._signed, results, strict=True):
            if result.leaf_hash is None or result.status != "accepted":
                raise RuntimeError(f"the ledger refused a benchmark statement: {result.error}")
            if lot is not None:
                lot.stage += 1
                lot.head = result.leaf_hash
                if lot.stage < LAST_STAGE:
                    self.ready.append(lot)
        self._signed = []

    def to_json(self) -> dict[str, Any]:
        """Where the workload stands (between batches), to continue it on a copy of its ledger."""
        if self._signed:
            raise RuntimeError("a signed batch has not been accepted yet")
        return {
            "counters": self.counters,
            "next_lot": self.next_lot,
            "ready": [[lot.number, lot.stage, (lot.head or b"").hex()] for lot in self.ready],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], pool: ProcessPoolExecutor | None = None) -> Workload:
        ready = deque(
            LotState(number, stage, bytes.fromhex(head) or None)
            for number, stage, head in data["ready"]
        )
        return cls(pool, dict(data["counters"]), ready, int(data["next_lot"]))

    def sign_one(
        self, actor: str, kind: str, body: dict[str, Any], private: dict[str, Any] | None = None
    ) -> Submission:
        """A statement outside the lot pipeline (no ``after``), under the actor's next counter."""
        return sign_spec(self._spec(actor, kind, body, None, private))

    # -- signing ------------------------------------------------------------------------------
    def _step(self, lot: LotState) -> Spec:
        after = {} if lot.head is None else {f"lot:{lot.id}": lot.head.hex()}
        if lot.stage == 0:
            return self._spec(lot.cooperative, "lot.register", _register_body(lot))
        if lot.stage in (1, 3):
            sender, to = (
                (lot.cooperative, lot.trader) if lot.stage == 1 else (lot.trader, lot.exporter)
            )
            body = {"lot": lot.id, "to": to, "mass_g": _held_mass(lot), "tags": [f"T-{lot.id}"]}
            price = {"price": {"usd_cents": lot.mass_g * (3 + lot.stage)}}
            return self._spec(sender, "lot.dispatch", body, after, price)
        receiver = lot.trader if lot.stage == 2 else lot.exporter
        body = {"lot": lot.id, "mass_g": lot.received_mass_g}
        return self._spec(receiver, "lot.receive", body, after)

    def _spec(
        self,
        actor: str,
        kind: str,
        body: dict[str, Any],
        after: dict[str, str] | None = None,
        private: dict[str, Any] | None = None,
    ) -> Spec:
        self.counters[actor] = self.counters.get(actor, 0) + 1
        return (actor, self.counters[actor], kind, body, now(), after or {}, private or {})

    def _sign(self, specs: list[Spec]) -> list[Submission]:
        if self.pool is None or len(specs) < 64:
            return [sign_spec(spec) for spec in specs]
        return list(self.pool.map(sign_spec, specs, chunksize=64))


def _held_mass(lot: LotState) -> int:
    return lot.mass_g if lot.stage == 1 else lot.received_mass_g


def _cast() -> list[tuple[str, str]]:
    return (
        [(f"coop-{i:03d}", "cooperative") for i in range(COOPERATIVES)]
        + [(f"trader-{i:02d}", "trader") for i in range(TRADERS)]
        + [(f"exporter-{i}", "exporter") for i in range(EXPORTERS)]
    )


def actor_body(actor: str, role: str) -> dict[str, Any]:
    return {
        "id": actor,
        "name": f"{actor} (benchmark)",
        "roles": [role],
        "country": "CD",
        "keys": [b64encode(signer(actor).public_key)],
    }


def _site_body(index: int) -> dict[str, Any]:
    return {
        "id": f"site-{index:03d}",
        "name": f"Site {index} (benchmark)",
        "country": "CD",
        "region": "South Kivu",
        "location": {"lat_e6": -2_500_000 + index * 1000, "lon_e6": 28_860_000},
        "minerals": ["tin", "tantalum", "tungsten"],
        "licence": {"number": f"PE-{index:05d}", "expires": "2035-12-31"},
        "cooperative": f"coop-{index:03d}",
        "capacity_g_month": CAPACITY_G_MONTH,
        "inspection_status": "green",
    }


def _register_body(lot: LotState) -> dict[str, Any]:
    extracted = date(2024, 1, 1) + timedelta(days=lot.number % 700)
    return {
        "lot": lot.id,
        "site": f"site-{lot.number % COOPERATIVES:03d}",
        "mineral": ("tin", "tantalum", "tungsten")[lot.number % 3],
        "form": "ore",
        "mass_g": lot.mass_g,
        "grade_ppm": 200_000 + (lot.number * 31) % 500_000,
        "tags": [f"T-{lot.id}"],
        "extracted": extracted.isoformat(),
    }


_AUTHORS: dict[str, Author] = {}


def sign_spec(spec: Spec) -> Submission:
    """Sign one spec (in a pool worker or in-process) with the actor's fixed key."""
    actor, n, kind, body, time, after, private = spec
    author = _AUTHORS.get(actor)
    if author is None:
        author = _AUTHORS[actor] = Author(ORIGIN, actor, signer(actor))
    author.n = n - 1
    return author.sign(kind, body, time=time, after=after, private=private)


def signing_pool(workers: int = 2) -> ProcessPoolExecutor:
    """A pool for :meth:`Workload._sign`; idle (no CPU) whenever a benchmark's clock runs."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))


def sample_statement() -> Submission:
    """A typical statement: a lot.dispatch with a private price (the raw verifier's message)."""
    lot = LotState(12345, stage=1, head=hashlib.sha256(b"head").digest())
    workload = Workload(counters={"coop-045": 41})
    return sign_spec(workload._step(lot))
