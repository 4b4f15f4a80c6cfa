"""The grievance store's guard for the generic submission routes (pure: no database)."""

from __future__ import annotations

import pytest
from factories import World

from ledger.custody import grievances
from ledger.errors import ValidationError


def test_generic_routes_can_refuse_a_converting_incident() -> None:
    """The guard the generic submission routes are to call before appending."""
    world = World()
    body = {"id": "inc-1", "category": "serious_abuses", "severity": "low",
            "subject": {"kind": "site", "id": "site-1"}, "observed": "2026-01-14"}  # fmt: skip
    plain = world.sign("registrar", "incident", body).envelope.statement
    grievances.refuse_elsewhere(plain)  # an incident without a grievance passes
    converting = world.sign("registrar", "incident", {**body, "grievance": "grv-1"})
    with pytest.raises(ValidationError, match="POST /v1/grievances/") as raised:
        grievances.refuse_elsewhere(converting.envelope.statement)
    assert raised.value.code == "grievance_route"
