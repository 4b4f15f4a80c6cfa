"""The demo supply chain (``ledger.demo``) against the pure rules on an in-memory state.

The harness is a minimal sequencer: real entries (``ledger.entries.make``) give the leaf hashes,
each signature is verified with the key the rules name, the rules run on a ``MemoryState``, and the
disclosures are matched to ``sd`` as the log does before sealing them.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from ledger import canonical, demo, disclosures, entries, rules
from ledger.bodies import PRIVATE_FIELDS
from ledger.builder import Author, RegistrarSpec, genesis
from ledger.crypto import Ed25519Signer
from ledger.custody import incidents, sitestatus
from ledger.custody.log import Result
from ledger.custody.types import Attestation, Flag, Lot, SiteStatus
from ledger.entries import Entry
from ledger.errors import ConflictError, LedgerError, ValidationError
from ledger.registry.types import Actor, Key, Miner, Site
from ledger.rulebook import Context
from ledger.state import DEFAULT_POLICY, MemoryState, OverlayState
from ledger.statements import STATEMENT_TYPES, Submission, parse_time

ORIGIN = "demo.asm-ledger.example/great-lakes"
LOGGED = "2026-10-31T23:00:00Z"  # the harness clock: later than every demo statement
START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
CUTOFF = datetime(2026, 11, 1, tzinfo=UTC)
CUSTODY_TYPES = {
    "lot.register",
    "lot.dispatch",
    "lot.receive",
    "lot.split",
    "lot.merge",
    "lot.process",
    "lot.export",
}


def fixed_signer(name: str) -> Ed25519Signer:
    return Ed25519Signer.from_seed(hashlib.sha256(b"test_demo/" + name.encode()).digest())


def registrar_author(name: str = "registrar") -> Author:
    return Author(ORIGIN, "registrar", fixed_signer(name))


@dataclass
class Harness:
    """An in-memory log applying the rules; its genesis names the operator and one registrar."""

    state: OverlayState = field(default_factory=MemoryState)
    log: list[Entry] = field(default_factory=list)
    submissions: list[Submission] = field(default_factory=list)
    rejected: list[LedgerError] = field(default_factory=list)
    duplicates: int = 0
    logged: str = LOGGED

    def __post_init__(self) -> None:
        keys = (fixed_signer("registrar").public_key,)
        registrar = RegistrarSpec("registrar", "Great Lakes pilot registrar", "CD", keys)
        first = genesis(
            ORIGIN,
            fixed_signer("operator"),
            [registrar],
            DEFAULT_POLICY.to_json(),
            time="2026-01-01T00:00:00Z",
        )
        assert self.submit(first).status == "accepted"

    def submit(self, submission: Submission) -> Result:
        envelope = submission.envelope
        statement = envelope.statement
        for entry in self.log:
            if (entry.statement.key, entry.statement.n) == (statement.key, statement.n):
                if entry.envelope.statement_bytes != envelope.statement_bytes:
                    return self._reject(ConflictError("equivocation", code="equivocation"))
                self.duplicates += 1
                return Result("duplicate", entry.seq, entry.leaf_hash)
        seq = len(self.log)
        entry = entries.make(
            seq, self.log[-1].leaf_hash if self.log else None, self.logged, envelope
        )
        try:
            envelope.verify(rules.signing_key(self.state, statement))
            rules.apply(self.state, statement, Context(seq, entry.leaf_hash, self.logged))
            allowed = PRIVATE_FIELDS.get(statement.type, frozenset())
            disclosures.match(statement.sd, list(submission.disclosures), allowed)
            if len(submission.disclosures) != len(statement.sd):
                raise ValidationError("a disclosure is missing.", code="disclosure_missing")
        except LedgerError as exc:
            self.state.drop()
            return self._reject(exc)
        self.state.keep()
        self.log.append(entry)
        self.submissions.append(submission)
        return Result("accepted", seq, entry.leaf_hash)

    def _reject(self, exc: LedgerError) -> Result:
        self.rejected.append(exc)
        return Result("rejected", error=exc)

    def rows(self, kind: str) -> list[Any]:
        """The derived objects of one kind ("lot", "site" ...), as the rules last wrote them."""
        return [value for value, _new in self.state.accepted.rows.get(kind, {}).values()]

    def flags(self) -> list[Flag]:
        return self.state.appended("flag")

    def statement_bytes(self) -> list[bytes]:
        """Everything the demo signed or disclosed, in order: what must be reproducible."""
        return [
            s.envelope.canonical() + b"".join(d.canonical() for d in s.disclosures)
            for s in self.submissions
        ]


def load(seed: int) -> tuple[Harness, demo.DemoSummary]:
    harness = Harness()
    return harness, demo.run_demo(harness.submit, registrar_author(), seed=seed)


@pytest.fixture(scope="module")
def loaded() -> tuple[Harness, demo.DemoSummary]:
    return load(1)


@pytest.fixture(scope="module")
def harness(loaded: tuple[Harness, demo.DemoSummary]) -> Harness:
    return loaded[0]


@pytest.fixture(scope="module")
def summary(loaded: tuple[Harness, demo.DemoSummary]) -> demo.DemoSummary:
    return loaded[1]


def of_type(harness: Harness, statement_type: str) -> list[Entry]:
    return [e for e in harness.log if e.statement.type == statement_type]


# -- acceptance and counts -----------------------------------------------------------------------
def test_every_statement_is_accepted(harness: Harness, summary: demo.DemoSummary) -> None:
    assert harness.rejected == []
    assert harness.duplicates == 0
    assert summary.statements == len(harness.log) - 1  # all but genesis


def test_summary_matches_the_derived_state(harness: Harness, summary: demo.DemoSummary) -> None:
    lots: list[Lot] = harness.rows("lot")
    sites: list[Site] = harness.rows("site")
    actors: list[Actor] = harness.rows("actor")
    assert summary.lots == len(lots) >= 30
    assert summary.sites == len(sites) >= 3
    assert summary.actors == len([a for a in actors if a.id not in ("operator", "registrar")])
    assert len({site.country for site in sites}) >= 2
    assert {"CD", "RW"} <= {site.country for site in sites}


def test_the_cast(harness: Harness) -> None:
    actors: list[Actor] = harness.rows("actor")
    miners: list[Miner] = harness.rows("miner")
    by_role = Counter(role for actor in actors for role in actor.roles)
    assert by_role["cooperative"] >= 2
    assert by_role["trader"] >= 2
    assert by_role["exporter"] >= 1
    assert by_role["processor"] + by_role["refiner"] >= 1
    assert by_role["auditor"] >= 1
    assert by_role["inspector"] >= 1
    per_coop = Counter(miner.cooperative for miner in miners)
    assert len([coop for coop, count in per_coop.items() if count >= 3]) >= 2


def test_sites_cover_tin_tantalum_and_gold(harness: Harness) -> None:
    sites: list[Site] = harness.rows("site")
    minerals = {mineral for site in sites for mineral in site.minerals}
    assert {"tin", "tantalum", "gold"} <= minerals
    assert all(site.capacity_g_month > 0 for site in sites)


def test_registered_output_stays_within_capacity(harness: Harness) -> None:
    capacity = {site.id: site.capacity_g_month for site in harness.rows("site")}
    output: Counter[tuple[str, str]] = Counter()
    for entry in of_type(harness, "lot.register"):
        body = entry.statement.body
        output[(body["site"], body["extracted"][:7])] += body["mass_g"]
    assert output
    assert all(total <= capacity[site] for (site, _month), total in output.items())


def test_every_statement_type_is_used(harness: Harness) -> None:
    used = Counter(entry.statement.type for entry in harness.log)
    assert set(used) == STATEMENT_TYPES
    assert set(used) >= CUSTODY_TYPES
    assert used["lot.export"] >= 2
    assert used["lot.receive"] == used["lot.dispatch"]
    assert (used["incident"], used["incident.resolve"]) == (2, 1)


# -- attestations, flags, keys -------------------------------------------------------------------
VOCABULARY_CLAIMS = {"site.inspection", "child_labour_free", "mercury_free", "mercury_use_reduced",
                     "no_armed_group_presence", "ohs_training", "women_participation",
                     "fair_payment", "assay"}  # fmt: skip


def test_attestations_of_several_claims_and_one_revocation(harness: Harness) -> None:
    attestations: list[Attestation] = harness.rows("attestation")
    claims = {a.claim for a in attestations}
    assert claims >= VOCABULARY_CLAIMS
    results = {a.result for a in attestations if a.claim == "site.inspection"}
    assert results == {"green", "yellow", "red"}
    gold_sites = {s.id for s in harness.rows("site") if s.minerals == ("gold",)}
    mercury = {"mercury_free", "mercury_use_reduced"}
    assert len(gold_sites) >= 2
    assert {a.subject_id for a in attestations if a.claim in mercury} == gold_sites
    assays = [a for a in attestations if a.claim == "assay"]
    assert assays
    assert all(a.subject_kind == "lot" and a.attestor.startswith("auditor") for a in assays)
    revoked = [a.id for a in attestations if a.revoked_seq is not None]
    assert revoked == [demo.REVOKED_ATTESTATION]


def test_every_attestation_is_of_the_vocabulary_with_its_fields(harness: Harness) -> None:
    found = of_type(harness, "attestation")
    assert found
    for entry in found:
        body = entry.statement.body
        assert body["vocabulary"] == 1, body["id"]
        assert body["fields"], body["id"]
        if body["claim"] == "site.inspection":
            assert body["fields"]["date"] == body["valid_from"] <= entry.statement.time[:10]
            assert body["fields"]["inspector"] and body["fields"]["agency"]


def test_attestation_evidence_is_document_digests(harness: Harness) -> None:
    for entry in of_type(harness, "attestation"):
        evidence = entry.statement.body["evidence"]
        assert evidence
        assert all(len(bytes.fromhex(digest)) == 32 for digest in evidence)


def children_in_log(harness: Harness) -> dict[str, set[str]]:
    """Each lot's outputs, read from the signed split, merge and process bodies."""
    children: dict[str, set[str]] = {}
    for entry in harness.log:
        body, kind = entry.statement.body, entry.statement.type
        if kind == "lot.split":
            children.setdefault(body["lot"], set()).update(o["lot"] for o in body["outputs"])
        elif kind == "lot.merge":
            for lot_id in body["inputs"]:
                children.setdefault(lot_id, set()).add(body["output"]["lot"])
        elif kind == "lot.process":
            for lot_id in body["inputs"]:
                children.setdefault(lot_id, set()).update(o["lot"] for o in body["outputs"])
    return children


