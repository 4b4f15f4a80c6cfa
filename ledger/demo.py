"""The deterministic demo supply chain behind ``ledger demo [--seed N]``.

Great Lakes artisanal mining over five weeks (as written, from 5 January 2026; ``ledger demo``
moves the story to end shortly before the day it runs): three cooperatives dig cassiterite
(tin), coltan (tantalum) and gold at five producing mine sites in North and South Kivu (DR Congo)
and in Rwanda's Western Province; comptoirs in Goma, Bukavu and Rutsiro buy and blend the bags; an
exporter in Goma ships concentrate and gold; a smelter near Kigali turns Rwandan concentrate into
tin ingots that a Kigali exporter ships. An inspection team and an assay firm sign attestations
of the vocabulary (one is later withdrawn), a receipt comes in light enough to raise a flag, and a
trader whose phone was stolen replaces its key.

The due-diligence story: every site status occurs -- green, yellow (Kanyatsi), red (Lukigi, once
an armed group is found taxing its pits), blue for a new site never inspected (Kibabi) and blue
for a site whose only green inspection is more than a year old (Rugabano). Two incidents: a
suspected tag copy on a Gatare bag, reported after the bag was blended, holds the blend back from
export until the auditor resolves it, and the blend is then exported; the armed group at Lukigi
(an incident about the site, still open at the end) holds back the gold blended and split from
Lukigi's bags, which stays with the Goma exporter. The only flags are the light bag's and the
``tainted`` flags of the Gatare bag and its blend; Lukigi's lots are tainted (read through their
origin site) without a flag row, as an incident about a site flags no lot that already exists.
Every name, licence, ID and phone number is fictional.

:func:`run_demo` signs each statement as the actor who would make it and hands it to a caller's
``submit`` (the sequencer, or a test's in-memory log); it stops with :class:`DemoError` at the
first statement the ledger refuses. It does not create the registrar (genesis does), read the log
or store keys. For one seed the statements are byte-identical on every run: keys come from
:func:`demo_keys`, disclosure salts from the seed, times from ``start``, quantities from
``random.Random(seed)``. Dates the story names outside its five weeks move with ``start`` too:
the old Rugabano inspection (412 days before it) and the licences' expiry years; ids, invoice and
certificate numbers keep the story's 2026. Those salts are public, so the private fields
protect nothing: demo data only.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from ledger.bodies import PPM, VOCABULARY
from ledger.builder import Author
from ledger.canonical import b64encode
from ledger.crypto import Ed25519Signer
from ledger.errors import LedgerError
from ledger.statements import Submission, format_time, parse_time

# The story as written starts on Monday 5 January 2026; ``ledger demo`` moves it so that it ends
# shortly before the day it runs (see :func:`start_for`), so that its inspections are in force.
STORY_START = datetime(2026, 1, 5, 7, 0, tzinfo=UTC)
DAYS_BEFORE_TODAY = 60  # the story takes about five weeks; inspections are valid for 180 days
SHOWCASE_LOT = "NTS-SN-2601-P1"  # tin ingots exported from Kigali, traced to two Rwandan sites
DISCREPANCY_LOT = "KAN-SN-004"  # the one bag that arrives more than the tolerance light
REVOKED_ATTESTATION = "clf-kanyatsi-2601"
ROTATED_ACTOR = "trader-rutsiro"  # loses its phone; the registrar adds a new key
OPEN_INCIDENT = "inc-lukigi-2602"  # an armed group at site-lukigi: still open at the end
RESOLVED_INCIDENT = "inc-gtr-ta-002"  # a suspected tag copy on bag GTR-TA-002: resolved
TAINTED_LOT = "MMX-AU-2602-B1"  # Lukigi gold held by the Goma exporter: cannot be exported
CLEARED_LOT = "RMT-TA-2601"  # the blend held back by the resolved incident, exported after it
RED_SITE = "site-lukigi"
UNINSPECTED_SITE = "site-kibabi"  # blue: never inspected
STALE_SITE = "site-rugabano"  # blue: its green inspection is more than a year old
# The anonymous grievance about Kanyatsi that leads to the follow-up visit (kept off the log).
GRIEVANCE = {
    "site": "site-kanyatsi",
    "category": "child_labour",
    "language": "fr",
    "text": "Des enfants lavent le minerai au point de lavage de Kanyatsi après l'école, "
    "surtout le samedi.",
}
_OK = frozenset({"accepted", "duplicate"})
_STEP = timedelta(minutes=7)


class DemoError(LedgerError):
    """A demo statement was refused: the demo never leaves a ledger silently half-loaded."""

    default_code = "demo_failed"


class Outcome(Protocol):
    """What ``submit`` returns (``ledger.custody.log.Result`` fits)."""

    @property
    def status(self) -> str: ...
    @property
    def leaf_hash(self) -> bytes | None: ...
    @property
    def error(self) -> BaseException | None: ...


@dataclass(frozen=True)
class DemoGrievance:
    """An anonymous grievance the demo files about a site: not a statement (grievances are kept
    off the log, unsigned); ``run_demo`` hands it to its caller's ``grieve`` to store."""

    site: str
    category: str
    text: str
    language: str
    day: str


@dataclass(frozen=True)
class DemoSummary:
    """What the demo loaded: statements submitted, lots, sites and actors it created."""

    statements: int
    lots: int
    sites: int
    actors: int
    showcase_lot: str
    tainted_lot: str = TAINTED_LOT
    grievances: int = 0


