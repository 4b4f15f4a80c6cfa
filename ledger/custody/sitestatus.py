"""Mine-site status from inspections: green, yellow, red or blue, and its history. Pure.

ICGLR regional certification gives a mine site one of three colours after an inspection, and
*blue* to a site never inspected. Here a site's status is derived, never signed: from the
inspection status its registration recorded, then from the ``site.inspection`` attestations
about it, with revocations and validity dates respected. It is evaluated for an entry on the
**date of the statement's** ``time`` (signed, and in the log, so the audit and any verifier
re-derive the same status from the log alone; the logged time is not used because an offline
device's statements are logged days or months after they were made). On a date ``D``:

1. the records considered are the site's registration (dated at its statement's date, valid
   for ever) and its inspections logged so far and not revoked, each dated at its
   ``fields.date`` (vocabulary 1) or its ``valid_from`` (vocabulary 0);
2. a red record, from the entry that logs it, makes the site red whatever ``D`` is, until a
   later inspection (in log order) supersedes it: a statement dated back cannot slip under it,
   and a red status is lifted only by a new inspection, never by a lapse;
3. otherwise the *basis* is the last record in log order with ``valid_from <= D``; none: blue;
4. a basis past its ``valid_until`` on ``D`` is blue (the inspection has lapsed);
5. a green basis dated more than :data:`GREEN_DAYS` days before ``D`` is blue (by age);
6. otherwise the basis's result.

The stored status is the one evaluated at the last entry that concerned the site (its
registration, an inspection or its revocation, a lot registered there); an age or lapse change
is recorded by the first such entry that observes it. Each change appends a history row.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from ledger.custody.types import Flag, InspectionRecord, SiteStatus, SiteStatusChange
from ledger.errors import PolicyError
from ledger.registry.types import Site
from ledger.rulebook import Context
from ledger.state import State
from ledger.statements import Statement

GREEN_DAYS = 365  # a green inspection is green for this many days after its date, then blue
REGISTRATION = ""  # the record id of the status a site's registration recorded
FOREVER = "9999-12-31"


def statement_date(st: Statement) -> str:
    """The date an entry is evaluated at: the date of its statement's ``time``."""
    return st.time[:10]


def status_at(records: tuple[InspectionRecord, ...], on: str) -> tuple[str, str | None, str | None]:
    """``(status, basis id or None, basis date)`` of a site with ``records`` on date ``on``."""
    for record_id, result, made, valid_from, valid_until in reversed(records):
        basis = record_id or None
        if result == "red":
            return "red", basis, made
        if valid_from > on:
            continue  # not yet in force: an earlier record applies
        if valid_until < on:
            return "blue", basis, made
        if result == "green" and date.fromisoformat(made) + timedelta(days=GREEN_DAYS) < (
            date.fromisoformat(on)
        ):
            return "blue", basis, made
        return result, basis, made
    return "blue", None, None


def stored_records(stored: Any) -> tuple[InspectionRecord, ...]:
    """A ``site_status.records`` column (JSON lists) as the tuples the rules keep."""
    return tuple((r[0], r[1], r[2], r[3], r[4]) for r in stored or ())


def on_day(records: tuple[InspectionRecord, ...], on: str) -> dict[str, str | None]:
    """The status on ``on`` with what it rests on: ``status``, ``basis`` (an inspection id, or
    None), ``date`` (of the basis), ``valid_until`` (None: no end), ``green_until`` (when a
    green basis turns blue by age) and ``reason``: ``inspection``, ``registration`` (the status
    the site's registration recorded), ``never_inspected``, ``lapsed`` (the basis is past its
    validity), ``age`` (a green inspection more than :data:`GREEN_DAYS` days old) or
    ``registration_age`` (the green its registration recorded, that long ago)."""
    status, basis, made = status_at(records, on)
    record = next((r for r in records if (r[0] or None) == basis and r[2] == made), None)
    until = record[4] if record is not None else None
    if made is None:
        reason = "never_inspected"
    elif status == "blue" and until is not None and until < on:
        reason = "lapsed"
    elif status == "blue" and record is not None and record[1] == "green":
        reason = "age" if basis is not None else "registration_age"
    elif basis is None:
        reason = "never_inspected" if status == "blue" else "registration"
    else:
        reason = "inspection"
    green_until = None
    if made is not None and record is not None and record[1] == "green":
        green_until = (date.fromisoformat(made) + timedelta(days=GREEN_DAYS)).isoformat()
    return {
        "status": status,
        "reason": reason,
        "basis": basis,
        "date": made,
        "valid_until": None if until in (None, FOREVER) else until,
        "green_until": green_until,
    }