def downstream(harness: Harness, roots: set[str]) -> set[str]:
    """``roots`` and every lot made from them, by the log's bodies (not the derived state)."""
    children, found, todo = children_in_log(harness), set(), list(roots)
    while todo:
        lot_id = todo.pop()
        if lot_id not in found:
            found.add(lot_id)
            todo.extend(children.get(lot_id, ()))
    return found


def registered_at(harness: Harness, site_id: str) -> set[str]:
    return {e.statement.body["lot"] for e in of_type(harness, "lot.register")
            if e.statement.body["site"] == site_id}  # fmt: skip


def incident_entry(harness: Harness, incident_id: str) -> Entry:
    (entry,) = [e for e in of_type(harness, "incident") if e.statement.body["id"] == incident_id]
    return entry


def test_the_flags_are_the_light_bag_and_the_two_incidents_taint(harness: Harness) -> None:
    """Every other lot -- the showcase's chain, the Congolese tin and tantalum, the gold of
    Chiherano -- carries no flag. Each incident flags, at its own entry, the lots that already
    came from its subject; Lukigi's gold is all made before its incident opens."""
    reported = incident_entry(harness, demo.RESOLVED_INCIDENT)
    subject = reported.statement.body["subject"]["id"]
    resolved = downstream(harness, {subject})
    assert resolved == {subject, demo.CLEARED_LOT}  # the bag and the blend it went into
    opened = incident_entry(harness, demo.OPEN_INCIDENT)
    lukigi = downstream(harness, registered_at(harness, demo.RED_SITE))
    expected = {("mass_discrepancy", f"lot:{demo.DISCREPANCY_LOT}")} | {
        ("tainted", f"lot:{lot_id}") for lot_id in resolved | lukigi
    }
    flags = harness.flags()
    assert {(f.code, f.subject) for f in flags} == expected
    assert len(flags) == len(expected)
    assert {f.seq for f in flags if f.subject[4:] in resolved and f.code == "tainted"} == {
        reported.seq
    }
    assert {f.seq for f in flags if f.subject[4:] in lukigi} == {opened.seq}
    flagged = {f.subject[4:] for f in flags}
    clean = [lot for lot in harness.rows("lot") if lot.id not in flagged]
    assert len(clean) == len(harness.rows("lot")) - 3 - len(lukigi) >= 30