# Actors: (id, name, role, country; private: contact name, phone, address).
# fmt: off
_ACTORS = (
    ("coop-comuma", "Coopérative Minière Umoja wa Masisi (COMUMA)", "cooperative", "CD",
     "Faustin Habarugira", "+243 997 214 503", "Rubaya, Masisi, Nord-Kivu"),
    ("coop-coamwa", "Coopérative Aurifère Mwangaza de Walungu (COAMWA)", "cooperative", "CD",
     "Bernadette Mapendo", "+243 853 118 640", "Kaniola, Walungu, Sud-Kivu"),
    ("coop-kotwa", "Koperative Twiyubake y'Abacukuzi ba Rutsiro (KOTWA)", "cooperative", "RW",
     "Vestine Mukarugwiza", "+250 788 410 275", "Gihango, Rutsiro, Western Province"),
    ("comptoir-goma", "Comptoir Tujenge Minerals SARL", "trader", "CD",
     "Patrick Kambale", "+243 994 702 118", "Avenue du Lac 14, Goma"),
    ("comptoir-bukavu", "Comptoir Or Bahati SARL", "trader", "CD",
     "Gisèle Bashige", "+243 815 330 902", "Avenue Patrice Lumumba 88, Bukavu"),
    (ROTATED_ACTOR, "Rutsiro Mineral Traders Ltd", "trader", "RW",
     "Innocent Habimana", "+250 783 556 014", "Congo-Nil, Rutsiro"),
    ("exporter-goma", "Maji Makubwa Export SARL", "exporter", "CD",
     "Olivier Paluku", "+243 970 441 267", "Boulevard Kanyamuhanga 51, Goma"),
    ("exporter-kigali", "Ishema Minerals Export Ltd", "exporter", "RW",
     "Grace Umutoni", "+250 722 190 338", "KG 9 Ave, Kigali"),
    ("smelter-kigali", "Nyabarongo Tin Smelting Ltd", "processor", "RW",
     "Samuel Nkurunziza", "+250 788 903 421", "Special Economic Zone, Kigali"),
    ("auditor-mugisha", "Mugisha Assay & Audit Ltd", "auditor", "RW",
     "Dr. Alice Mugisha", "+250 785 227 690", "KN 3 Rd, Kigali"),
    ("inspector-jmsit", "Joint Mine Site Inspection Team, Kivu-Rwanda pilot", "inspector", "CD",
     "Jean-Pierre Kasereka", "+243 998 665 013", "Division des Mines, Goma"),
)

# Mine sites, as the registrar registers them (coordinates in micro-degrees).
_SITES: tuple[dict[str, Any], ...] = (
    {"id": "site-kanyatsi", "name": "Kanyatsi Hill", "country": "CD",
     "region": "North Kivu, Masisi territory", "location": {"lat_e6": -1_571_200,
     "lon_e6": 28_874_300}, "minerals": ["tantalum", "tin"], "cooperative": "coop-comuma",
     "licence": {"number": "ZEA-NK-0417/2024", "expires": "2028-06-30"},
     "capacity_g_month": 6_000_000, "inspection_status": "yellow"},
    {"id": "site-chiherano", "name": "Chiherano", "country": "CD",
     "region": "South Kivu, Walungu territory", "location": {"lat_e6": -2_698_500,
     "lon_e6": 28_702_100}, "minerals": ["gold"], "cooperative": "coop-coamwa",
     "licence": {"number": "ZEA-SK-0233/2023", "expires": "2027-12-31"},
     "capacity_g_month": 1_500, "inspection_status": "green"},
    {"id": "site-nyarusange", "name": "Nyarusange", "country": "RW",
     "region": "Western Province, Rutsiro district", "location": {"lat_e6": -1_960_300,
     "lon_e6": 29_353_800}, "minerals": ["tin"], "cooperative": "coop-kotwa",
     "licence": {"number": "RMB/SML/2023/117", "expires": "2028-03-31"},
     "capacity_g_month": 4_000_000, "inspection_status": "green"},
    {"id": "site-gatare", "name": "Gatare", "country": "RW",
     "region": "Western Province, Ngororero district", "location": {"lat_e6": -1_843_000,
     "lon_e6": 29_589_600}, "minerals": ["tantalum", "tin"], "cooperative": "coop-kotwa",
     "licence": {"number": "RMB/SML/2022/064", "expires": "2027-09-30"},
     "capacity_g_month": 3_000_000, "inspection_status": "green"},
    {"id": RED_SITE, "name": "Lukigi", "country": "CD",
     "region": "South Kivu, Mwenga territory", "location": {"lat_e6": -3_046_200,
     "lon_e6": 28_431_700}, "minerals": ["gold"], "cooperative": "coop-coamwa",
     "licence": {"number": "ZEA-SK-0391/2025", "expires": "2029-01-31"},
     "capacity_g_month": 1_200, "inspection_status": "green"},
    # licensed in December 2025; no production until its first inspection
    {"id": UNINSPECTED_SITE, "name": "Kibabi", "country": "CD",
     "region": "North Kivu, Masisi territory", "location": {"lat_e6": -1_482_600,
     "lon_e6": 28_951_400}, "minerals": ["tantalum", "tin"], "cooperative": "coop-comuma",
     "licence": {"number": "ZEA-NK-0502/2025", "expires": "2029-12-31"},
     "capacity_g_month": 2_000_000, "inspection_status": "blue"},
    # the registrar recorded the green of its paper certificate; the inspection behind it is of
    # November 2024, so the ledger derives blue (green older than a year) once it is attested
    {"id": STALE_SITE, "name": "Rugabano", "country": "RW",
     "region": "Western Province, Karongi district", "location": {"lat_e6": -2_116_900,
     "lon_e6": 29_437_200}, "minerals": ["tin"], "cooperative": "coop-kotwa",
     "licence": {"number": "RMB/SML/2021/038", "expires": "2027-06-30"},
     "capacity_g_month": 2_500_000, "inspection_status": "green"},
)
# fmt: on

