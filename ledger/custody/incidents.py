"""Incidents, and the taint an open one puts on every lot derived from its subject. Pure.

Any registered actor may report an ``incident`` (an OECD Annex II risk) about a site, a lot or
an actor; an auditor or a registrar resolves it (``incident.resolve``). While it is open:

- an incident on a **lot** taints that lot and every lot derived from it through splits, merges
  and processing. Taint is derived state kept per lot (the ids of the open lot incidents it
  carries). Opening the incident walks the lot's descendants as they stand (the provenance DAG
  downwards, never the log); a lot derived later inherits the union of its inputs' taint when
  it is created; resolving walks the descendants again and removes the id, so lots derived
  before and after the incident opened are cleared alike;
- an incident on a **site** taints every lot whose origins include the site. Lots already carry
  their origin sites, so this taint is read when it matters (at creation, for the flag, and at
  export) from the site's open incidents, and no taint is written per lot: it clears itself
  when the incident is resolved;
- an incident on an **actor** taints nothing; it is recorded and shown.

A tainted lot cannot be exported (``lot_tainted``). Each lot that becomes tainted by an entry
gets a ``tainted`` flag from that entry: the lot and its descendants when a lot incident opens,
and any new lot (registered, or made by a split, merge or processing step) that is tainted when
it is created. When an incident on a site opens, the lots registered there (kept per site by
``lot.register``) and every lot made from them are flagged, found through the stored DAG, never
the log.

An incident may name, in the optional ``body.grievance``, the anonymous grievance the registrar
turned into it (:mod:`ledger.custody.grievances`). The rules check only that field's shape (an
id, in ``ledger.bodies``): grievances are not in the log, so whether it exists and was not
converted before is the grievance store's check, made before the statement is appended, and
the audit stays a function of the log alone.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.custody.types import Flag, Incident, Lot
from ledger.errors import ConflictError, NotFoundError, PolicyError, ValidationError
from ledger.rulebook import Context, Handler, evolve, no_subjects, require_new, require_role, signer
from ledger.state import State
from ledger.statements import Statement

RESOLVING_ROLES = {"auditor", "registrar"}


def _report(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    body = st.body
    require_new(state.incident(body["id"]) is not None, f"incident {body['id']}")
    kind, subject_id = body["subject"]["kind"], body["subject"]["id"]
    lookup = {"site": state.site, "actor": state.actor, "lot": state.lot}[kind]
    if lookup(subject_id) is None:
        raise NotFoundError(f"{kind} {subject_id} is not registered.", code="unknown_subject")
    if body["observed"] > st.time[:10]:
        raise ValidationError(
            f"the incident is observed on {body['observed']}, after the statement's date "
            f"{st.time[:10]}; report what has happened.",
            code="observed_in_future",
            field="body.observed",
        )
    incident = Incident(body["id"], body["category"], body["severity"], kind, subject_id,
                        actor.id, body["observed"], ctx.seq)  # fmt: skip
    state.put_incident(incident, new=True)
    subject = f"{kind}:{subject_id}"
    state.set_open_incidents(subject, (*state.open_incidents(subject), incident.id))
    if kind == "lot":
        for lot_id in descendants(state, subject_id):
            state.set_lot_taint(lot_id, (*state.lot_taint(lot_id), incident.id))
            _flag(state, ctx, lot_id, [incident.id])
    elif kind == "site":
        for lot_id in site_descendants(state, subject_id):
            _flag(state, ctx, lot_id, [incident.id])
    return (f"incident:{incident.id}",)


def _resolve(state: State, st: Statement, ctx: Context) -> tuple[str, ...]:
    actor = signer(state, st)
    require_role(actor, RESOLVING_ROLES, "resolve incidents")
    incident = state.incident(st.body["incident"])
    if incident is None:
        raise NotFoundError(
            f"incident {st.body['incident']} does not exist.", code="unknown_subject"
        )
    if incident.resolved_seq is not None:
        raise ConflictError(
            f"incident {incident.id} was already resolved at entry {incident.resolved_seq}.",
            code="already_resolved",
        )
    state.put_incident(evolve(incident, resolved_seq=ctx.seq, resolved_by=actor.id), new=False)
    subject = f"{incident.subject_kind}:{incident.subject_id}"
    state.set_open_incidents(subject, _without(state.open_incidents(subject), incident.id))
    if incident.subject_kind == "lot":
        for lot_id in descendants(state, incident.subject_id):
            taint = state.lot_taint(lot_id)
            if incident.id in taint:
                state.set_lot_taint(lot_id, _without(taint, incident.id))
    return (f"incident:{incident.id}",)


def descendants(state: State, lot_id: str) -> list[str]:
    """``lot_id`` and every lot made from it, breadth first (the DAG downwards)."""
    found, queue, seen = [], [lot_id], {lot_id}
    while queue:
        current = queue.pop(0)
        found.append(current)
        for child in state.lot_children(current):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return found


def site_descendants(state: State, site_id: str) -> list[str]:
    """Every lot registered at ``site_id`` and every lot made from one, each once, in order."""
    found: dict[str, None] = {}
    for registered in state.site_lots(site_id):
        if registered not in found:
            found.update(dict.fromkeys(descendants(state, registered)))
    return list(found)


def tainting(state: State, lot: Lot) -> list[str]:
    """The open incidents that taint ``lot``: on it or an ancestor, or on an origin site."""
    ids = set(state.lot_taint(lot.id))
    for site in lot.origins:
        ids.update(state.open_incidents(f"site:{site}"))
    return sorted(ids)


def inherit(state: State, ctx: Context, output: Lot, inputs: Iterable[Lot]) -> None:
    """A new lot made from ``inputs`` (none: registered) carries their lot taint; flag it if
    it is tainted by anything, its origin sites' open incidents included."""
    taint = sorted({i for lot in inputs for i in state.lot_taint(lot.id)})
    if taint:
        state.set_lot_taint(output.id, tuple(taint))
    found = set(taint)  # the new lot's own taint row is not read: it has none yet
    for site in output.origins:
        found.update(state.open_incidents(f"site:{site}"))
    if found:
        _flag(state, ctx, output.id, sorted(found))


def require_untainted(state: State, lot: Lot) -> None:
    """Refuse to export a lot while an open incident taints it."""
    found = tainting(state, lot)
    if found:
        raise PolicyError(
            f"lot {lot.id} is tainted by open incident {', '.join(found)} upstream; it cannot "
            "be exported until an auditor or the registrar resolves the incident.",
            code="lot_tainted",
        )


def _flag(state: State, ctx: Context, lot_id: str, incident_ids: list[str]) -> None:
    state.add_flag(
        Flag(
            ctx.seq,
            "tainted",
            "critical",
            f"lot:{lot_id}",
            f"lot {lot_id} is tainted by open incident {', '.join(incident_ids)} upstream; it "
            "cannot be exported until the incident is resolved.",
        )
    )


def _without(ids: tuple[str, ...], incident_id: str) -> tuple[str, ...]:
    return tuple(i for i in ids if i != incident_id)


def _incident_subject(st: Statement) -> tuple[str, ...]:
    return (f"incident:{st.body['incident']}",)


HANDLERS: dict[str, Handler] = {
    "incident": Handler(no_subjects, _report),
    "incident.resolve": Handler(_incident_subject, _resolve),
}
