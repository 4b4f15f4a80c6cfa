"""What ``make run`` prints: the audit verdict, the checkpoint, and one lot's provenance."""

from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ledger.custody.audit import audit
from ledger.custody.log import Ledger
from ledger.custody.models import LotRow
from ledger.custody.provenance import lot_provenance
from ledger.entries import Entry

_SUMMARY_FIELDS = ("lot", "site", "to", "mass_g", "grade_ppm", "mineral", "certificate",
                   "destination", "claim", "result", "inputs", "outputs", "output")  # fmt: skip


def show_demo(engine: Engine, ledger: Ledger, summary: Any) -> None:
    if summary is not None:
        click.echo(
            f"loaded the demo supply chain: {summary.statements} statements, {summary.lots} "
            f"lots, {summary.sites} sites, {summary.actors} actors"
            + (f"; {summary.grievances} anonymous grievance(s), kept off the log"
               if getattr(summary, "grievances", 0) else "")
        )  # fmt: skip
    with click.progressbar(length=ledger.size(), label="auditing", file=sys.stderr) as bar:
        report = audit(engine, progress=bar.update)
    verdict = "clean" if report.clean else f"FAILED at {report.divergence}"
    click.echo(f"\naudit: {verdict} ({report.size} entries, {report.checkpoints} checkpoints)")
    divergence = report.divergence
    if divergence is not None and divergence.reason.startswith("table "):  # derived, not the log
        click.echo(
            "the log holds, but stored derived state does not match it (a ledger made by an "
            "older version?): run `ledger rebuild-derived` with the same settings.",
            err=True,
        )
    click.echo(f"operator key: {ledger.verifier_key()}")
    click.echo("latest checkpoint:\n" + _indent(ledger.latest_checkpoint()))
    lot_id = summary.showcase_lot if summary is not None else _showcase(engine)
    if lot_id is not None:
        _print_provenance(engine, lot_id)
    held = _held_back(engine)
    if held is not None:
        click.echo(
            f"\nand a lot held back: {held} is tainted by an open incident upstream and cannot be "
            f"exported; its public page /p/{held} shows the bad news first"
        )


def _showcase(engine: Engine) -> str | None:
    """The demo's showcase lot when present, else the most recently exported lot."""
    from ledger.demo import SHOWCASE_LOT

    with engine.connect() as conn:
        if conn.execute(select(LotRow.id).where(LotRow.id == SHOWCASE_LOT)).first() is not None:
            return SHOWCASE_LOT
        return conn.execute(
            select(LotRow.id).where(LotRow.status == "exported").order_by(LotRow.updated_seq.desc())
        ).scalar()


def _held_back(engine: Engine) -> str | None:
    """The demo's lot held back by its open incident, when it is in this ledger."""
    from ledger.demo import TAINTED_LOT

    with engine.connect() as conn:
        found = conn.execute(select(LotRow.id).where(LotRow.id == TAINTED_LOT)).scalar()
    return None if found is None else str(found)


def _print_provenance(engine: Engine, lot_id: str) -> None:
    with Session(engine) as session:
        history = lot_provenance(session.connection(), lot_id)
        lot = session.scalars(select(LotRow).where(LotRow.id == lot_id)).one()
    click.echo(
        f"\nprovenance of lot {lot.id}: {lot.mineral} {lot.form}, {lot.mass_g / 1000:,.1f} kg at "
        f"{lot.grade_ppm / 10_000:.2f}%, {lot.status}, held by {lot.custodian}, from sites "
        f"{', '.join(lot.origins)}"
    )
    for entry in history:
        click.echo("  " + _line(entry))


def _line(entry: Entry) -> str:
    st = entry.statement
    details = ", ".join(
        f"{name}={_short(st.body[name])}" for name in _SUMMARY_FIELDS if name in st.body
    )
    return f"#{entry.seq:<5} {st.time[:10]}  {st.type:<14} by {st.actor:<18} {details}"


def _short(value: Any) -> str:
    if isinstance(value, list):
        items = [v["lot"] if isinstance(v, dict) and "lot" in v else v for v in value]
        return "[" + " ".join(str(i) for i in items) + "]"
    if isinstance(value, dict):
        return str(value.get("lot", value))
    return str(value)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip("\n").split("\n"))