# Miners: (id, site, name, sex, birth year).
_MINERS = (
    ("miner-comuma-001", "site-kanyatsi", "Faustin Ntamuhanga", "M", 1988),
    ("miner-comuma-002", "site-kanyatsi", "Claudine Nyiramahoro", "F", 1994),
    ("miner-comuma-003", "site-kanyatsi", "Josué Bizimana Hangi", "M", 1979),
    ("miner-comuma-004", "site-kanyatsi", "Espérance Mukeshimana", "F", 1991),
    ("miner-coamwa-001", "site-chiherano", "Bahati Cirhuza", "M", 1990),
    ("miner-coamwa-002", "site-chiherano", "Françoise Namegabe", "F", 1986),
    ("miner-coamwa-003", "site-chiherano", "Patient Bisimwa", "M", 1997),
    ("miner-coamwa-004", RED_SITE, "Riziki Mugisho", "M", 1992),
    ("miner-coamwa-005", RED_SITE, "Nsimire Bahizire", "F", 1999),
    ("miner-kotwa-001", "site-nyarusange", "Jean Claude Niyonsaba", "M", 1985),
    ("miner-kotwa-002", "site-nyarusange", "Aline Uwimana", "F", 1993),
    ("miner-kotwa-003", "site-gatare", "Eric Hakizimana", "M", 1989),
    ("miner-kotwa-004", "site-gatare", "Diane Mukamana", "F", 1996),
)

# What each site yields: (site, mineral, lot prefix, bags, mass range g, grade range ppm).
_MINING = (
    ("site-kanyatsi", "tin", "KAN-SN", 6, (45_000, 65_000), (620_000, 690_000)),
    ("site-kanyatsi", "tantalum", "KAN-TA", 5, (35_000, 50_000), (240_000, 300_000)),
    ("site-chiherano", "gold", "CHI-AU", 5, (60, 180), (820_000, 900_000)),
    ("site-nyarusange", "tin", "NYR-SN", 6, (45_000, 65_000), (630_000, 700_000)),
    ("site-gatare", "tin", "GTR-SN", 4, (45_000, 60_000), (600_000, 680_000)),
    ("site-gatare", "tantalum", "GTR-TA", 3, (35_000, 50_000), (250_000, 310_000)),
    (RED_SITE, "gold", "LUK-AU", 3, (60, 150), (800_000, 880_000)),
)

# US cents a kilogram, by (mineral, form), at the mine; later sales add a margin.
_RATES = {
    ("tin", "concentrate"): (900, 1_150),
    ("tantalum", "concentrate"): (2_900, 3_700),
    ("gold", "concentrate"): (8_200_000, 9_100_000),
    ("tin", "metal"): (2_900, 3_300),
}


@dataclass(frozen=True)
class _Lot:
    """The demo's own view of a lot, kept in step with what the rules derive."""

    mineral: str
    form: str
    mass_g: int
    grade_ppm: int
    tags: tuple[str, ...]


def _derive(seed: int, label: str) -> bytes:
    return hashlib.sha256(f"asm-ledger demo/{seed}/{label}".encode()).digest()


def demo_keys(seed: int) -> dict[str, Ed25519Signer]:
    """The demo actors' signers, by actor id, each derived from ``seed`` and the actor id."""
    return {a[0]: Ed25519Signer.from_seed(_derive(seed, a[0])) for a in _ACTORS}


def replacement_key(seed: int) -> Ed25519Signer:
    """The key :data:`ROTATED_ACTOR` signs with after its first key is revoked."""
    return Ed25519Signer.from_seed(_derive(seed, f"{ROTATED_ACTOR}/2"))


@dataclass
class _Run:
    """One demo run: the authors, the clock, the heads of subjects, and the lots."""

    submit: Callable[[Submission], Outcome]
    seed: int
    clock: datetime
    authors: dict[str, Author]
    rng: random.Random
    heads: dict[str, str] = field(default_factory=dict)
    lots: dict[str, _Lot] = field(default_factory=dict)
    invoices: dict[str, int] = field(default_factory=dict)
    statements: int = 0
    grieve: Callable[[DemoGrievance], object] | None = None
    grievances: int = 0

    start: datetime = field(init=False)  # where the clock began

    def __post_init__(self) -> None:
        self.start = self.clock

    def post(
        self,
        actor: str,
        kind: str,
        body: dict[str, Any],
        *,
        after: Iterable[str] = (),
        touches: Iterable[str] = (),
        private: Mapping[str, Any] | None = None,
    ) -> None:
        """Sign as ``actor``, submit, and move the heads of ``after`` and ``touches``."""
        author = self.authors[actor]
        after = tuple(after)
        self.clock += _STEP
        salt = _derive(self.seed, f"salt/{author.signer.key_id}/{author.n + 1}")[:16]
        heads = {subject: self.heads[subject] for subject in after}
        submission = author.sign(
            kind, body, time=self.clock, after=heads, private=private, salt=salt
        )
        where = f"the demo's {kind} by {actor} (n={author.n})"
        try:
            result = self.submit(submission)
        except LedgerError as exc:
            raise DemoError(f"{where} was refused: {exc}", code="demo_rejected") from exc
        if result.status not in _OK or result.leaf_hash is None:
            raise DemoError(
                f"{where} was {result.status}: {result.error}", code="demo_rejected"
            ) from result.error
        self.statements += 1
        for subject in (*after, *touches):
            self.heads[subject] = result.leaf_hash.hex()

    def wait(self, *, days: int = 0, hours: int = 0) -> None:
        self.clock += timedelta(days=days, hours=hours)

    def today(self, offset_days: int = 0) -> str:
        return (self.clock + timedelta(days=offset_days)).date().isoformat()

    def invoice(self, actor: str, prefix: str = "INV") -> str:
        self.invoices[actor] = self.invoices.get(actor, 0) + 1
        return f"{prefix}-{actor.split('-')[-1].upper()}-2026-{self.invoices[actor]:04d}"

    def price(self, lot_id: str, margin_pct: int = 0) -> dict[str, Any]:
        """A deterministic price for the lot in US cents, ``margin_pct`` above the mine rate."""
        lot = self.lots[lot_id]
        rate = self.rng.randint(*_RATES[(lot.mineral, lot.form)])
        cents = lot.mass_g * rate * (100 + margin_pct) // 100_000
        return {"currency": "USD", "amount_cents": cents}


