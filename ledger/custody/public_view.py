"""A buyer's account of a lot, derived from a verified bundle: what the public page and the
``/provenance`` JSON show.

Everything here comes from the bundle's signed entries as :class:`~ledger.replay.Replay` derived
them -- the same state the verifier checked -- never from database rows: the page can only show
what the bundle proves. Only public fields exist in it (statement bodies carry no private field).
It gives the lot, its origin sites with their inspection status, the custody timeline (actor
names and roles, dates, masses) with the attestations that applied at each step, every
attestation's status today (valid, expired, revoked, not yet valid), the incidents reported about
its lots and sites (open or resolved), and the negative news -- open incidents, flags, revoked or
expired attestations, sites not inspected green, keys reported lost, a failed verification -- as
a list of alerts. Pure: values in, values out.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ledger.bundle import Verdict
from ledger.custody.types import Attestation
from ledger.entries import Entry
from ledger.replay import Replay

CUSTODY_TYPES = ("lot.register", "lot.dispatch", "lot.receive", "lot.split", "lot.merge",
                 "lot.process", "lot.export")  # fmt: skip
VALID, EXPIRED, REVOKED, NOT_YET = "valid", "expired", "revoked", "not_yet_valid"


def describe(verdict: Verdict, today: str) -> dict[str, Any]:
    """The public account of the bundle's lot, as of ``today`` (``YYYY-MM-DD``).

    When verification failed the account still shows what the bundle's valid entries say, and
    ``verified`` is false with the reasons.
    """
    replay = verdict.replay or Replay()
    bundle = verdict.bundle
    lot_id = bundle.lot if bundle is not None else ""
    entries = list(verdict.entries)
    attestations = _attestations(replay, entries, today)
    account: dict[str, Any] = {
        "lot": _lot(replay, lot_id, bundle.head.hex() if bundle else ""),
        "verified": verdict.ok,
        "checkpoint": None
        if verdict.checkpoint is None
        else {"origin": verdict.checkpoint.origin, "size": verdict.checkpoint.size},
        "reasons": verdict.reasons,
        "sites": _sites(replay, lot_id, attestations),
        "timeline": _timeline(replay, entries, attestations),
        "attestations": attestations,
        "incidents": _incidents(replay, entries),
        "flags": [asdict(flag) for flag in replay.flags],
        "warnings": list(verdict.warnings),
    }
    account["alerts"] = _alerts(account)
    return account


def _actor(replay: Replay, actor_id: str | None) -> dict[str, Any] | None:
    if actor_id is None:
        return None
    actor = replay.state.actor(actor_id)
    if actor is None:
        return {"id": actor_id, "name": actor_id, "roles": [], "country": None}
    roles = list(actor.roles)
    return {"id": actor.id, "name": actor.name, "roles": roles, "country": actor.country}


def _lot(replay: Replay, lot_id: str, head: str) -> dict[str, Any]:
    lot = replay.state.lot(lot_id)
    if lot is None:
        return {"id": lot_id, "head": head, "known": False}
    return {
        "id": lot.id,
        "known": True,
        "head": head,
        "mineral": lot.mineral,
        "form": lot.form,
        "mass_g": lot.mass_g,
        "grade_ppm": lot.grade_ppm,
        "status": lot.status,
        "tags": list(lot.tags),
        "origins": list(lot.origins),
        "custodian": _actor(replay, lot.custodian),
        "addressee": _actor(replay, lot.addressee),
    }


def status_on(attestation: Attestation, day: str, before_seq: int | None = None) -> str:
    """An attestation's status on ``day``; revoked only by an entry before ``before_seq``."""
    revoked = attestation.revoked_seq is not None and (
        before_seq is None or attestation.revoked_seq < before_seq
    )
    if revoked:
        return REVOKED
    if day > attestation.valid_until:
        return EXPIRED
    if day < attestation.valid_from:
        return NOT_YET
    return VALID


def _attestations(replay: Replay, entries: list[Entry], today: str) -> list[dict[str, Any]]:
    found = []
    for entry in entries:
        if entry.statement.type != "attestation":
            continue
        attestation = replay.state.attestation(entry.statement.body["id"])
        if attestation is None or attestation.seq != entry.seq:
            continue  # refused by the replay
        item = asdict(attestation)
        item["attestor"] = _actor(replay, attestation.attestor)
        item["status"] = status_on(attestation, today)
        item["time"] = entry.statement.time
        found.append(item)
    return found