def test_receipts_within_tolerance_except_the_light_bag(harness: Harness) -> None:
    sent: dict[str, int] = {}
    deviation_ppm: dict[str, int] = {}
    for entry in harness.log:
        body = entry.statement.body
        if entry.statement.type == "lot.dispatch":
            sent[body["lot"]] = body["mass_g"]
        elif entry.statement.type == "lot.receive":
            difference = abs(body["mass_g"] - sent[body["lot"]])
            deviation_ppm[body["lot"]] = difference * 1_000_000 // sent[body["lot"]]
    light = deviation_ppm.pop(demo.DISCREPANCY_LOT)
    assert light > DEFAULT_POLICY.receipt_tolerance_ppm
    assert max(deviation_ppm.values()) <= 3_000
    assert sum(1 for d in deviation_ppm.values() if d > 0) > len(deviation_ppm) // 2


def test_the_rotated_key_is_revoked_and_its_successor_signs(harness: Harness) -> None:
    keys: list[Key] = [k for k in harness.rows("key") if k.actor == demo.ROTATED_ACTOR]
    assert len(keys) == 2
    old = next(k for k in keys if k.revoked_seq is not None)
    new = next(k for k in keys if k.revoked_seq is None)
    assert old.revoked_seq is not None
    assert old.revoked_effective is not None
    revoked_at = old.revoked_seq
    later = [
        e.statement
        for e in harness.log
        if e.statement.actor == demo.ROTATED_ACTOR and e.seq > revoked_at
    ]
    earlier = [
        e.statement for e in harness.log[:revoked_at] if e.statement.actor == demo.ROTATED_ACTOR
    ]
    assert earlier
    assert {s.key for s in earlier} == {old.key_id}
    assert {s.type for s in later} >= {"lot.merge", "lot.dispatch"}
    assert {s.key for s in later} == {new.key_id}
    assert new.key_id == demo.replacement_key(1).key_id