@dataclass(frozen=True)
class _Taken:
    """A dry run's answer to every statement: accepted, at the hash of its bytes."""

    leaf_hash: bytes
    status: str = "accepted"
    error: BaseException | None = None


def story_end(start: datetime, seed: int = 1) -> datetime:
    """The time of the story's last statement when it starts at ``start`` (a dry run: every
    statement is signed and taken as accepted; nothing is stored)."""
    times: list[datetime] = []

    def take(submission: Submission) -> _Taken:
        times.append(parse_time(submission.envelope.statement.time))
        return _Taken(hashlib.sha256(submission.envelope.statement_bytes).digest())

    signer = Ed25519Signer.from_seed(_derive(seed, "dry-run registrar"))
    registrar = Author("dry-run.example/ledger", "registrar", signer)
    run_demo(take, registrar, seed=seed, start=start)
    return max(times)


def start_for(today: date) -> datetime:
    """The start ``ledger demo`` gives the story on ``today``: :data:`DAYS_BEFORE_TODAY` days
    before it, at 07:00 UTC. The story then ends a few weeks before today, with every site
    status it tells of still in force today (green inspections last 180 days and a year)."""
    day = today - timedelta(days=DAYS_BEFORE_TODAY)
    return datetime(day.year, day.month, day.day, 7, 0, tzinfo=UTC)


def run_demo(
    submit: Callable[[Submission], Outcome],
    registrar: Author,
    *,
    seed: int = 1,
    start: datetime = STORY_START,
    grieve: Callable[[DemoGrievance], object] | None = None,
) -> DemoSummary:
    """Submit the whole demo supply chain through ``submit``; raise :class:`DemoError` if refused.

    ``registrar`` signs as a registrar that genesis registered; every other actor signs with the
    keys of :func:`demo_keys`. Statement times run from ``start`` over about a month. ``grieve``,
    when given, stores the demo's anonymous grievance (:data:`GRIEVANCE`), off the log; the
    statements are the same with or without it.
    """
    if start.tzinfo is None:
        raise DemoError("start must be a timezone-aware time.", code="invalid")
    authors = {a: Author(registrar.ledger, a, s) for a, s in demo_keys(seed).items()}
    run = _Run(submit, seed, start, {registrar.actor: registrar, **authors}, random.Random(seed))
    run.grieve = grieve
    _register_registry(run, registrar.actor)
    _inspect_sites(run)
    _mine(run)
    _first_mile(run)
    _rotate_key(run, registrar.actor)
    _blend_and_forward(run)
    _smelt_assay_export(run)
    _follow_up(run)
    return DemoSummary(run.statements, len(run.lots), len(_SITES), len(_ACTORS), SHOWCASE_LOT,
                       grievances=run.grievances)  # fmt: skip


# -- registry ------------------------------------------------------------------------------------
def _register_registry(run: _Run, registrar: str) -> None:
    """The registrar registers the actors and sites; each cooperative registers its miners."""
    keys = demo_keys(run.seed)
    for actor_id, name, role, country, contact, phone, address in _ACTORS:
        key = b64encode(keys[actor_id].public_key)
        body = {"id": actor_id, "name": name, "roles": [role], "country": country, "keys": [key]}
        private = {"contact_name": contact, "phone": phone, "address": address}
        private["email"] = f"contact@{actor_id}.example"
        run.post(registrar, "actor.register", body, touches=[f"actor:{actor_id}"], private=private)
    later = max(0, run.start.year - STORY_START.year)  # licences renewed as the story moves
    for site in _SITES:
        site_body: dict[str, Any] = dict(site)
        expires = date.fromisoformat(site["licence"]["expires"])
        site_body["licence"] = {
            **site["licence"],
            "expires": expires.replace(year=expires.year + later).isoformat(),
        }
        run.post(registrar, "site.register", site_body, touches=[f"site:{site['id']}"])
    run.wait(hours=3)
    for miner_id, site_id, name, sex, born in _MINERS:
        site = _site(site_id)
        coop, country = site["cooperative"], site["country"]
        body = {"id": miner_id, "cooperative": coop, "site": site_id}
        person: dict[str, Any] = {"name": name, "sex": sex, "birth_year": born}
        person["national_id"] = _national_id(run, country, sex, born)
        person["phone"] = _phone(run, country)
        run.post(coop, "miner.register", body, touches=[f"miner:{miner_id}"], private=person)


def _site(site_id: str) -> dict[str, Any]:
    return next(site for site in _SITES if site["id"] == site_id)


def _national_id(run: _Run, country: str, sex: str, born: int) -> str:
    if country == "RW":  # 16 digits: 1, birth year, 8 for men or 7 for women, serial, check
        serial, check = run.rng.randrange(10**7), run.rng.randrange(100)
        return f"1{born}{8 if sex == 'M' else 7}{serial:07d}0{check:02d}"
    return f"CD-ELEC-{run.rng.randrange(10**9):09d}"  # a voter card number


def _phone(run: _Run, country: str) -> str:
    prefix = "+250 78" if country == "RW" else "+243 99"
    n = run.rng.randrange(10**7)
    return f"{prefix}{n // 10**6} {n // 1000 % 1000:03d} {n % 1000:03d}"


