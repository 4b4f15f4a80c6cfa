"""The demo supply chain (``ledger.demo``) loaded into a database :class:`Ledger`, for tests."""

from __future__ import annotations

from factories import signer
from ledgers import make_ledger
from sqlalchemy import Engine

from ledger import demo
from ledger.builder import Author, RegistrarSpec, genesis
from ledger.custody.log import Ledger
from ledger.state import DEFAULT_POLICY

DEMO_ORIGIN = "demo.asm-ledger.example/ledger"


def load_demo(engine: Engine) -> tuple[Ledger, demo.DemoSummary]:
    """Genesis (the test operator and registrar keys), then the demo with seed 1."""
    ledger = make_ledger(engine)
    registrar = RegistrarSpec(
        "registrar", "Demo registrar", "CD", (signer("registrar").public_key,)
    )
    first = genesis(
        DEMO_ORIGIN, signer("operator"), [registrar], DEFAULT_POLICY.to_json(),
        time="2026-01-01T00:00:00Z",
    )  # fmt: skip
    assert ledger.append(first).status == "accepted"
    author = Author(DEMO_ORIGIN, "registrar", signer("registrar"))
    return ledger, demo.run_demo(ledger.append, author, seed=1)