# -- due diligence: site status, incidents, taint ------------------------------------------------
def site_status(harness: Harness, site_id: str) -> SiteStatus:
    found = harness.state.site_status(site_id)
    assert found is not None
    return found


def inspections_of(harness: Harness, site_id: str) -> list[Entry]:
    return [e for e in of_type(harness, "attestation")
            if e.statement.body["claim"] == "site.inspection"
            and e.statement.body["subject"]["id"] == site_id]  # fmt: skip


def test_every_site_status_occurs(harness: Harness) -> None:
    statuses = {site.id: site_status(harness, site.id).status for site in harness.rows("site")}
    assert set(statuses.values()) == {"green", "yellow", "red", "blue"}
    assert statuses[demo.RED_SITE] == "red"
    assert statuses[demo.UNINSPECTED_SITE] == statuses[demo.STALE_SITE] == "blue"


def test_blue_as_never_inspected_and_as_a_green_inspection_over_a_year_old(
    harness: Harness,
) -> None:
    never = site_status(harness, demo.UNINSPECTED_SITE)
    assert inspections_of(harness, demo.UNINSPECTED_SITE) == []
    assert (never.basis, [r[1] for r in never.records]) == (None, ["blue"])
    assert registered_at(harness, demo.UNINSPECTED_SITE) == set()  # nothing to flag
    stale = site_status(harness, demo.STALE_SITE)
    (inspection,) = inspections_of(harness, demo.STALE_SITE)
    body = inspection.statement.body
    assert (body["result"], stale.basis) == ("green", body["id"])
    age = date.fromisoformat(inspection.statement.time[:10]) - date.fromisoformat(
        body["fields"]["date"]
    )
    assert age.days > 365 and body["valid_until"] > inspection.statement.time[:10]  # not lapsed
    assert registered_at(harness, demo.STALE_SITE) == set()


def test_the_red_site_turned_red_after_its_last_lot(harness: Harness) -> None:
    history = [c for c in harness.state.appended("site_status_change") if c.site == demo.RED_SITE]
    assert [(c.status, c.basis) for c in history] == [
        ("green", None),  # as its registration recorded
        ("green", "insp-lukigi-2601"),
        ("red", "insp-lukigi-2602"),
    ]
    red = history[-1].seq
    lots = [e.seq for e in of_type(harness, "lot.register")
            if e.statement.body["site"] == demo.RED_SITE]  # fmt: skip
    assert lots and max(lots) < red
    assert harness.log[red].statement.body["result"] == "red"


