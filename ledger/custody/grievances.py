"""Anonymous grievances: what anyone may report about a registered mine site, kept off the log.

A miner or a member of the community reports a problem at a site (its id, a category, free
text, optionally the language it is written in) without an account, a token or a key. A
grievance is **not a log entry**: it is unsigned and anonymous, so it proves nothing to a
verifier, and it is kept in the mutable ``grievances`` table, which ``ledger audit`` neither reads
nor compares. What is stored, and what is not:

- stored: a random id, the site, the category, the language if given, the **day** it was received
  (UTC; never a finer time, so that the row cannot be matched against a web server's access log
  by its timestamp), the text **sealed** with the ledger's data key (AES-256-GCM, as private
  disclosures are, bound to the grievance's id), and whether and into which incident it was
  converted;
- never stored: the reporter's IP address, user agent, any header, or the time of day. The rate
  limit of the API keys on a keyed hash of the client's address in the limiter's own storage
  (memory by default), never here.

Anyone may count grievances per site (:func:`site_counts`, :func:`counts_by_site`); only the
registrar, auditors and regulators may read them (:func:`read`, :func:`page`), the same readers as
every other private field. The registrar turns one into an ``incident`` it signs with its own key,
naming the grievance in ``body.grievance`` (:func:`convert`): the log checks only that field's
shape (it cannot know the grievance, which is not in the log, and ``ledger audit`` must stay a
function of the log alone), while this store refuses, *before* the statement is appended, a
grievance that does not exist or is already converted, and records the conversion after the
statement is committed.

Nothing here imports Flask.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Row, func, insert, select, update

from ledger.bodies import INCIDENT_CATEGORIES
from ledger.custody.models import GrievanceRow, IncidentRow
from ledger.db import WRITE, table, writer_turn
from ledger.errors import (
    ConfigError,
    ConflictError,
    ForbiddenError,
    LedgerError,
    NotFoundError,
    ValidationError,
)
from ledger.registry.access import Caller
from ledger.registry.models import SiteRow
from ledger.sealing import Sealer
from ledger.statements import ID_RE, Statement

# The OECD Annex II risks an incident may report, and what a community more often raises.
EXTRA_CATEGORIES = frozenset(
    {"child_labour", "labour", "environment", "health_safety", "land", "other"}
)
CATEGORIES = INCIDENT_CATEGORIES | EXTRA_CATEGORIES
OPEN, CONVERTING, CONVERTED = "open", "converting", "converted"
PUBLIC_STATUSES = (OPEN, CONVERTED)  # "converting" is counted as open until it is committed
MAX_TEXT = 4000  # code points
READER_ROLES = frozenset({"registrar", "auditor", "regulator"})
CONVERTER_ROLE = "registrar"
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}\Z")  # a BCP 47 tag, short form
_ASSOCIATED = "asm-ledger/v1/grievance\n"  # the sealed text is bound to the grievance's id
_ALLOWED_CONTROLS = {"\n", "\t"}

GRIEVANCES = table(GrievanceRow)
SITES = table(SiteRow)
INCIDENTS = table(IncidentRow)

_T = TypeVar("_T")


@dataclass(frozen=True)
class Grievance:
    """One grievance as its readers see it (``text`` only when it was opened)."""

    id: str
    site: str
    category: str
    language: str | None
    received: str  # the day, UTC
    status: str
    incident: str | None
    converted_seq: int | None
    text: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site": self.site,
            "category": self.category,
            "language": self.language,
            "received": self.received,
            "status": self.status,
            "incident": self.incident,
            "converted_seq": self.converted_seq,
            **({} if self.text is None else {"text": self.text}),
        }


# -- reporting ------------------------------------------------------------------------------------
def check_report(site: Any, category: Any, text: Any, language: Any = None) -> str:
    """Raise :class:`ValidationError` (naming the field) unless the report is well formed;
    return the text as it will be stored (NFC, outer whitespace removed)."""
    if not isinstance(site, str) or not ID_RE.match(site):
        raise ValidationError("site must be a site id.", field="site")
    if not isinstance(category, str) or category not in CATEGORIES:
        raise ValidationError(
            f"category must be one of {', '.join(sorted(CATEGORIES))}.", field="category"
        )
    if language is not None and (not isinstance(language, str) or not LANGUAGE_RE.match(language)):
        raise ValidationError("language must be a language tag such as fr or sw.", field="language")
    return clean_text(text)


def clean_text(text: Any) -> str:
    """The text as stored: NFC, stripped, 1 to :data:`MAX_TEXT` characters, no control
    characters but newlines and tabs."""
    if not isinstance(text, str):
        raise ValidationError("text must be a string.", field="text")
    cleaned = unicodedata.normalize("NFC", text).strip()
    if not 1 <= len(cleaned) <= MAX_TEXT:
        raise ValidationError(f"text must be 1 to {MAX_TEXT} characters.", field="text")
    if any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in cleaned):
        raise ValidationError("text must not contain control characters.", field="text")
    return cleaned


def report(
    engine: Engine,
    sealer: Sealer | None,
    *,
    site: str,
    category: str,
    text: str,
    language: str | None = None,
    today: date | None = None,
) -> Grievance:
    """Store a grievance about ``site``; nothing is written if it is refused.

    Raises:
        ValidationError: a field is malformed.
        NotFoundError: the site is not registered (``unknown_site``).
        ConfigError: this process has no data key to seal the text with (``no_data_key``).
    """
    cleaned = check_report(site, category, text, language)
    if sealer is None:
        raise ConfigError("this server has no data key to seal grievances.", code="no_data_key")
    day = (today or datetime.now(UTC).date()).isoformat()
    grievance_id = "grv-" + secrets.token_hex(10)
    sealed = sealer.seal(cleaned.encode("utf-8"), _ASSOCIATED + grievance_id)
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with writer_turn(conn), conn.begin():
            if conn.execute(select(SITES.c.id).where(SITES.c.id == site)).first() is None:
                raise NotFoundError(
                    f"there is no registered site {site!r}; check the site's id (on its sign "
                    "board, or at /v1/sites).",
                    code="unknown_site",
                    field="site",
                )
            conn.execute(
                insert(GRIEVANCES).values(
                    id=grievance_id,
                    site=site,
                    category=category,
                    language=language,
                    received=day,
                    ciphertext=sealed,
                    status=OPEN,
                )
            )
    return Grievance(grievance_id, site, category, language, day, OPEN, None, None)


# -- public counts --------------------------------------------------------------------------------
def site_counts(conn: Connection, site: str) -> dict[str, Any]:
    """How many grievances a registered site has, by status and by category (counts only).

    Raises:
        NotFoundError: the site is not registered (``unknown_site``).
    """
    if not ID_RE.match(site) or (
        conn.execute(select(SITES.c.id).where(SITES.c.id == site)).first() is None
    ):
        raise NotFoundError(f"there is no site {site[:64]!r}.", code="unknown_site")
    rows = conn.execute(
        select(GRIEVANCES.c.category, GRIEVANCES.c.status, func.count())
        .where(GRIEVANCES.c.site == site)
        .group_by(GRIEVANCES.c.category, GRIEVANCES.c.status)
    ).all()
    by_status = dict.fromkeys(PUBLIC_STATUSES, 0)
    by_category: dict[str, int] = {}
    for category, status, count in rows:
        by_status[public_status(status)] += int(count)
        by_category[category] = by_category.get(category, 0) + int(count)
    return {
        "site": site,
        "total": sum(by_status.values()),
        "by_status": by_status,
        "by_category": dict(sorted(by_category.items())),
    }


def counts_by_site(conn: Connection) -> dict[str, dict[str, int]]:
    """Every registered site's grievances by public status (zeros included), one query."""
    query = (
        select(SITES.c.id, GRIEVANCES.c.status, func.count(GRIEVANCES.c.id))
        .select_from(SITES.outerjoin(GRIEVANCES, GRIEVANCES.c.site == SITES.c.id))
        .group_by(SITES.c.id, GRIEVANCES.c.status)
    )
    found: dict[str, dict[str, int]] = {}
    for site, status, count in conn.execute(query):
        cells = found.setdefault(site, dict.fromkeys(PUBLIC_STATUSES, 0))
        if status is not None:
            cells[public_status(status)] += int(count)
    return {site: found[site] for site in sorted(found)}


