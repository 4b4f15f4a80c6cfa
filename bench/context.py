"""What every benchmark is handed: the scale, a signing pool, the raw verifier, cached ledgers."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import RawVerify


@dataclass(frozen=True)
class Scale:
    """Sizes and repetitions of a run: the full one (``make bench``) or ``--quick``."""

    name: str
    small: int  # ledger entries: the inclusion-proof baseline
    medium: int  # the audit's memory baseline
    large: int  # the big ledger: audit and inclusion proofs
    batch_waves: int  # timed batches of 1000
    single_rounds: int  # rounds of the three single-append variants
    single_chunk: int  # statements per variant per round
    audit_runs: tuple[int, int]  # audits of the medium and of the large ledger
    proof_samples: int  # inclusion proofs timed per ledger ...
    proof_seconds: float  # ... unless this time runs out first

    @property
    def sizes(self) -> list[int]:
        """The cached ledgers a run uses; built together, in one pass, when missing."""
        return [self.small, self.medium, self.large]


FULL = Scale(
    "full",
    small=10_000,
    medium=100_000,
    large=1_000_000,
    batch_waves=25,
    single_rounds=7,
    single_chunk=300,
    audit_runs=(2, 1),
    proof_samples=4000,
    proof_seconds=150.0,
)
QUICK = Scale(
    "quick",
    small=1_000,
    medium=2_000,
    large=10_000,
    batch_waves=5,
    single_rounds=3,
    single_chunk=50,
    audit_runs=(2, 2),
    proof_samples=1000,
    proof_seconds=15.0,
)


@dataclass
class Context:
    scale: Scale
    pool: ProcessPoolExecutor
    raw: RawVerify
    ledgers: dict[int, Path] = field(default_factory=dict)  # cached ledgers by size, if built