def next_statement(harness: Harness, actor: str) -> Author:
    """An author for a demo actor whose counter follows its last statement in the log."""
    signer = demo.demo_keys(1)[actor]
    last = max(e.statement.n for e in harness.log if e.statement.key == signer.key_id)
    return Author(ORIGIN, actor, signer, n=last)


def test_a_lot_from_the_red_site_is_refused() -> None:
    fresh, _ = load(1)
    coop = next_statement(fresh, "coop-coamwa")
    body = {"lot": "LUK-AU-004", "site": demo.RED_SITE, "mineral": "gold", "form": "concentrate",
            "mass_g": 90, "grade_ppm": 850_000, "tags": ["MT-CD-999999"],
            "extracted": "2026-02-07"}  # fmt: skip
    late = coop.sign("lot.register", body, time="2026-02-08T08:00:00Z")
    result = fresh.submit(late)
    assert result.status == "rejected" and result.error is not None
    assert result.error.code == "site_status_refused"


def test_the_open_incident_taints_exactly_the_lots_from_its_site(harness: Harness) -> None:
    entry = incident_entry(harness, demo.OPEN_INCIDENT)
    subject = entry.statement.body["subject"]
    assert subject == {"kind": "site", "id": demo.RED_SITE}
    incident = harness.state.incident(demo.OPEN_INCIDENT)
    assert incident is not None and incident.resolved_seq is None
    below = downstream(harness, registered_at(harness, demo.RED_SITE))
    made_by = set()
    for e in harness.log:
        body = e.statement.body
        outputs = {o["lot"] for o in [*body.get("outputs", []), body.get("output", {})] if o}
        if e.statement.type in ("lot.merge", "lot.split") and outputs & below:
            made_by.add(e.statement.type)
    assert made_by == {"lot.merge", "lot.split"}  # the taint passed through both
    tainted = {lot.id for lot in harness.rows("lot") if incidents.tainting(harness.state, lot)}
    assert tainted == below
    assert demo.TAINTED_LOT in below
    held = {lot.id for lot in harness.rows("lot") if lot.id in below and lot.status == "held"}
    assert demo.TAINTED_LOT in held
    assert not any(lot.status == "exported" for lot in harness.rows("lot") if lot.id in below)


def test_the_tainted_lot_cannot_be_exported() -> None:
    fresh, _ = load(1)
    exporter = next_statement(fresh, "exporter-goma")
    head = fresh.state.head(f"lot:{demo.TAINTED_LOT}")
    assert head is not None
    body = {"lot": demo.TAINTED_LOT, "certificate": "CD-ICGLR-2026-000400", "destination": "AE"}
    attempt = exporter.sign("lot.export", body, time="2026-02-08T08:00:00Z",
                            after={f"lot:{demo.TAINTED_LOT}": head})  # fmt: skip
    result = fresh.submit(attempt)
    assert result.status == "rejected" and result.error is not None
    assert result.error.code == "lot_tainted"


def test_the_resolved_incident_held_its_lots_back_until_resolution(harness: Harness) -> None:
    """Replay the demo's own statements up to the resolution: its export is refused there, and
    accepted once the resolution is logged."""
    resolution = next(e for e in of_type(harness, "incident.resolve"))
    assert resolution.statement.body["incident"] == demo.RESOLVED_INCIDENT
    export_seq = next(e.seq for e in of_type(harness, "lot.export")
                      if e.statement.body["lot"] == demo.CLEARED_LOT)  # fmt: skip
    assert incident_entry(harness, demo.RESOLVED_INCIDENT).seq < resolution.seq < export_seq
    replayed = Harness()
    submissions = harness.submissions[1:]  # genesis is the harness's own
    for submission in submissions[: resolution.seq - 1]:
        assert replayed.submit(submission).status == "accepted"
    export = submissions[export_seq - 1]
    early = replayed.submit(export)
    assert early.status == "rejected" and early.error is not None
    assert early.error.code == "lot_tainted"
    assert replayed.submit(submissions[resolution.seq - 1]).status == "accepted"
    assert replayed.submit(export).status == "accepted"
    cleared = harness.state.lot(demo.CLEARED_LOT)
    assert cleared is not None and cleared.status == "exported"
    assert incidents.tainting(harness.state, cleared) == []


