"""Site status on both engines: stored as the rules derive it, and re-derived by the audit."""

from __future__ import annotations

import pytest
from factories import World
from sqlalchemy import Engine, text

from ledger.custody.audit import audit
from ledger.custody.log import Ledger
from ledger.errors import PolicyError


def _story(world: World) -> None:
    """Inspections, a revocation, a refused lot and a flagged one."""
    world.run(world.inspect("insp-1", "yellow"))
    world.run(world.inspect("insp-2", "red"))
    with pytest.raises(PolicyError, match="site site-a is red"):
        world.run(world.register_lot("lot-0"))
    world.run(world.revoke_attestation("insp-2", by="inspector-a"))
    world.run(world.register_lot("lot-1"))
    world.run(world.register_site("site-c", "coop-a", status="blue"))
    world.run(world.register_lot("lot-2", site="site-c"))


def test_site_status_is_stored_and_audited(world: World, ledger: Ledger, engine: Engine) -> None:
    _story(world)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT site, status, basis, records FROM site_status ORDER BY site")
        ).all()
        history = conn.execute(
            text("SELECT site, status, basis, reason FROM site_status_history ORDER BY seq")
        ).all()
        flags = conn.execute(text("SELECT code, subject FROM flags")).all()
    assert [(r.site, r.status, r.basis) for r in rows] == [
        ("site-a", "yellow", "insp-1"),
        ("site-b", "yellow", None),
        ("site-c", "blue", None),
    ]
    assert [(h.site, h.status, h.basis) for h in history if h.site == "site-a"] == [
        ("site-a", "green", None),
        ("site-a", "yellow", "insp-1"),
        ("site-a", "red", "insp-2"),
        ("site-a", "yellow", "insp-1"),
    ]
    assert [tuple(f) for f in flags] == [("origin_site_blue", "lot:lot-2")]
    report = audit(ledger.engine, workers=0)
    assert report.clean, report.divergence


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE site_status SET status = 'green' WHERE site = 'site-a'",
        "DELETE FROM site_status_history WHERE status = 'red'",
        "UPDATE site_status SET records = '[]' WHERE site = 'site-c'",
    ],
    ids=["status", "history", "records"],
)
def test_the_audit_finds_altered_site_status(
    world: World, ledger: Ledger, engine: Engine, sql: str
) -> None:
    _story(world)
    with engine.begin() as conn:
        conn.execute(text(sql))
    report = audit(ledger.engine, workers=0)
    assert report.divergence is not None
    assert "site_status" in report.divergence.reason