def _incidents(replay: Replay, entries: list[Entry]) -> list[dict[str, Any]]:
    """The incidents reported in the bundle about its lots and sites, open ones first."""
    found = []
    for entry in entries:
        if entry.statement.type != "incident":
            continue
        incident = replay.state.incident(entry.statement.body["id"])
        if incident is None or incident.seq != entry.seq:
            continue  # refused by the replay
        item = asdict(incident)
        item["reporter"] = _actor(replay, incident.reporter)
        item["resolved_by"] = _actor(replay, incident.resolved_by)
        item["open"] = incident.resolved_seq is None
        item["subject"] = f"{incident.subject_kind}:{incident.subject_id}"
        found.append(item)
    return sorted(found, key=lambda item: (not item["open"], item["seq"]))


def _sites(replay: Replay, lot_id: str, attestations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lot = replay.state.lot(lot_id)
    sites = []
    for site_id in lot.origins if lot is not None else ():
        site = replay.state.site(site_id)
        if site is None:
            continue
        about = [
            a for a in attestations if a["subject_kind"] == "site" and a["subject_id"] == site_id
        ]
        inspections = [a for a in about if a["claim"] == "site.inspection"]
        latest = inspections[-1]["result"] if inspections else None
        item = asdict(site)
        item["minerals"] = list(site.minerals)
        item["cooperative"] = _actor(replay, site.cooperative)
        item["inspection"] = latest or site.inspection_status
        item["attestations"] = about
        sites.append(item)
    return sites


def _timeline(
    replay: Replay, entries: list[Entry], attestations: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    steps = []
    for entry in entries:
        st = entry.statement
        if st.type not in CUSTODY_TYPES or entry.seq not in replay.touched:
            continue
        lots = sorted(s[4:] for s in replay.touched[entry.seq] if s.startswith("lot:"))
        body = st.body
        subjects = {("actor", st.actor), *(("lot", lot) for lot in lots)}
        if st.type == "lot.register":
            subjects.add(("site", body["site"]))
        applied = [
            {"id": a["id"], "claim": a["claim"], "result": a["result"],
             "subject": f"{a['subject_kind']}:{a['subject_id']}",
             "status": _status_at(replay, a["id"], st.time[:10], entry.seq)}
            for a in attestations
            if (a["subject_kind"], a["subject_id"]) in subjects and a["seq"] < entry.seq
        ]  # fmt: skip
        steps.append(
            {
                "seq": entry.seq,
                "type": st.type,
                "time": st.time,
                "logged": entry.logged,
                "actor": _actor(replay, st.actor),
                "lots": lots,
                "mass_g": _step_mass(st.type, body),
                "to": _actor(replay, body.get("to")),
                "site": body.get("site"),
                "certificate": body.get("certificate"),
                "destination": body.get("destination"),
                "attestations": applied,
                "flags": [asdict(f) for f in replay.flags if f.seq == entry.seq],
            }
        )
    return steps


def _status_at(replay: Replay, attestation_id: str, day: str, seq: int) -> str:
    attestation = replay.state.attestation(attestation_id)
    return NOT_YET if attestation is None else status_on(attestation, day, seq)


def _step_mass(kind: str, body: dict[str, Any]) -> int | None:
    if kind in ("lot.register", "lot.dispatch", "lot.receive"):
        return int(body["mass_g"])
    if kind in ("lot.split", "lot.process"):
        return sum(int(out["mass_g"]) for out in body["outputs"])
    if kind == "lot.merge":
        return int(body["output"]["mass_g"])
    return None


def _alerts(account: dict[str, Any]) -> list[dict[str, Any]]:
    """The negative news, most serious first: ``{"level", "kind", ...details}``."""
    alerts: list[dict[str, Any]] = []
    if not account["verified"]:
        alerts.append({"level": "red", "kind": "not_verified", "reasons": account["reasons"]})
    for site in account["sites"]:
        if site["inspection"] in ("red", "yellow"):
            level = "red" if site["inspection"] == "red" else "amber"
            alerts.append({"level": level, "kind": "inspection", "site": site["name"],
                           "status": site["inspection"]})  # fmt: skip
    for incident in account["incidents"]:
        if incident["open"]:
            alerts.append({"level": "red", "kind": "incident", "category": incident["category"],
                           "severity": incident["severity"], "subject": incident["subject"],
                           "observed": incident["observed"]})  # fmt: skip
    for flag in account["flags"]:
        alerts.append({"level": "amber", "kind": "flag", "code": flag["code"],
                       "subject": flag["subject"], "message": flag["message"]})  # fmt: skip
    for att in account["attestations"]:
        if att["status"] in (REVOKED, EXPIRED):
            alerts.append({"level": "red" if att["status"] == REVOKED else "amber",
                           "kind": att["status"], "claim": att["claim"], "id": att["id"],
                           "subject": f"{att['subject_kind']}:{att['subject_id']}"})  # fmt: skip
    for warning in account["warnings"]:
        alerts.append({"level": "red", "kind": "key_lost", "message": warning})
    return sorted(alerts, key=lambda alert: alert["level"] != "red")