# -- attestations --------------------------------------------------------------------------------
# Every attestation is of the vocabulary (docs/PROTOCOL.md, section 20.1), with its claim's fields.
# (id, attestor, claim, subject "kind:id", result, fields, private report, days valid);
# a site.inspection's fields are completed with the inspection team and the visit's date.
_JMSIT = "inspector-jmsit"
_AUDITOR = "auditor-mugisha"
_Spec = tuple[str, str, str, str, str, dict[str, Any], str, int]
# fmt: off
_ATTESTATIONS: tuple[_Spec, ...] = (
    ("insp-kanyatsi-2601", _JMSIT, "site.inspection", "site:site-kanyatsi", "yellow", {},
     "No first-aid kit at the washing point; two shafts lack timbering.", 180),
    ("clf-kanyatsi-2601", _JMSIT, "child_labour_free", "site:site-kanyatsi",
     "no one under 18 found in 2 unannounced visits", {"visits": 2, "workers_checked": 143},
     "Miners' register cross-checked against ID documents.", 180),
    ("nag-kanyatsi-2601", _JMSIT, "no_armed_group_presence", "site:site-kanyatsi",
     "no armed group or illegal taxation observed", {"visits": 2, "interviews": 17},
     "Interviews with 14 miners and 3 porters; road checkpoints visited.", 90),
    ("insp-chiherano-2601", _JMSIT, "site.inspection", "site:site-chiherano", "green", {},
     "Gravity concentration with borax; no mercury found on site.", 180),
    ("hg-chiherano-2601", _JMSIT, "mercury_free", "site:site-chiherano",
     "no mercury use observed; sluices and borax smelting",
     {"method": "gravity sluicing and borax smelting observed", "samples": 6},
     "Soil and tailings samples sent for analysis.", 180),
    ("insp-lukigi-2601", _JMSIT, "site.inspection", f"site:{RED_SITE}", "green", {},
     "Registers complete; retorts in use; no armed presence observed.", 180),
    ("hgr-lukigi-2601", _JMSIT, "mercury_use_reduced", f"site:{RED_SITE}",
     "mercury use down from 900 to 350 g a month with retorts",
     {"baseline_g_month": 900, "current_g_month": 350},
     "Purchase records of the two mercury sellers reviewed; retorts counted.", 180),
    ("insp-nyarusange-2601", _JMSIT, "site.inspection", "site:site-nyarusange", "green", {},
     "Registers complete; PPE worn; drainage works under way.", 180),
    ("clf-nyarusange-2601", _JMSIT, "child_labour_free", "site:site-nyarusange",
     "no one under 18 found in 2 unannounced visits", {"visits": 2, "workers_checked": 96},
     "Miners' register cross-checked against ID documents.", 180),
    ("ohs-nyarusange-2601", _AUDITOR, "ohs_training", "site:site-nyarusange",
     "41 workers trained in 3 topics",
     {"trained": 41, "topics": ["shaft timbering", "first aid", "protective equipment"]},
     "Attendance sheets and the trainer's certificate reviewed.", 365),
    ("insp-gatare-2601", _JMSIT, "site.inspection", "site:site-gatare", "green", {},
     "Registers complete; tailings dam inspected and stable.", 180),
    ("clf-gatare-2601", _JMSIT, "child_labour_free", "site:site-gatare",
     "no one under 18 found in 2 unannounced visits", {"visits": 2, "workers_checked": 88},
     "Miners' register cross-checked against ID documents.", 180),
    ("wp-kotwa-2601", _AUDITOR, "women_participation", "actor:coop-kotwa",
     "38% of registered members are women", {"women": 57, "workers": 150},
     "Membership register and payroll reviewed.", 365),
    ("fp-kotwa-2601", _AUDITOR, "fair_payment", "actor:coop-kotwa",
     "diggers received 71% of the price the comptoir paid",
     {"basis": "payroll and purchase receipts of the quarter before the audit",
      "price_share_ppm": 710_000},
     "Receipts sampled for 30 sales; payments to miners traced to mobile-money records.", 365),
)
# The joint inspection of Rugabano 412 days before the story (November 2024 as written), entered
# from the paper archive when the site joined: green, but more than a year old, so the site is
# blue until it is inspected again.
_STALE_INSPECTION: _Spec = ("insp-rugabano-2411", _JMSIT, "site.inspection", f"site:{STALE_SITE}",
                            "green", {}, "Paper report of the joint inspection, from the archive.",
                            730)
_STALE_DAYS = 412  # days between that inspection and the story's start
# fmt: on
_INSPECTION_TEAMS = {
    "CD": ("Chantal Furaha", "Joint Mine Site Inspection Team (Division des Mines, SAEMAPE)"),
    "RW": ("Eugène Ndayisaba", "Joint Mine Site Inspection Team (Rwanda Mines Board)"),
}


def _attest(
    run: _Run,
    att_id: str,
    by: str,
    claim: str,
    subject: str,
    result: str,
    fields: Mapping[str, Any],
    report: str,
    days: int,
    *,
    made: str | None = None,
) -> None:
    """Sign an attestation whose evidence is the SHA-256 of a (fake) report document.

    ``made`` is a site inspection's date (default: today); its validity runs from that date.
    """
    document = f"%PDF-1.7\n% asm-ledger demo {run.seed}\n{att_id}: {report}\n".encode()
    kind, subject_id = subject.split(":", 1)
    claim_fields = dict(fields)
    since = made or run.today()
    if claim == "site.inspection":
        inspector, agency = _INSPECTION_TEAMS[_site(subject_id)["country"]]
        claim_fields.update({"inspector": inspector, "agency": agency, "date": since})
    body = {
        "id": att_id,
        "claim": claim,
        "subject": {"kind": kind, "id": subject_id},
        "valid_from": since,
        "valid_until": (datetime.fromisoformat(since) + timedelta(days=days)).date().isoformat(),
        "evidence": [hashlib.sha256(document).hexdigest()],
        "result": result,
        "vocabulary": VOCABULARY,
        "fields": claim_fields,
    }
    touches = [f"attestation:{att_id}"]
    run.post(by, "attestation", body, touches=touches, private={"report": report})