def public_status(status: str) -> str:
    return OPEN if status == CONVERTING else status


# -- private reads --------------------------------------------------------------------------------
def require_reader(caller: Caller) -> None:
    """Only the registrar, auditors and regulators read grievances (403 ``not_entitled``)."""
    if not READER_ROLES & caller.roles:
        raise ForbiddenError(
            f"{caller.actor} may not read grievances: only the registrar, auditors and "
            "regulators may.",
            code="not_entitled",
        )


def read(
    conn: Connection, sealer: Sealer | None, grievance_id: str, *, text: bool = True
) -> Grievance:
    """One grievance, with its text opened with the data key (unless ``text`` is false).

    Raises:
        NotFoundError: there is no such grievance (``unknown_grievance``).
        ConfigError: no data key (``no_data_key``).
    """
    row = _row(conn, grievance_id)
    if row is None:
        raise _unknown(grievance_id)
    if not text:
        return _grievance(row, None)
    if sealer is None:
        raise ConfigError("this server has no data key to open grievances.", code="no_data_key")
    opened = sealer.open(bytes(row.ciphertext), _ASSOCIATED + row.id).decode("utf-8")
    return _grievance(row, opened)


def listing(
    conn: Connection, *, site: str | None = None, status: str | None = None
) -> Any:  # a Select: the API pages it
    """The query of grievances (no text), filtered by site and status, for paging."""
    columns = [c for c in GRIEVANCES.c if c.name != "ciphertext"]
    query = select(*columns)
    if site is not None:
        query = query.where(GRIEVANCES.c.site == site)
    if status == OPEN:
        query = query.where(GRIEVANCES.c.status.in_((OPEN, CONVERTING)))
    elif status is not None:
        query = query.where(GRIEVANCES.c.status == status)
    return query


