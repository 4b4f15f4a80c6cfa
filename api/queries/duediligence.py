"""Public reads of due-diligence state: incidents, lots' taint, and site status with history.

Only public columns: an incident's private details and witnesses are disclosures, in no table
read here. A site's status is given on a date (today, for the API), by the rules of
``ledger.custody.sitestatus`` applied to the records the ledger keeps, beside the status the
ledger last evaluated (at an entry that concerned the site) and every change of that, oldest
first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from api.queries.paging import Page, keyset_page
from api.queries.registry import require_id
from ledger.custody import sitestatus
from ledger.custody.models import (
    IncidentRow,
    LotRow,
    LotTaintRow,
    OpenIncidentsRow,
    SiteStatusChangeRow,
    SiteStatusRow,
)
from ledger.db import table
from ledger.errors import NotFoundError
from ledger.registry.models import SiteRow

INCIDENTS = table(IncidentRow)
OPEN = table(OpenIncidentsRow)
TAINT = table(LotTaintRow)
LOTS = table(LotRow)
SITES = table(SiteRow)
STATUS = table(SiteStatusRow)
HISTORY = table(SiteStatusChangeRow)


def _incident(row: Row[Any]) -> dict[str, Any]:
    item = dict(row._mapping)
    item["subject"] = {"kind": item.pop("subject_kind"), "id": item.pop("subject_id")}
    item["status"] = "open" if item["resolved_seq"] is None else "resolved"
    return item


def list_incidents(
    conn: Connection,
    *,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    category: str | None = None,
    resolved: bool | None = None,
    cursor: str | None,
    limit: int,
) -> Page:
    query = select(INCIDENTS)
    for column, value in (
        (INCIDENTS.c.subject_kind, subject_kind),
        (INCIDENTS.c.subject_id, subject_id),
        (INCIDENTS.c.category, category),
    ):
        if value is not None:
            query = query.where(column == value)
    if resolved is not None:
        column = INCIDENTS.c.resolved_seq
        query = query.where(column.is_not(None) if resolved else column.is_(None))
    order = (INCIDENTS.c.seq, INCIDENTS.c.id)
    return keyset_page(conn, query, order, cursor=cursor, limit=limit, convert=_incident)


def get_incident(conn: Connection, incident_id: str) -> dict[str, Any]:
    require_id(incident_id, "incident")
    row = conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == incident_id)).first()
    if row is None:
        raise NotFoundError(f"there is no incident {incident_id!r}.", code="unknown_incident")
    return _incident(row)


def lot_taint(conn: Connection, lot_id: str) -> dict[str, Any]:
    """Whether open incidents taint the lot, and which: on it or upstream, or on an origin."""
    require_id(lot_id, "lot")
    origins = conn.execute(select(LOTS.c.origins).where(LOTS.c.id == lot_id)).scalar()
    if origins is None:
        raise NotFoundError(f"there is no lot {lot_id!r}.", code="unknown_lot")
    ids = set(conn.execute(select(TAINT.c.incidents).where(TAINT.c.lot == lot_id)).scalar() or [])
    subjects = [f"site:{site}" for site in origins]
    for found in conn.execute(select(OPEN.c.incidents).where(OPEN.c.subject.in_(subjects))):
        ids.update(found[0])
    rows = conn.execute(select(INCIDENTS).where(INCIDENTS.c.id.in_(sorted(ids)))).all()
    incidents = sorted((_incident(row) for row in rows), key=lambda i: (i["seq"], i["id"]))
    return {"lot": lot_id, "tainted": bool(incidents), "incidents": incidents}


def site_status(conn: Connection, site_id: str, today: str) -> dict[str, Any]:
    """A site's status on ``today`` (what it rests on, and why), the status the ledger last
    evaluated and at which entry, and every change of it, oldest first."""
    require_id(site_id, "site")
    row = conn.execute(select(STATUS).where(STATUS.c.site == site_id)).first()
    if row is None:
        if conn.execute(select(SITES.c.id).where(SITES.c.id == site_id)).first() is None:
            raise NotFoundError(f"there is no site {site_id!r}.", code="unknown_site")
        raise NotFoundError(  # a site registered before site status was derived
            f"site {site_id!r} has no derived status yet; run `ledger rebuild-derived` (server "
            "stopped) to derive it.",
            code="unknown_site",
        )
    history = conn.execute(
        select(HISTORY.c.seq, HISTORY.c.status, HISTORY.c.basis, HISTORY.c.reason)
        .where(HISTORY.c.site == site_id)
        .order_by(HISTORY.c.seq)
    ).all()
    return {
        "site": site_id,
        **sitestatus.on_day(sitestatus.stored_records(row.records), today),
        "as_of": today,
        "recorded": {
            "status": row.status,
            "basis": row.basis,
            "since": row.since,
            "seq": row.updated_seq,
        },
        "history": [dict(change._mapping) for change in history],
    }