def _inspect_sites(run: _Run) -> None:
    """The inspection team visits each site in turn; the auditor reviews one cooperative."""
    for spec in _ATTESTATIONS:
        run.wait(hours=20 if spec[2] == "site.inspection" else 1)
        _attest(run, *spec)
    run.wait(hours=2)
    stale = (run.start - timedelta(days=_STALE_DAYS)).date().isoformat()
    _attest(run, *_STALE_INSPECTION, made=stale)


def _assay(run: _Run, lot_id: str) -> None:
    """The assay firm samples a lot and signs the grade it found."""
    lot = run.lots[lot_id]
    symbol = {"tin": "Sn", "tantalum": "Ta", "gold": "Au"}[lot.mineral]
    method = "fire assay" if lot.mineral == "gold" else "XRF"
    grade = f"{lot.grade_ppm // 10_000}.{lot.grade_ppm // 100 % 100:02d}%"
    result, report = f"{symbol} {grade} by {method}", f"Sampled {lot.mass_g} g; duplicates agree."
    fields = {"grade_ppm": lot.grade_ppm, "method": method, "mineral": lot.mineral,
              "laboratory": "Mugisha Assay & Audit Ltd, Kigali laboratory"}  # fmt: skip
    _attest(run, f"assay-{lot_id.lower()}", _AUDITOR, "assay", f"lot:{lot_id}", result, fields,
            report, 365)  # fmt: skip


# -- custody steps -------------------------------------------------------------------------------
def _mine(run: _Run) -> None:
    """Each cooperative bags, tags and registers what its sites produced in the last days."""
    serial = 0
    for site_id, mineral, prefix, _count, mass_range, grade_range in _MINING:
        site = _site(site_id)
        miners = [m[0] for m in _MINERS if m[1] == site_id]
        run.wait(hours=5)
        for lot_id in _bags(prefix):
            serial += 1
            tag = f"MT-{site['country']}-{serial:06d}"
            mass, grade = run.rng.randint(*mass_range), run.rng.randint(*grade_range)
            lot = run.lots[lot_id] = _Lot(mineral, "concentrate", mass, grade, (tag,))
            body = {
                "lot": lot_id,
                "site": site_id,
                "mineral": mineral,
                "form": lot.form,
                "mass_g": lot.mass_g,
                "grade_ppm": lot.grade_ppm,
                "tags": [tag],
                "extracted": run.today(-run.rng.randint(0, 3)),
            }
            diggers = sorted(run.rng.sample(miners, run.rng.randint(1, min(3, len(miners)))))
            private = {"price": run.price(lot_id), "miners": diggers}
            touches = [f"lot:{lot_id}"]
            run.post(site["cooperative"], "lot.register", body, touches=touches, private=private)
            run.wait(hours=2)


def _bags(prefix: str) -> list[str]:
    count = next(plan[3] for plan in _MINING if plan[2] == prefix)
    return [f"{prefix}-{i:03d}" for i in range(1, count + 1)]


def _deliver(
    run: _Run,
    sender: str,
    receiver: str,
    lot_ids: list[str],
    *,
    hours: int,
    margin_pct: int,
    short: frozenset[str] = frozenset(),
) -> None:
    """Dispatch the lots, travel ``hours``, and weigh them on arrival (``short`` ones light)."""
    for lot_id in lot_ids:
        lot = run.lots[lot_id]
        body = {"lot": lot_id, "to": receiver, "mass_g": lot.mass_g, "tags": list(lot.tags)}
        private = {"price": run.price(lot_id, margin_pct), "invoice": run.invoice(sender)}
        run.post(sender, "lot.dispatch", body, after=[f"lot:{lot_id}"], private=private)
    run.wait(hours=hours)
    for lot_id in lot_ids:
        lot = run.lots[lot_id]
        if lot_id in short:  # spilled or stolen on the road: 1.8 to 3% missing
            measured = lot.mass_g - lot.mass_g * run.rng.randint(18_000, 30_000) // PPM
        else:  # the scales agree to within 0.3%, well inside the receipt tolerance
            drift = lot.mass_g * run.rng.randint(0, 3_000) // PPM
            measured = lot.mass_g + (drift if run.rng.random() < 0.25 else -drift)
        run.lots[lot_id] = _replace_mass(lot, measured)
        private = {"invoice": run.invoice(receiver, "GRN")}
        body = {"lot": lot_id, "mass_g": measured}
        run.post(receiver, "lot.receive", body, after=[f"lot:{lot_id}"], private=private)


def _replace_mass(lot: _Lot, mass_g: int) -> _Lot:
    return _Lot(lot.mineral, lot.form, mass_g, lot.grade_ppm, lot.tags)