def from_row(row: Row[Any]) -> Grievance:
    return _grievance(row, None)


def _grievance(row: Row[Any], text: str | None) -> Grievance:
    m = row._mapping
    return Grievance(
        m["id"], m["site"], m["category"], m["language"], m["received"], m["status"],
        m["incident"], m["converted_seq"], text,
    )  # fmt: skip


def _row(conn: Connection, grievance_id: str) -> Row[Any] | None:
    if not ID_RE.match(grievance_id):
        return None
    return conn.execute(select(GRIEVANCES).where(GRIEVANCES.c.id == grievance_id)).first()


def _unknown(grievance_id: str) -> NotFoundError:
    return NotFoundError(
        f"there is no grievance {grievance_id[:64]!r}.", code="unknown_grievance", field="grievance"
    )


# -- conversion into an incident ------------------------------------------------------------------
def require_converter(caller: Caller) -> None:
    if CONVERTER_ROLE not in caller.roles:
        raise ForbiddenError(
            f"{caller.actor} may not convert grievances into incidents: only the registrar may.",
            code="wrong_role",
        )


def check_incident(statement: Statement, grievance_id: str) -> str:
    """The incident id of ``statement`` if it is an incident naming ``grievance_id``."""
    if statement.type != "incident":
        raise ValidationError(
            f"a grievance becomes an incident statement, not {statement.type}.",
            field="envelope.statement.type",
        )
    named = statement.body.get("grievance") if isinstance(statement.body, dict) else None
    if named != grievance_id:
        raise ValidationError(
            f"the incident must name the grievance it converts: body.grievance {grievance_id}.",
            field="envelope.statement.body.grievance",
        )
    incident_id = statement.body.get("id")
    if not isinstance(incident_id, str) or not ID_RE.match(incident_id):
        raise ValidationError("body.id must be an identifier.", field="envelope.statement.body.id")
    return incident_id


