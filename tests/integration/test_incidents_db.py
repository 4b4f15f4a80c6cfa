"""Incidents and taint on both engines: the DAG walk reads stored edges, and the audit agrees."""

from __future__ import annotations

import pytest
from factories import World
from sqlalchemy import Engine, text

from ledger.custody.audit import audit
from ledger.custody.log import Ledger
from ledger.errors import PolicyError


def _chain(world: World) -> None:
    world.split_and_merge()
    world.transfer("lot-m", by="trader-a", to="exporter-a")


def _taint(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT lot, incidents FROM lot_taint")).all()
    return {row.lot: str(row.incidents) for row in rows}


def test_taint_from_stored_edges_blocks_export_until_resolved(
    world: World, ledger: Ledger, engine: Engine
) -> None:
    _chain(world)  # the edges are in the database before the incident opens
    world.run(world.report_incident("inc-1", subject="lot-1"))
    tainted = {lot for lot, ids in _taint(engine).items() if "inc-1" in ids}
    assert tainted == {"lot-1", "lot-1a", "lot-1b", "lot-m"}
    with pytest.raises(PolicyError, match="lot lot-m is tainted by open incident inc-1"):
        world.run(world.export("lot-m"))
    world.run(world.resolve_incident("inc-1"))
    assert all("inc-1" not in ids for ids in _taint(engine).values())
    world.run(world.export("lot-m"))
    with engine.connect() as conn:
        flags = conn.execute(text("SELECT code, subject FROM flags ORDER BY seq, subject")).all()
        incident = conn.execute(text("SELECT resolved_by FROM incidents")).scalar_one()
    assert [tuple(f) for f in flags] == [
        ("tainted", f"lot:{lot}") for lot in ("lot-1", "lot-1a", "lot-1b", "lot-m")
    ]
    assert incident == "auditor-a"
    report = audit(ledger.engine, workers=0)
    assert report.clean, report.divergence


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE lot_taint SET incidents = '[]' WHERE lot = 'lot-m'",
        "DELETE FROM open_incidents",
        "UPDATE incidents SET severity = 'low'",
    ],
    ids=["taint", "open", "incident"],
)
def test_the_audit_finds_altered_incident_state(
    world: World, ledger: Ledger, engine: Engine, sql: str
) -> None:
    _chain(world)
    world.run(world.report_incident("inc-1", subject="lot-1"))
    with engine.begin() as conn:
        conn.execute(text(sql))
    report = audit(ledger.engine, workers=0)
    assert report.divergence is not None
    assert report.divergence.reason.startswith("table ")


def test_a_site_incident_flags_the_stored_lots_of_the_site(
    world: World, ledger: Ledger, engine: Engine
) -> None:
    _chain(world)  # lot-1 and lot-2 from site-a, split and merged, all in the database
    world.run(world.report_incident("inc-s", kind="site", subject="site-a"))
    seq = ledger.size() - 1
    with engine.connect() as conn:
        flags = conn.execute(text("SELECT subject, seq FROM flags WHERE code = 'tainted' "
                                  "ORDER BY subject")).all()  # fmt: skip
        registered = conn.execute(text("SELECT lot FROM site_lots WHERE site = 'site-a' "
                                       "ORDER BY lot")).scalars().all()  # fmt: skip
    assert registered == ["lot-1", "lot-2"]
    assert [tuple(f) for f in flags] == [
        (f"lot:{lot}", seq) for lot in ("lot-1", "lot-1a", "lot-1b", "lot-2", "lot-m")
    ]
    report = audit(ledger.engine, workers=0)
    assert report.clean, report.divergence
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM site_lots WHERE lot = 'lot-2'"))
    report = audit(ledger.engine, workers=0)
    assert report.divergence is not None and "site_lots" in report.divergence.reason
