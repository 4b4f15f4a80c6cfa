"""The programme's monitoring indicators, from aggregate queries on the derived tables.

Computed on a date ``D`` (today, UTC) from the tables the sequencer keeps, never by reading the
log's entries. Each figure, precisely:

- ``miners_by_sex``: registered miners (``miner.register``) by the ``sex`` disclosure of their
  registration, opened with the data key here on the server: ``female`` (``F``, ``female``,
  ``woman``, ``femme``), ``male`` (``M``, ``male``, ``man``, ``homme``), ``other`` (any other
  value), ``unknown`` (not disclosed, or erased: an erased miner counts as unknown), and
  ``total``;
- ``cooperatives``: registered actors with the role ``cooperative``;
- ``sites_by_status``: registered mine sites by inspection status **on D** (§20.2 of
  ``docs/PROTOCOL.md``, evaluated on D from each site's stored records, so a green inspection
  older than a year counts as blue even before an entry has re-evaluated the site), and
  ``unknown`` for a site with no derived status (a ledger made before site status existed);
- ``mass_by_mineral_g`` and ``mass_by_origin_status_g``: the mass registered at mine sites, in
  grams: the ``mass_g`` of every lot created by ``lot.register`` (never of lots made from them by
  splits, merges or processing, which would count the same material again), by mineral, and by
  its origin site's status as evaluated at the lot's registration (the status the policy
  applied; ``unknown`` when no status was derived then);
- ``attested_mass``: of that registered mass (``registered_g``), the part (``backed_g``) whose
  lot, or whose origin site, is on D the subject of at least one attestation other than a
  ``site.inspection`` (those are counted by status above) that is not revoked and is valid on D
  (``valid_from <= D <= valid_until``); ``share_ppm`` is ``backed_g * 10^6 // registered_g``
  (0 when nothing is registered);
- ``incidents_by_category``: incidents by OECD Annex II category, ``open`` and ``resolved``;
- ``grievances_by_site``: every registered site's grievances, ``open`` and ``converted`` (into
  an incident). These count reports, not people, and are public by design (see
  :mod:`ledger.custody.grievances`).

**Suppression.** A cell that counts fewer than :data:`THRESHOLD` people, but at least one, is
suppressed (``None``, listed in ``suppressed``). So that no suppressed cell can be recovered
by subtracting the others from the total (or a small group from the sum of the suppressed), the
smallest remaining cells of the same table are suppressed too, until at least two are and they
add up to at least :data:`THRESHOLD`; the total itself is suppressed when that cannot be done,
or when it counts fewer than :data:`THRESHOLD` people. Only ``miners_by_sex`` counts people;
the other figures count organisations, sites, grams, incidents and reports.

Nothing here imports Flask.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)

from ledger import canonical
from ledger.bodies import INCIDENT_CATEGORIES, INSPECTION_STATUSES, MINERALS
from ledger.custody import grievances
from ledger.custody.models import (
    AttestationRow,
    DisclosureRow,
    IncidentRow,
    LogHeadRow,
    LotEdgeRow,
    LotRow,
    SiteStatusChangeRow,
    SiteStatusRow,
)
from ledger.custody.sitestatus import status_at, stored_records
from ledger.db import table
from ledger.disclosures import Disclosure
from ledger.errors import ConfigError, LedgerError
from ledger.registry.models import ActorRow, MinerRow, SiteRow
from ledger.sealing import Sealer

THRESHOLD = 5  # the fewest people a published cell may count
MARKER = "x"  # how CSV and the page show a suppressed cell (JSON: null)
SEXES = ("female", "male", "other", "unknown")
UNKNOWN = "unknown"
STATUSES = (*sorted(INSPECTION_STATUSES), UNKNOWN)
_FEMALE = frozenset({"f", "female", "woman", "femme", "w"})
_MALE = frozenset({"m", "male", "man", "homme", "h"})

ACTORS, MINERS, SITES = table(ActorRow), table(MinerRow), table(SiteRow)
DISCLOSURES, LOTS, EDGES = table(DisclosureRow), table(LotRow), table(LotEdgeRow)
STATUS, HISTORY = table(SiteStatusRow), table(SiteStatusChangeRow)
ATTESTATIONS, INCIDENTS, HEAD = table(AttestationRow), table(IncidentRow), table(LogHeadRow)

Cells = dict[str, int | None]


def compute(conn: Connection, sealer: Sealer | None, on: date) -> dict[str, Any]:
    """Every indicator on date ``on``, suppressed (see the module's docstring)."""
    day = on.isoformat()
    miners, suppressed = suppress(miner_sexes(conn, sealer), "miners_by_sex")
    by_mineral, by_status, backed, registered = registered_mass(conn, day)
    size = conn.execute(select(HEAD.c.size)).scalar()
    return {
        "as_of": day,
        "log_size": int(size or 0),
        "threshold": THRESHOLD,
        "suppressed": suppressed,
        "miners_by_sex": miners,
        "cooperatives": cooperatives(conn),
        "sites_by_status": sites_by_status(conn, day),
        "mass_by_mineral_g": by_mineral,
        "mass_by_origin_status_g": by_status,
        "attested_mass": {
            "backed_g": backed,
            "registered_g": registered,
            "share_ppm": backed * 1_000_000 // registered if registered else 0,
        },
        "incidents_by_category": incidents_by_category(conn),
        "grievances_by_site": grievances.counts_by_site(conn),
    }


# -- suppression ----------------------------------------------------------------------------------
def suppress(counts: Mapping[str, int], name: str) -> tuple[Cells, list[str]]:
    """``counts`` (people per cell) and their ``total``, with small cells suppressed, and the
    suppressed cells' names (``name.cell``). Primary: 1 to THRESHOLD - 1 people. Secondary:
    more cells, smallest non-zero first, then the total, so that none can be recovered."""
    total = sum(counts.values())
    hidden = {k for k, v in counts.items() if 0 < v < THRESHOLD}
    total_hidden = 0 < total < THRESHOLD
    order = sorted(
        (k for k in counts if k not in hidden), key=lambda k: (counts[k] == 0, counts[k])
    )
    while (
        hidden
        and not total_hidden
        and (len(hidden) < 2 or sum(counts[k] for k in hidden) < THRESHOLD)
    ):
        if not order:
            total_hidden = True
            break
        hidden.add(order.pop(0))
    cells: Cells = {k: (None if k in hidden else v) for k, v in counts.items()}
    cells["total"] = None if total_hidden else total
    names = [f"{name}.{k}" for k in counts if k in hidden]
    return cells, names + ([f"{name}.total"] if total_hidden else [])


# -- the figures ----------------------------------------------------------------------------------
def miner_sexes(conn: Connection, sealer: Sealer | None) -> dict[str, int]:
    """Registered miners by sex, opening each registration's ``sex`` disclosure."""
    joined = MINERS.outerjoin(
        DISCLOSURES,
        and_(DISCLOSURES.c.seq == MINERS.c.registered_seq, DISCLOSURES.c.name == "sex"),
    )
    query = select(DISCLOSURES.c.digest, DISCLOSURES.c.ciphertext).select_from(joined)
    found: Counter[str] = Counter(dict.fromkeys(SEXES, 0))
    for digest, sealed in conn.execute(query):
        found[_sex(sealer, digest, sealed)] += 1
    return {sex: found[sex] for sex in SEXES}


def _sex(sealer: Sealer | None, digest: str | None, sealed: bytes | None) -> str:
    if digest is None or sealed is None:
        return UNKNOWN  # not disclosed, or erased
    if sealer is None:
        raise ConfigError("this server has no data key to count miners by sex.", code="no_data_key")
    try:
        value = Disclosure.from_json(canonical.parse(sealer.open(bytes(sealed), digest))).value
    except LedgerError:
        return UNKNOWN
    if not isinstance(value, str) or not value.strip():
        return UNKNOWN
    word = value.strip().lower()
    return "female" if word in _FEMALE else "male" if word in _MALE else "other"


def cooperatives(conn: Connection) -> int:
    role = cast(ACTORS.c.roles, String).like('%"cooperative"%')
    return int(conn.execute(select(func.count()).where(role)).scalar() or 0)


def sites_by_status(conn: Connection, day: str) -> dict[str, int]:
    """Sites by status on ``day``, from each site's stored inspection records."""
    joined = SITES.outerjoin(STATUS, STATUS.c.site == SITES.c.id)
    found = dict.fromkeys(STATUSES, 0)
    for records in conn.execute(select(STATUS.c.records).select_from(joined)).scalars():
        if records is None:
            found[UNKNOWN] += 1
            continue
        status, _basis, _made = status_at(stored_records(records), day)
        found[status] += 1
    return found


def registered_mass(conn: Connection, day: str) -> tuple[dict[str, int], dict[str, int], int, int]:
    """Mass registered at sites by mineral and by origin status at registration; the part of
    it backed by a valid attestation on ``day``; and the whole of it (grams)."""
    origin = LOTS.c.origins[0].as_string()
    at_registration = (
        select(HISTORY.c.status)
        .where(HISTORY.c.site == origin, HISTORY.c.seq <= LOTS.c.created_seq)
        .order_by(HISTORY.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    attested = exists().where(
        ATTESTATIONS.c.claim != "site.inspection",
        ATTESTATIONS.c.revoked_seq.is_(None),
        ATTESTATIONS.c.valid_from <= day,
        ATTESTATIONS.c.valid_until >= day,
        or_(
            and_(ATTESTATIONS.c.subject_kind == "lot", ATTESTATIONS.c.subject_id == LOTS.c.id),
            and_(ATTESTATIONS.c.subject_kind == "site", ATTESTATIONS.c.subject_id == origin),
        ),
    )
    lots = (
        select(
            LOTS.c.mineral,
            func.coalesce(at_registration, literal(UNKNOWN)).label("status"),
            LOTS.c.initial_mass_g.label("mass"),
            case((attested, LOTS.c.initial_mass_g), else_=0).label("backed"),
        )
        .where(~exists().where(EDGES.c.child == LOTS.c.id))  # made at a site, not from lots
        .subquery()
    )
    query = select(
        lots.c.mineral, lots.c.status, func.sum(lots.c.mass), func.sum(lots.c.backed)
    ).group_by(lots.c.mineral, lots.c.status)
    by_mineral = dict.fromkeys(sorted(MINERALS), 0)
    by_status = dict.fromkeys(STATUSES, 0)
    backed = registered = 0
    for mineral, status, mass, backed_mass in conn.execute(query):
        by_mineral[mineral] = by_mineral.get(mineral, 0) + int(mass)
        by_status[status] = by_status.get(status, 0) + int(mass)
        registered += int(mass)
        backed += int(backed_mass)
    return by_mineral, by_status, backed, registered


def incidents_by_category(conn: Connection) -> dict[str, dict[str, int]]:
    is_open = INCIDENTS.c.resolved_seq.is_(None)
    query = select(INCIDENTS.c.category, is_open.label("open"), func.count()).group_by(
        INCIDENTS.c.category, is_open
    )
    found = {c: {"open": 0, "resolved": 0} for c in sorted(INCIDENT_CATEGORIES)}
    for category, still_open, count in conn.execute(query):
        cells = found.setdefault(category, {"open": 0, "resolved": 0})
        cells["open" if still_open else "resolved"] += int(count)
    return found


# -- CSV ------------------------------------------------------------------------------------------
CSV_HEADER = ("indicator", "group", "key", "value")


def rows(figures: Mapping[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """The figures as CSV rows ``(indicator, group, key, value)``; suppressed cells ``x``."""
    for name, value in figures.items():
        if name == "suppressed":
            continue
        if not isinstance(value, Mapping):
            yield name, "", "", _cell(value)
            continue
        for key, inner in value.items():
            if isinstance(inner, Mapping):
                yield from ((name, key, k, _cell(v)) for k, v in inner.items())
            else:
                yield name, "", key, _cell(inner)


def _cell(value: Any) -> str:
    return MARKER if value is None else str(value)