def _merge(run: _Run, actor: str, inputs: list[str], output: str, tag: str) -> None:
    """Blend the inputs; the output's grade is the mass-weighted grade, rounded down."""
    lots = [run.lots[lot_id] for lot_id in inputs]
    mass = sum(lot.mass_g for lot in lots)
    metal = sum(lot.mass_g * lot.grade_ppm for lot in lots)
    run.lots[output] = _Lot(lots[0].mineral, lots[0].form, mass, metal // mass, (tag,))
    body = {
        "inputs": inputs,
        "output": {"lot": output, "mass_g": mass, "grade_ppm": metal // mass, "tags": [tag]},
    }
    after = [f"lot:{lot_id}" for lot_id in inputs]
    run.post(actor, "lot.merge", body, after=after, touches=[f"lot:{output}"])


def _split(run: _Run, actor: str, lot_id: str, outputs: list[tuple[str, str]]) -> None:
    """Split a lot in two (outputs are (lot, tag) pairs); the masses add up exactly."""
    lot = run.lots[lot_id]
    first = lot.mass_g * run.rng.randint(45, 55) // 100
    parts = []
    for (out_id, tag), mass in zip(outputs, (first, lot.mass_g - first), strict=True):
        run.lots[out_id] = _Lot(lot.mineral, lot.form, mass, lot.grade_ppm, (tag,))
        parts.append({"lot": out_id, "mass_g": mass, "tags": [tag]})
    touches = [f"lot:{out_id}" for out_id, _ in outputs]
    body = {"lot": lot_id, "outputs": parts}
    run.post(actor, "lot.split", body, after=[f"lot:{lot_id}"], touches=touches)


def _smelt(run: _Run, actor: str, inputs: list[str], outputs: list[str]) -> None:
    """Smelt tin concentrate into 99.92% ingots: 95.5-97.5% of the contained tin is recovered."""
    grade = 999_200
    metal_in = sum(run.lots[i].mass_g * run.lots[i].grade_ppm for i in inputs)
    tin_g = metal_in * run.rng.randint(955_000, 975_000) // PPM // grade
    made, serial = [], 0
    for out_id, mass in zip(outputs, (tin_g // 2, tin_g - tin_g // 2), strict=True):
        ingots = -(-mass // 25_000)  # 25 kg ingots, the last one short
        tags = [f"NTS-2601-{serial + i:04d}" for i in range(1, ingots + 1)]
        serial += ingots
        run.lots[out_id] = _Lot("tin", "metal", mass, grade, tuple(tags))
        made.append(
            {
                "lot": out_id,
                "mineral": "tin",
                "form": "metal",
                "mass_g": mass,
                "grade_ppm": grade,
                "tags": tags,
            }
        )
    after = [f"lot:{lot_id}" for lot_id in inputs]
    touches = [f"lot:{out_id}" for out_id in outputs]
    body = {"inputs": inputs, "outputs": made}
    run.post(actor, "lot.process", body, after=after, touches=touches)


def _export(
    run: _Run, actor: str, lot_id: str, certificate: str, destination: str, margin_pct: int
) -> None:
    """Ship a lot abroad under a regional certificate; the sale price stays private."""
    body = {"lot": lot_id, "certificate": certificate, "destination": destination}
    private = {"price": run.price(lot_id, margin_pct), "invoice": run.invoice(actor)}
    run.post(actor, "lot.export", body, after=[f"lot:{lot_id}"], private=private)


# -- the supply chain, stage by stage ------------------------------------------------------------
def _first_mile(run: _Run) -> None:
    """Cooperatives sell their bags to the comptoirs; one bag arrives light."""
    run.wait(hours=12)
    kan = _bags("KAN-SN") + _bags("KAN-TA")
    light = frozenset({DISCREPANCY_LOT})
    _deliver(run, "coop-comuma", "comptoir-goma", kan, hours=20, margin_pct=10, short=light)
    gold = _bags("CHI-AU") + _bags("LUK-AU")
    _deliver(run, "coop-coamwa", "comptoir-bukavu", gold, hours=6, margin_pct=8)
    rwanda = _bags("NYR-SN") + _bags("GTR-SN") + _bags("GTR-TA")
    _deliver(run, "coop-kotwa", ROTATED_ACTOR, rwanda, hours=8, margin_pct=10)


def _rotate_key(run: _Run, registrar: str) -> None:
    """The Rutsiro trader's phone is stolen: the registrar adds a new key, which revokes the old."""
    run.wait(hours=10)
    new = replacement_key(run.seed)
    old = run.authors[ROTATED_ACTOR]
    subject = [f"actor:{ROTATED_ACTOR}"]
    body = {"actor": ROTATED_ACTOR, "key": b64encode(new.public_key)}
    run.post(registrar, "actor.key.add", body, after=subject)
    stolen = format_time(run.clock - timedelta(hours=3))
    run.authors[ROTATED_ACTOR] = Author(old.ledger, ROTATED_ACTOR, new)
    body = {
        "actor": ROTATED_ACTOR,
        "key": old.signer.key_id,
        "effective": stolen,
        "reason": "Phone with the signing app stolen at Congo-Nil market; police report "
        "RIB/RTS/2026/0113.",
    }
    run.post(ROTATED_ACTOR, "actor.key.revoke", body, after=subject)


def _blend_and_forward(run: _Run) -> None:
    """Comptoirs blend the bags into trading lots and sell them on to exporters and the smelter."""
    run.wait(hours=14)
    _merge(run, "comptoir-goma", _bags("KAN-SN"), "TJG-SN-2601", "NT-TJG-260101")
    _merge(run, "comptoir-goma", _bags("KAN-TA"), "TJG-TA-2601", "NT-TJG-260102")
    _merge(run, "comptoir-bukavu", _bags("CHI-AU"), "OBH-AU-2601", "AU-BAR-OBH-0001")
    _merge(run, "comptoir-bukavu", _bags("LUK-AU"), "OBH-AU-2602", "AU-BAR-OBH-0002")
    _merge(run, ROTATED_ACTOR, _bags("NYR-SN"), "RMT-SN-2601-A", "NT-RMT-260101")
    _merge(run, ROTATED_ACTOR, _bags("GTR-SN"), "RMT-SN-2601-B", "NT-RMT-260102")
    _merge(run, ROTATED_ACTOR, _bags("GTR-TA"), "RMT-TA-2601", "NT-RMT-260103")
    run.wait(hours=5)
    goma = ["TJG-SN-2601", "TJG-TA-2601"]
    _deliver(run, "comptoir-goma", "exporter-goma", goma, hours=4, margin_pct=20)
    gold = ["OBH-AU-2601", "OBH-AU-2602"]
    _deliver(run, "comptoir-bukavu", "exporter-goma", gold, hours=26, margin_pct=6)
    tin = ["RMT-SN-2601-A", "RMT-SN-2601-B"]
    _deliver(run, ROTATED_ACTOR, "smelter-kigali", tin, hours=9, margin_pct=20)
    _deliver(run, ROTATED_ACTOR, "exporter-kigali", ["RMT-TA-2601"], hours=9, margin_pct=20)


def _smelt_assay_export(run: _Run) -> None:
    """Exporters assay and ship; the smelter casts ingots, which Kigali ships to two buyers.

    Two lots stay behind: the Gatare tantalum blend, held by an incident about one of its bags,
    and the Lukigi gold, split into two bars just before an armed group is reported at the site.
    """
    run.wait(days=2)
    drums = [("MMX-TA-2601-D1", "SEAL-MMX-000101"), ("MMX-TA-2601-D2", "SEAL-MMX-000102")]
    _split(run, "exporter-goma", "TJG-TA-2601", drums)
    bars = [(TAINTED_LOT, "SEAL-MMX-000103"), ("MMX-AU-2602-B2", "SEAL-MMX-000104")]
    _split(run, "exporter-goma", "OBH-AU-2602", bars)
    for lot_id in ("MMX-TA-2601-D1", "MMX-TA-2601-D2", "OBH-AU-2601", CLEARED_LOT):
        _assay(run, lot_id)
    _suspect_tag(run)
    _armed_group(run)
    run.wait(days=1)
    _export(run, "exporter-goma", "TJG-SN-2601", "CD-ICGLR-2026-000318", "MY", 35)
    _export(run, "exporter-goma", "MMX-TA-2601-D1", "CD-ICGLR-2026-000319", "CN", 40)
    _export(run, "exporter-goma", "MMX-TA-2601-D2", "CD-ICGLR-2026-000320", "TH", 40)
    _export(run, "exporter-goma", "OBH-AU-2601", "CD-ICGLR-2026-000321", "AE", 12)
    run.wait(days=1)
    ingots = [SHOWCASE_LOT, "NTS-SN-2601-P2"]
    _smelt(run, "smelter-kigali", ["RMT-SN-2601-A", "RMT-SN-2601-B"], ingots)
    run.wait(days=2)
    _deliver(run, "smelter-kigali", "exporter-kigali", ingots, hours=3, margin_pct=5)
    _assay(run, SHOWCASE_LOT)
    _export(run, "exporter-kigali", SHOWCASE_LOT, "RW-ICGLR-2026-000151", "NL", 8)
    _export(run, "exporter-kigali", "NTS-SN-2601-P2", "RW-ICGLR-2026-000152", "US", 8)


def _incident(
    run: _Run, by: str, incident_id: str, subject: str, facts: dict[str, Any], details: str
) -> None:
    """Report an incident; ``facts`` holds its category, severity, observed date and summary."""
    kind, subject_id = subject.split(":", 1)
    body = {"id": incident_id, "subject": {"kind": kind, "id": subject_id}, **facts}
    private = {"details": details}
    run.post(by, "incident", body, touches=[f"incident:{incident_id}"], private=private)


def _suspect_tag(run: _Run) -> None:
    """Preparing the tantalum export file, the Kigali exporter hears that the tag of one bag of
    its blend was seen on a bag offered in Rubavu: the blend is held until the auditor checks."""
    run.wait(hours=6)
    bag = "GTR-TA-002"
    tag = run.lots[bag].tags[0]
    facts = {
        "category": "bribery_fraudulent_origin",
        "severity": "high",
        "observed": run.today(-1),
        "summary": f"Tag {tag} of bag {bag} reported on a bag offered at Rubavu market.",
    }
    details = (
        "A buyer's agent photographed a bag at Rubavu market bearing the tag; the seller left "
        "before the police arrived."
    )
    _incident(run, "exporter-kigali", RESOLVED_INCIDENT, f"lot:{bag}", facts, details)


def _armed_group(run: _Run) -> None:
    """Villagers tell the inspection team that an armed group taxes the pits at Lukigi."""
    run.wait(hours=4)
    facts = {
        "category": "non_state_armed_groups",
        "severity": "critical",
        "observed": run.today(-2),
        "summary": "Armed men levy a tax on every bag at the Lukigi pits.",
    }
    details = "Three miners and a village chief, met separately in Kamituga, describe a roadblock."
    _incident(run, _JMSIT, OPEN_INCIDENT, f"site:{RED_SITE}", facts, details)


def _follow_up(run: _Run) -> None:
    """Follow-up visits: the armed group confirmed at Lukigi (red); the tag at Rubavu was a copy,
    so the blend is exported; after an anonymous grievance, minors found at Kanyatsi (its
    child-labour attestation is withdrawn)."""
    run.wait(days=3)
    resolution = (
        "The Rubavu tag is a counterfeit copy (wrong font and serial check digit); bag "
        "GTR-TA-002's weight, grade and seal match the cooperative's register and the "
        "inspection team's seal log. Reported to the Rwanda Mines Board."
    )
    body = {"incident": RESOLVED_INCIDENT, "resolution": resolution}
    run.post(_AUDITOR, "incident.resolve", body, after=[f"incident:{RESOLVED_INCIDENT}"])
    run.wait(hours=5)
    _export(run, "exporter-kigali", CLEARED_LOT, "RW-ICGLR-2026-000142", "CN", 40)
    run.wait(days=2)
    report = "Armed group present; illegal taxation at the pits; production must stop."
    _attest(run, "insp-lukigi-2602", _JMSIT, "site.inspection", f"site:{RED_SITE}", "red", {},
            report, 180)  # fmt: skip
    run.wait(days=5)
    if run.grieve is not None:  # the report that sends the inspectors back to Kanyatsi
        run.grieve(DemoGrievance(day=run.today(), **GRIEVANCE))
        run.grievances += 1
    run.wait(days=2)
    body = {
        "attestation": REVOKED_ATTESTATION,
        "reason": "Follow-up visit found two minors at the Kanyatsi washing point; remediation "
        "plan agreed with COMUMA; withdrawn until a new inspection.",
    }
    subject = [f"attestation:{REVOKED_ATTESTATION}"]
    run.post(_JMSIT, "attestation.revoke", body, after=subject)