def test_the_demo_files_one_grievance_off_the_log(harness: Harness) -> None:
    """The grievance goes to ``grieve``, not to the log: the statements are the same bytes."""
    filed: list[demo.DemoGrievance] = []
    again = Harness()
    summary = demo.run_demo(again.submit, registrar_author(), seed=1, grieve=filed.append)
    assert summary.grievances == len(filed) == 1
    assert again.statement_bytes() == harness.statement_bytes()
    (grievance,) = filed
    assert grievance.site in {site.id for site in harness.rows("site")}
    revocation = of_type(harness, "attestation.revoke")[0].statement
    withdrawn = harness.state.attestation(revocation.body["attestation"])
    assert withdrawn is not None and grievance.site == withdrawn.subject_id  # what it led to
    assert START.date().isoformat() < grievance.day <= revocation.time[:10]  # it came first
    assert grievance.text and "miner-" not in grievance.text  # no one is named


# -- privacy, time, provenance -------------------------------------------------------------------
def test_private_fields_never_reach_the_statements(harness: Harness) -> None:
    miner_fields = {"name", "national_id", "phone", "sex", "birth_year"}
    for submission in harness.submissions:
        statement = submission.envelope.statement
        for disclosure in submission.disclosures:
            assert disclosure.name not in statement.body
            value = canonical.dumps(disclosure.value)
            if len(value) > 8:  # short values ("F", 1991) may occur by chance
                assert value not in submission.envelope.statement_bytes
        if statement.type == "miner.register":
            assert {d.name for d in submission.disclosures} == miner_fields
        if statement.type in ("lot.register", "lot.dispatch", "lot.export"):
            assert "price" in {d.name for d in submission.disclosures}


def test_times_advance_from_start_and_stay_before_the_cutoff(harness: Harness) -> None:
    times = [parse_time(e.statement.time) for e in harness.log[1:]]
    assert times == sorted(times)
    assert times[0] > START
    assert times[-1] < CUTOFF


def sites_in_ancestry(harness: Harness, lot_id: str) -> set[str]:
    """Follow the signed ``after`` links from the lot's head back to its mine registrations."""
    by_leaf = {entry.leaf_hash: entry for entry in harness.log}
    head = harness.state.head(f"lot:{lot_id}")
    assert head is not None
    frontier, seen, sites = [head], set(), set()
    while frontier:
        leaf = frontier.pop()
        if leaf in seen:
            continue
        seen.add(leaf)
        statement = by_leaf[leaf].statement
        if statement.type == "lot.register":
            sites.add(statement.body["site"])
        frontier.extend(
            bytes.fromhex(h) for s, h in statement.after.items() if s.startswith("lot:")
        )
    return sites


def test_the_showcase_lot_is_exported_metal_from_several_sites(
    harness: Harness, summary: demo.DemoSummary
) -> None:
    lot: Lot | None = harness.state.lot(summary.showcase_lot)
    assert lot is not None
    assert (lot.status, lot.form) == ("exported", "metal")
    assert len(sites_in_ancestry(harness, summary.showcase_lot)) >= 2
    assert set(lot.origins) == sites_in_ancestry(harness, summary.showcase_lot)


# -- determinism and failure ---------------------------------------------------------------------
def test_the_same_seed_gives_the_same_bytes(harness: Harness) -> None:
    again, _summary = load(1)
    assert again.statement_bytes() == harness.statement_bytes()
    assert [e.leaf_hash for e in again.log] == [e.leaf_hash for e in harness.log]


def demo_signed(harness: Harness) -> set[bytes]:
    """The statements signed by the demo's own actors (not the operator or the registrar)."""
    setup = ("operator", "registrar")
    return {e.envelope.statement_bytes for e in harness.log if e.statement.actor not in setup}


@pytest.mark.parametrize("seed", [2, 20260105])
def test_another_seed_gives_other_bytes_and_still_passes(harness: Harness, seed: int) -> None:
    other, summary = load(seed)
    assert other.rejected == []
    assert summary.lots >= 30
    assert len(other.log) == len(harness.log)
    assert other.statement_bytes() != harness.statement_bytes()
    ours, theirs = demo_signed(harness), demo_signed(other)
    assert ours.isdisjoint(theirs)  # every demo actor signs with keys of its own seed
    mine = {(f.code, f.subject) for f in harness.flags()}
    assert {(f.code, f.subject) for f in other.flags()} == mine
    assert len(sites_in_ancestry(other, summary.showcase_lot)) >= 2


