"""Automatic red flags that the custody rules raise as a statement is appended. Pure.

Each flag is derived state: a code, a severity, the subject it concerns, the entry that caused it
and a sentence. Every check here reads a bounded number of rows (the lot, its origin sites, the
latest attestation of each claim about them), never the log, so appending stays as cheap at a
million entries as at ten thousand. Flags that concern site status and taint live beside those
rules (``ledger.custody.sitestatus``, ``ledger.custody.incidents``); the receipt flags
(``mass_discrepancy``, ``mass_gain``) in ``ledger.custody.rules``.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

from ledger.custody.types import Attestation, Flag, Lot
from ledger.registry.types import Key, Site
from ledger.rulebook import Context
from ledger.state import State
from ledger.statements import Statement


def licence(state: State, site: Site, st: Statement, ctx: Context) -> None:
    """``origin_licence_expired``: a lot registered after its site's licence expired."""
    lot_id = st.body["lot"]
    if site.licence_expires < st.time[:10]:
        state.add_flag(
            Flag(ctx.seq, "origin_licence_expired", "warning", f"lot:{lot_id}",
                 f"lot {lot_id} was registered at site {site.id} after its licence "
                 f"{site.licence_number} expired on {site.licence_expires}.")
        )  # fmt: skip


def over_capacity(state: State, site: Site, st: Statement, ctx: Context, total: int) -> None:
    """``site_over_capacity``: the month's output is above capacity, within the tolerance."""
    if total > site.capacity_g_month:
        lot_id, month = st.body["lot"], st.body["extracted"][:7]
        state.add_flag(
            Flag(ctx.seq, "site_over_capacity", "warning", f"lot:{lot_id}",
                 f"site {site.id} has registered {total} g for {month} with lot {lot_id}, above "
                 f"its capacity of {site.capacity_g_month} g a month (within the policy's "
                 "tolerance).")
        )  # fmt: skip


def note_dispatch(state: State, lot_id: str, st: Statement) -> None:
    """Remember when the lot left, for :func:`transit` at its receipt."""
    state.set_dispatched(lot_id, st.time)


def transit(state: State, lot: Lot, st: Statement, ctx: Context) -> None:
    """``transit_too_long``: received more than the policy's ``max_transit_days`` after its
    dispatch (both by the statements' dates)."""
    sent = state.dispatched(lot.id)
    if sent is None:  # pragma: no cover - every dispatch records its time
        return
    state.end_transit(lot.id)
    days = (date.fromisoformat(st.time[:10]) - date.fromisoformat(sent[:10])).days
    limit = state.policy().max_transit_days
    if days > limit:
        state.add_flag(
            Flag(ctx.seq, "transit_too_long", "warning", f"lot:{lot.id}",
                 f"lot {lot.id} was in transit for {days} days (dispatched {sent[:10]}, received "
                 f"{st.time[:10]}); the policy allows {limit}.")
        )  # fmt: skip


def overdue(state: State, st: Statement, ctx: Context) -> None:
    """``transit_overdue``: lots dispatched more than ``max_transit_days`` before this
    statement's date and still not received, each flagged once, at the first entry dated late
    enough to show it (the ledger's clock is its statements' dates). Cheap when there are none:
    see :meth:`ledger.state.OverlayState.overdue_transits`."""
    limit = state.policy().max_transit_days
    for lot_id, sent in state.overdue_transits(_cutoff(st.time[:10], limit)):
        state.end_transit(lot_id)
        state.add_flag(
            Flag(ctx.seq, "transit_overdue", "warning", f"lot:{lot_id}",
                 f"lot {lot_id} was dispatched on {sent[:10]} and had not been received by "
                 f"{st.time[:10]} (entry {ctx.seq}): more than the {limit} days in transit the "
                 "policy allows.")
        )  # fmt: skip


@lru_cache(maxsize=64)
def _cutoff(day: str, limit: int) -> str:
    """The earliest dispatch date that is not yet overdue on ``day``."""
    return (date.fromisoformat(day) - timedelta(days=limit)).isoformat()


def backdated_revocation(state: State, key: Key, st: Statement, ctx: Context) -> None:
    """``key_revoked_backdated``: a key is revoked with an effective time at or before the
    latest-dated statement it already signed, so entries in the log may not be its actor's."""
    state.add_flag(
        Flag(ctx.seq, "key_revoked_backdated", "critical", f"actor:{key.actor}",
             f"key {key.key_id[:16]}... of {key.actor} was revoked at entry {ctx.seq} with "
             f"effect from {st.body['effective']}, but it had signed statements dated after "
             f"that, the latest at entry {key.last_seq} ({key.last_time}); what it signed from "
             f"{st.body['effective']} on may not be {key.actor}'s.")
    )  # fmt: skip


def note_attestation(state: State, attestation: Attestation) -> None:
    """Keep the latest attestation of each claim about a subject (what a lot relies on)."""
    subject = f"{attestation.subject_kind}:{attestation.subject_id}"
    kept = []
    for other_id in state.subject_attestations(subject):
        other = state.attestation(other_id)
        if other is not None and other.claim != attestation.claim:
            kept.append(other_id)
    state.set_subject_attestations(subject, (*kept, attestation.id))


def revoked(state: State, attestation: Attestation, ctx: Context) -> None:
    """``attestation_revoked`` on a lot at once, when an attestation about it is revoked."""
    if attestation.subject_kind == "lot":
        _attestation_flag(state, ctx, attestation.subject_id, "revoked", [attestation])


def relied_on(state: State, lot: Lot, st: Statement, ctx: Context) -> None:
    """At export: flag the attestations the lot relies on -- the latest of each claim about the
    lot and about its origin sites -- that are revoked or expired on the statement's date."""
    today = st.time[:10]
    found: dict[str, list[Attestation]] = {"revoked": [], "expired": []}
    for subject in (f"lot:{lot.id}", *(f"site:{site}" for site in lot.origins)):
        for attestation_id in state.subject_attestations(subject):
            attestation = state.attestation(attestation_id)
            if attestation is None:  # pragma: no cover - the index names logged attestations
                continue
            if attestation.revoked_seq is not None:
                found["revoked"].append(attestation)
            elif attestation.valid_until < today:
                found["expired"].append(attestation)
    for what, attestations in found.items():
        if attestations:
            _attestation_flag(state, ctx, lot.id, what, attestations)


def _attestation_flag(
    state: State, ctx: Context, lot_id: str, what: str, attestations: list[Attestation]
) -> None:
    """One flag per code, lot and entry (the flags' key), naming every attestation."""
    named = "; ".join(f"{a.claim} {a.id} about {a.subject_kind} {a.subject_id}, {_when(a)}"
                      for a in attestations)  # fmt: skip
    state.add_flag(
        Flag(ctx.seq, f"attestation_{what}", "warning", f"lot:{lot_id}",
             f"lot {lot_id} relies on {what} attestations: {named}.")
    )  # fmt: skip


def _when(attestation: Attestation) -> str:
    if attestation.revoked_seq is not None:
        return f"revoked at entry {attestation.revoked_seq}"
    return f"valid until {attestation.valid_until}"
