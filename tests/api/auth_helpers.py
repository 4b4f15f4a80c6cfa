"""Helpers of the authorisation and privacy tests: callers with tokens, and a world with secrets.

A *caller* is a name for what a request carries: ``none`` (no token), ``expired``, ``revoked``
(tokens of an actor the test names), ``other`` (a token of an actor with no part in anything),
or a role from :data:`ROLE_ACTORS` (a token of the actor standing for that role).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from factories import World
from flask import Flask
from sqlalchemy import Engine, select

from api import state
from ledger.bodies import PRIVATE_FIELDS
from ledger.custody.models import LogEntryRow
from ledger.registry import tokens

# One actor per role (World.populate registers all but the regulator).
ROLE_ACTORS = {
    "cooperative": "coop-a",
    "trader": "trader-a",
    "exporter": "exporter-a",
    "processor": "smelter-a",
    "refiner": "refiner-a",
    "buyer": "buyer-a",
    "auditor": "auditor-a",
    "inspector": "inspector-a",
    "registrar": "registrar",
    "regulator": "regulator-a",
}
OTHER = "trader-b"  # a trader with no part in any scenario of these tests
UNAUTHENTICATED = ("none", "expired", "revoked")
CALLERS = (*UNAUTHENTICATED, "other", *sorted(ROLE_ACTORS))


def add_regulator(world: World) -> None:
    world.run(world.register_actor("regulator-a", ["regulator"]))


@dataclass
class Tokens:
    """Tokens of one app's database, issued on first use."""

    app: Flask
    issued: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def engine(self) -> Any:
        return self.app.extensions[state.EXTENSION].engine

    def token(self, actor: str, kind: str = "active") -> str:
        if (actor, kind) not in self.issued:
            self.issued[actor, kind] = self._issue(actor, kind)
        return self.issued[actor, kind]

    def _issue(self, actor: str, kind: str) -> str:
        if kind == "expired":
            long_ago = datetime.now(UTC) - timedelta(days=91)
            return tokens.issue(self.engine, actor, now=long_ago)[0]
        token, info = tokens.issue(self.engine, actor, label=kind)
        if kind == "revoked":
            tokens.revoke(self.engine, info.id)
        return token

    def headers(self, caller: str, owner: str) -> dict[str, str]:
        """The headers of ``caller``; ``owner`` holds the expired and revoked tokens."""
        if caller == "none":
            return {}
        if caller in ("expired", "revoked"):
            token = self.token(owner, caller)
        elif caller == "other":
            token = self.token(OTHER)
        else:
            token = self.token(ROLE_ACTORS[caller])
        return {"Authorization": f"Bearer {token}"}


# -- a supply chain with every kind of private field --------------------------------------------
# Distinctive values, one per private field of every type; none can occur by chance in a
# response (no short numbers: hex digests and base64 are full of digits).
CANARIES: dict[str, dict[str, Any]] = {
    "actor.register": {
        "contact_name": "CANARY Contact Mwamini",
        "email": "canary.contact.q7@example.org",
        "phone": "CANARY-PHONE-243-990-11",
        "address": "CANARY Avenue du Lac 17, Bukavu",
    },
    "miner.register": {
        "name": "CANARY Miner Bahati",
        "national_id": "CANARY-NID-CD-7301",
        "phone": "CANARY-PHONE-243-811-22",
        "sex": "CANARY-SEX-F",
        "birth_year": "CANARY-BIRTH-1987",
    },
    "lot.register": {"price": 73_911_135_791, "miners": ["canary-digger-x9", "canary-digger-y4"]},
    "lot.dispatch": {"price": 73_911_135_792, "invoice": "CANARY-INV-DISPATCH-4471"},
    "lot.receive": {"invoice": "CANARY-INV-RECEIPT-5582"},
    "lot.export": {"price": 73_911_135_793, "invoice": "CANARY-INV-EXPORT-6693"},
    "attestation": {"report": "CANARY report: interviews at the pit, no minors seen."},
    "incident": {
        "details": "CANARY incident: soldiers tax the porters at the ford.",
        "witnesses": ["CANARY-WITNESS-Porter-Amani"],
    },
}
assert {kind: set(fields) for kind, fields in CANARIES.items()} == {
    kind: set(names) for kind, names in PRIVATE_FIELDS.items()
}


def canary_texts() -> list[str]:
    """Every canary as the text it would have in a response."""
    found: list[str] = []
    for fields_ in CANARIES.values():
        for value in fields_.values():
            found.extend(value if isinstance(value, list) else [str(value)])
    return found


def seed_secrets(world: World, engine: Engine) -> dict[str, int]:
    """Register coop-c and miner-9, move lot-1 from coop-a to export, attest site-a: each step
    with its private fields set to the canaries. Returns the seq of each step by name."""
    steps = [
        ("actor", lambda: world.register_actor("coop-c", ["cooperative"],
                                               private=CANARIES["actor.register"])),
        ("miner", lambda: world.register_miner("miner-9", "coop-a", "site-a",
                                               private=CANARIES["miner.register"])),
        ("register", lambda: world.register_lot("lot-1", private=CANARIES["lot.register"])),
        ("dispatch1", lambda: _dispatch(world, "coop-a", "trader-a")),
        ("receive1", lambda: _receive(world, "trader-a")),
        ("dispatch2", lambda: _dispatch(world, "trader-a", "exporter-a")),
        ("receive2", lambda: _receive(world, "exporter-a")),
        ("export", lambda: world.export("lot-1", by="exporter-a",
                                        private=CANARIES["lot.export"])),
        ("attestation", lambda: _attestation(world)),
        ("incident", lambda: world.report_incident("inc-1", by="trader-a", kind="site",
                                                   subject="site-a", category="security_forces",
                                                   private=CANARIES["incident"])),
    ]  # fmt: skip
    return {name: seq_of(engine, world.run(sign())) for name, sign in steps}


def seq_of(engine: Engine, leaf_hash: bytes) -> int:
    with engine.connect() as conn:
        query = select(LogEntryRow.seq).where(LogEntryRow.leaf_hash == leaf_hash)
        return int(conn.execute(query).scalar_one())


def _dispatch(world: World, by: str, to: str) -> Any:
    return world.dispatch("lot-1", by=by, to=to, private=CANARIES["lot.dispatch"])


def _receive(world: World, by: str) -> Any:
    body = {"lot": "lot-1", "mass_g": world.lots["lot-1"].mass_g}
    return world.sign(by, "lot.receive", body, private=CANARIES["lot.receive"])


def _attestation(world: World) -> Any:
    body = {
        "id": "att-1",
        "claim": "child_labour_free",
        "subject": {"kind": "site", "id": "site-a"},
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "evidence": [],
    }
    return world.sign("auditor-a", "attestation", body, private=CANARIES["attestation"])