def test_demo_keys_are_derived_from_the_seed_and_actor() -> None:
    keys = demo.demo_keys(7)
    expected = hashlib.sha256(b"asm-ledger demo/7/coop-comuma").digest()
    assert keys["coop-comuma"].public_key == Ed25519Signer.from_seed(expected).public_key
    assert demo.demo_keys(7)["coop-comuma"].key_id == keys["coop-comuma"].key_id
    assert demo.demo_keys(8)["coop-comuma"].key_id != keys["coop-comuma"].key_id
    assert len({signer.key_id for signer in keys.values()}) == len(keys)


def test_rerunning_the_same_seed_only_finds_duplicates() -> None:
    fresh = Harness()
    first = demo.run_demo(fresh.submit, registrar_author(), seed=1)
    size = len(fresh.log)
    second = demo.run_demo(fresh.submit, registrar_author(), seed=1)
    assert (len(fresh.log), fresh.duplicates, fresh.rejected) == (size, first.statements, [])
    assert second == first


def test_a_refused_statement_stops_the_demo() -> None:
    stranger = Harness()
    with pytest.raises(demo.DemoError, match=r"actor\.register by registrar .*unknown_key"):
        demo.run_demo(stranger.submit, registrar_author("not-the-registrar"))
    assert len(stranger.log) == 1  # genesis only


def test_a_raising_submit_is_reported_as_a_demo_error() -> None:
    def refuse(submission: Submission) -> Result:
        raise ConflictError("the log is closed for maintenance.", code="closed")

    with pytest.raises(demo.DemoError, match="closed for maintenance") as caught:
        demo.run_demo(refuse, registrar_author())
    assert isinstance(caught.value.__cause__, ConflictError)


def test_a_naive_start_time_is_refused() -> None:
    with pytest.raises(demo.DemoError, match="timezone-aware"):
        demo.run_demo(Harness().submit, registrar_author(), start=datetime(2026, 1, 5))


# -- the story moved to the day `ledger demo` runs -------------------------------------------------
@pytest.mark.parametrize(
    "today",
    [date(2026, 12, 6), date(2027, 3, 1), date(2028, 2, 29), date(2030, 1, 2)],
    ids=["december", "across-february", "leap-day", "new-year"],
)
def test_the_story_moved_to_any_day_keeps_every_status_in_force_that_day(
    harness: Harness, today: date
) -> None:
    """``ledger demo`` starts the story 60 days before the day it runs. Whatever that day,
    every statement is accepted, the flags are the story's, and on that day every site status
    the story tells of holds: green and yellow inspections in force, Lukigi red, Kibabi never
    inspected, Rugabano blue because its green inspection is more than a year old."""
    start = demo.start_for(today)
    moved = Harness(logged=f"{today.isoformat()}T00:00:00Z")
    demo.run_demo(moved.submit, registrar_author(), seed=1, start=start)
    assert moved.rejected == []
    assert len(moved.log) == len(harness.log)
    assert parse_time(moved.log[1].statement.time) > start
    assert parse_time(moved.log[-1].statement.time) < datetime.combine(
        today, datetime.min.time(), UTC
    )
    assert sorted((f.code, f.subject) for f in moved.flags()) == sorted(
        (f.code, f.subject) for f in harness.flags()
    )
    found = {
        site.id: sitestatus.on_day(site_status(moved, site.id).records, today.isoformat())
        for site in moved.rows("site")
    }
    assert {f["status"] for f in found.values()} == {"green", "yellow", "red", "blue"}
    assert found[demo.RED_SITE]["status"] == "red"
    assert found[demo.UNINSPECTED_SITE]["reason"] == "never_inspected"
    assert (found[demo.STALE_SITE]["status"], found[demo.STALE_SITE]["reason"]) == ("blue", "age")
    assert all(site.licence_expires > today.isoformat() for site in moved.rows("site"))


def test_a_dry_run_tells_when_the_story_ends(harness: Harness) -> None:
    """``ledger demo --start`` checks with it that the story would not end in the future."""
    last = parse_time(harness.log[-1].statement.time)
    assert demo.story_end(START) == last
    later = START + timedelta(days=400)
    assert demo.story_end(later) == last + timedelta(days=400)