def register(state: State, site: Site, st: Statement, ctx: Context) -> None:
    """The first record of a site: the status its registration recorded, dated that day."""
    today = statement_date(st)
    record = (REGISTRATION, site.inspection_status, today, today, FOREVER)
    _evaluate(state, site.id, None, (record,), (today, ctx.seq), "registered")


def add_inspection(
    state: State, site_id: str, record: InspectionRecord, st: Statement, ctx: Context
) -> None:
    """A new ``site.inspection`` about the site."""
    current = _current(state, site_id)
    records = (*current.records, record) if current else (record,)
    when = (statement_date(st), ctx.seq)
    _evaluate(state, site_id, current, records, when, f"inspection {record[0]}")


def revoke_inspection(
    state: State, site_id: str, attestation_id: str, st: Statement, ctx: Context
) -> None:
    """A ``site.inspection`` about the site was revoked: it no longer counts."""
    current = _current(state, site_id)
    if current is None:  # pragma: no cover - every inspected site has a status row
        return
    records = tuple(r for r in current.records if r[0] != attestation_id)
    when = (statement_date(st), ctx.seq)
    _evaluate(state, site_id, current, records, when, f"revocation of {attestation_id}")


def check_lot_origin(state: State, site: Site, st: Statement, ctx: Context) -> None:
    """At ``lot.register``: refuse or flag the lot as the policy says for the site's status."""
    current = _current(state, site.id)
    records = current.records if current else ((REGISTRATION, site.inspection_status,
                                                "0001-01-01", "0001-01-01", FOREVER),)  # fmt: skip
    when = (statement_date(st), ctx.seq)
    status = _evaluate(state, site.id, current, records, when, "observed at lot registration")
    lot_id = st.body["lot"]
    effect = state.policy().site_effect(status)
    where = _basis_sentence(state, site.id)
    if effect == "refuse":
        raise PolicyError(
            f"site {site.id} is {status} ({where}); this ledger's policy refuses lots from "
            f"{status} sites until a new inspection changes the site's status.",
            code="site_status_refused",
        )
    if effect == "flag":
        state.add_flag(
            Flag(ctx.seq, f"origin_site_{status}", "warning", f"lot:{lot_id}",
                 f"lot {lot_id} comes from site {site.id}, which is {status} ({where}).")
        )  # fmt: skip


def _current(state: State, site_id: str) -> SiteStatus | None:
    return state.site_status(site_id)


def _evaluate(
    state: State,
    site_id: str,
    current: SiteStatus | None,
    records: tuple[InspectionRecord, ...],
    when: tuple[str, int],
    reason: str,
) -> str:
    """Store the status on ``when`` (date, entry); append history when it changes."""
    on, seq = when
    status, basis, since = status_at(records, on)
    changed = current is None or (current.status, current.basis) != (status, basis)
    if changed or current is None or current.records != records:
        state.put_site_status(
            SiteStatus(site_id, status, basis, since, records, seq), new=current is None
        )
    if changed:
        state.add_site_status_change(SiteStatusChange(site_id, seq, status, basis, reason))
    return status


def _basis_sentence(state: State, site_id: str) -> str:
    current = state.site_status(site_id)
    if current is None or current.since is None:
        return "never inspected"
    if current.basis is None:
        return f"as recorded at its registration on {current.since}"
    return f"inspection {current.basis} of {current.since}"