def refuse_elsewhere(statement: Statement) -> None:
    """Refuse an incident naming a grievance on a route that does not record the conversion.

    For the generic submission routes (``POST /v1/statements``, the batch, ``ledger append``):
    an incident with ``body.grievance`` is valid in the log, but handed in there the store would
    neither check nor record the conversion.

    Raises:
        ValidationError: it is such an incident (``grievance_route``).
    """
    body = statement.body
    if statement.type == "incident" and isinstance(body, dict) and "grievance" in body:
        raise ValidationError(
            f"an incident that converts grievance {str(body['grievance'])[:64]} is handed in at "
            "POST /v1/grievances/{id}/incident (or with ledger grievances convert), which checks "
            "and records the conversion.",
            code="grievance_route",
            field="envelope.statement.body.grievance",
        )


def convert(
    engine: Engine,
    statement: Statement,
    grievance_id: str,
    append: Callable[[], _T],
    seq_of: Callable[[_T], int],
) -> _T:
    """Append ``statement`` (an incident naming the grievance) with ``append`` and record the
    conversion; refuse before appending if the grievance is unknown or already converted.

    The grievance is claimed for the incident first (in one short transaction, so that two
    conversions cannot both pass), released if the ledger rejects the statement, and marked
    converted with the entry's ``seq`` once it is committed. Converting again with the same
    incident is idempotent (the ledger answers the identical statement as a duplicate).

    Raises:
        ValidationError: the statement is not an incident naming the grievance.
        NotFoundError: no such grievance (``unknown_grievance``).
        ConflictError: it is converted, or being converted, into another incident
            (``grievance_converted``).
        LedgerError: the ledger's own rejection of the statement (nothing is recorded).
    """
    incident_id = check_incident(statement, grievance_id)
    _claim(engine, grievance_id, incident_id)
    try:
        result = append()
    except LedgerError:
        _release(engine, grievance_id, incident_id)
        raise
    _mark(engine, grievance_id, incident_id, seq_of(result))
    return result


def _claim(engine: Engine, grievance_id: str, incident_id: str) -> None:
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with writer_turn(conn), conn.begin():
            row = _row(conn, grievance_id)
            if row is None:
                raise _unknown(grievance_id)
            if row.status == OPEN:
                conn.execute(
                    update(GRIEVANCES)
                    .where(GRIEVANCES.c.id == grievance_id, GRIEVANCES.c.status == OPEN)
                    .values(status=CONVERTING, incident=incident_id)
                )
                return
            if row.incident == incident_id:
                return  # the same conversion again: the ledger decides (duplicate or new)
            logged = conn.execute(
                select(INCIDENTS.c.seq).where(INCIDENTS.c.id == row.incident)
            ).scalar()
            if row.status == CONVERTING and logged is not None:
                # an earlier conversion committed but stopped before it was recorded
                conn.execute(
                    update(GRIEVANCES)
                    .where(GRIEVANCES.c.id == grievance_id)
                    .values(status=CONVERTED, converted_seq=logged)
                )
    seq = row.converted_seq if row.converted_seq is not None else logged
    raise ConflictError(
        f"grievance {grievance_id} is already converted into incident {row.incident}"
        + ("" if seq is None else f" (entry {seq})")
        + "; a grievance becomes one incident. Resolve that incident, or report another.",
        code="grievance_converted",
        field="grievance",
        incident=row.incident,
    )


def _release(engine: Engine, grievance_id: str, incident_id: str) -> None:
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with writer_turn(conn), conn.begin():
            conn.execute(
                update(GRIEVANCES)
                .where(
                    GRIEVANCES.c.id == grievance_id,
                    GRIEVANCES.c.status == CONVERTING,
                    GRIEVANCES.c.incident == incident_id,
                )
                .values(status=OPEN, incident=None)
            )


def _mark(engine: Engine, grievance_id: str, incident_id: str, seq: int) -> None:
    with engine.connect() as conn:
        conn.execution_options(**WRITE)
        with writer_turn(conn), conn.begin():
            conn.execute(
                update(GRIEVANCES)
                .where(GRIEVANCES.c.id == grievance_id, GRIEVANCES.c.incident == incident_id)
                .values(status=CONVERTED, converted_seq=seq)
            )
