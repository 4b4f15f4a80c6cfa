"""Figure 1: the raw single-core Ed25519 verification rate, and the ledger's own verifier.

The raw rate is ``cryptography``'s ``Ed25519PublicKey.verify`` on a preloaded key over the bytes
of a typical statement (a ``lot.dispatch`` with one private field, about 450 bytes). The second
line verifies the same envelope through :meth:`ledger.statements.Envelope.verify` with the
ledger's cached :class:`~ledger.crypto.Verifier`: its ratio shows what the wrapper costs.
"""

from __future__ import annotations

import time

from bench.context import Context
from bench.measure import Figure, median, ratio_figure
from bench.workload import sample_statement, signer
from ledger.crypto import Verifier

WINDOWS = 9


def run(ctx: Context) -> list[Figure]:
    raws = [ctx.raw.rate(0.25) for _ in range(WINDOWS)]
    raw = Figure(
        "verify.raw.ed25519",
        median(raws),
        "verify/s",
        extra={"message_bytes": len(ctx.raw.message)},
        samples=WINDOWS,
    )
    wrapped, paired = [], []
    for _ in range(WINDOWS):
        paired.append(ctx.raw.rate(0.25))
        wrapped.append(_ledger_rate(0.25))
    return [
        raw,
        ratio_figure(
            "verify.ledger.envelope", wrapped, paired, unit="verify/s", raw_unit="verify/s"
        ),
    ]


def _ledger_rate(seconds: float) -> float:
    submission = sample_statement()
    public_key = signer(submission.envelope.statement.actor).public_key
    verifier = Verifier()
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(25):
            submission.envelope.verify(public_key, verifier)
        count += 25
    return count / (time.perf_counter() - start)
