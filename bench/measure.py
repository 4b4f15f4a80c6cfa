"""Raw limits measured in the same run, and figures printed next to them.

These machines are shared and noisy, so a benchmark never compares its figure with a number
measured some other day: it measures the raw limit (one core verifying Ed25519 signatures, or
the disk committing tiny transactions) right beside its own timed work, and reports medians of
repeated samples and the ratio of the two.

A :class:`Figure` is one printed line and one JSON record: name, median, unit, the same-run raw
limit, the ratio, and the target with PASS/FAIL (or REPORT when the figure has no target).
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, text

from ledger.statements import SIGNATURE_CONTEXT, Submission


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


@dataclass
class Figure:
    """One measured figure, its same-run raw limit and the target it is held to."""

    name: str
    value: float
    unit: str
    raw: float | None = None
    raw_unit: str = ""
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None  # None: reported, no target
    samples: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return "REPORT" if self.passed is None else ("PASS" if self.passed else "FAIL")

    def line(self) -> str:
        raw = "" if self.raw is None else f"raw {_num(self.raw)} {self.raw_unit}"
        ratio = "" if self.ratio is None else f"ratio {self.ratio:.2f}"
        target = f"target {self.target}" if self.target else ""
        return (
            f"{self.name:<38} {_num(self.value):>10} {self.unit:<13} {raw:<32} {ratio:<12} "
            f"{target:<26} {self.verdict}  (n={self.samples})"
        )

    def record(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}


def size_name(entries: int) -> str:
    """10000 -> "10k", 1000000 -> "1M"."""
    if entries % 1_000_000 == 0:
        return f"{entries // 1_000_000}M"
    return f"{entries // 1000}k" if entries % 1000 == 0 else str(entries)


def _num(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.4f}"


class RawVerify:
    """One core verifying one Ed25519 signature over statement-sized bytes, key preloaded.

    This is the floor under every figure that verifies signatures: ``cryptography`` (OpenSSL)
    with nothing of the ledger around it.
    """

    def __init__(self, sample: Submission) -> None:
        envelope = sample.envelope
        self.message = SIGNATURE_CONTEXT + envelope.statement_bytes
        self.signature = envelope.sig
        self.key = Ed25519PublicKey.from_public_bytes(_public_key_of(sample))
        self.key.verify(self.signature, self.message)  # a wrong sample would time exceptions

    def rate(self, seconds: float = 0.2) -> float:
        """Verifications per second over a window of about ``seconds``."""
        verify, signature, message = self.key.verify, self.signature, self.message
        count = 0
        start = time.perf_counter()
        deadline = start + seconds
        while True:
            for _ in range(25):
                verify(signature, message)
            count += 25
            now = time.perf_counter()
            if now >= deadline:
                return count / (now - start)

    def median_rate(self, windows: int = 5, seconds: float = 0.2) -> float:
        return median([self.rate(seconds) for _ in range(windows)])


def _public_key_of(sample: Submission) -> bytes:
    from bench.workload import signer

    return signer(sample.envelope.statement.actor).public_key


class RawSqliteCommit:
    """Durable one-row commits per second: SQLite, WAL, ``synchronous=FULL``, on this disk.

    The floor under a single-statement append on SQLite, which must fsync once per statement.
    """

    def __init__(self, path: Path) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        self.blob = os.urandom(700)  # about one log entry

    def rate(self, seconds: float = 0.2) -> float:
        count = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT INTO raw (data) VALUES (?)", (self.blob,))
            self.conn.execute("COMMIT")
            count += 1
        return count / (time.perf_counter() - start)

    def close(self) -> None:
        self.conn.close()


class RawPostgresCommit:
    """Durable one-row commits per second on PostgreSQL (``synchronous_commit`` on)."""

    def __init__(self, engine: Engine) -> None:
        self.conn = engine.connect()
        with self.conn.begin():
            self.conn.execute(text("CREATE TABLE bench_raw (id serial PRIMARY KEY, data bytea)"))
        self.blob = os.urandom(700)

    def rate(self, seconds: float = 0.2) -> float:
        count = 0
        insert = text("INSERT INTO bench_raw (data) VALUES (:data)")
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            with self.conn.begin():
                self.conn.execute(insert, {"data": self.blob})
            count += 1
        return count / (time.perf_counter() - start)

    def close(self) -> None:
        self.conn.close()


def ratio_figure(
    name: str,
    values: Sequence[float],
    raws: Sequence[float],
    *,
    unit: str,
    raw_unit: str,
    minimum: float | None = None,
    extra: dict[str, Any] | None = None,
) -> Figure:
    """A figure held to ``ratio >= minimum``; the ratio is the median of same-moment pairs."""
    ratio = median([v / r for v, r in zip(values, raws, strict=True)])
    return Figure(
        name,
        median(values),
        unit,
        raw=median(raws),
        raw_unit=raw_unit,
        ratio=ratio,
        target="" if minimum is None else f">= {minimum:g} x raw",
        passed=None if minimum is None else ratio >= minimum,
        samples=len(values),
        extra={"values": list(values), "raws": list(raws), **(extra or {})},
    )
