"""Helpers of the provenance tests."""

from __future__ import annotations

from factories import signer
from ledgers import DATA_KEY

from ledger.sealing import Sealer


def app_config(db_url: str, **overrides: object) -> dict[str, object]:
    """A test app on ``db_url`` with the fixed test keys (as tests/api's helper)."""
    return {"DATABASE_URL": db_url, "TESTING": True, "OPERATOR_SIGNER": signer("operator"),
            "SEALER": Sealer(DATA_KEY), **overrides}  # fmt: skip
