"""Public reads of the registry: actors with their keys, mine sites, miners.

Each query selects the public columns it returns and nothing else; miners in particular are read
as (id, cooperative, site) only.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, Row, select, tuple_

from api.queries.paging import Page, as_dict, decode_cursor, encode_cursor, keyset_page
from ledger.custody import sitestatus
from ledger.custody.models import SiteStatusRow
from ledger.db import table
from ledger.errors import NotFoundError
from ledger.registry.models import ActorRow, KeyRow, MinerRow, SiteRow
from ledger.statements import ID_RE

ACTORS = table(ActorRow)
KEYS = table(KeyRow)
SITES = table(SiteRow)
MINERS = table(MinerRow)
STATUS = table(SiteStatusRow)

_ACTOR_COLUMNS = (
    ACTORS.c.id,
    ACTORS.c.name,
    ACTORS.c.roles,
    ACTORS.c.country,
    ACTORS.c.registered_seq,
)
_KEY_COLUMNS = (
    KEYS.c.actor_id,
    KEYS.c.key_id,
    KEYS.c.public_key,
    KEYS.c.added_seq,
    KEYS.c.revoked_seq,
    KEYS.c.revoked_effective,
    KEYS.c.last_n,
)


def require_id(value: str, what: str) -> None:
    """An id that cannot exist is simply not found (and never reaches the database)."""
    if not ID_RE.match(value):
        raise NotFoundError(f"there is no {what} {value[:64]!r}.", code=f"unknown_{what}")


def list_actors(
    conn: Connection, *, country: str | None = None, cursor: str | None, limit: int
) -> Page:
    query = select(*_ACTOR_COLUMNS)
    if country is not None:
        query = query.where(ACTORS.c.country == country)
    page = keyset_page(
        conn,
        query,
        (ACTORS.c.registered_seq, ACTORS.c.id),
        cursor=cursor,
        limit=limit,
        convert=as_dict,
    )
    keys = _keys_of(conn, [actor["id"] for actor in page.items])
    for actor in page.items:
        actor["keys"] = keys[actor["id"]]
    return page


def get_actor(conn: Connection, actor_id: str) -> dict[str, Any]:
    require_id(actor_id, "actor")
    row = conn.execute(select(*_ACTOR_COLUMNS).where(ACTORS.c.id == actor_id)).first()
    if row is None:
        raise NotFoundError(f"there is no actor {actor_id!r}.", code="unknown_actor")
    return {**row._mapping, "keys": _keys_of(conn, [actor_id])[actor_id]}


def _keys_of(conn: Connection, actor_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if not actor_ids:
        return found
    query = (
        select(*_KEY_COLUMNS)
        .where(KEYS.c.actor_id.in_(actor_ids))
        .order_by(KEYS.c.added_seq, KEYS.c.key_id)
    )
    for row in conn.execute(query):
        key = dict(row._mapping)
        key["public_key"] = bytes(key["public_key"])
        key["status"] = "active" if key["revoked_seq"] is None else "revoked"
        found[key.pop("actor_id")].append(key)
    return found


_SITE_CHUNK = 200  # sites read at a time while a status filter looks for a page's worth


def list_sites(
    conn: Connection,
    *,
    today: str,
    country: str | None = None,
    cooperative: str | None = None,
    inspection_status: str | None = None,
    status: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page:
    """Sites in registration order, each with its status on ``today``; ``status`` keeps the
    sites with that status today, ``inspection_status`` those whose registration recorded it.

    A status depends on the date, so it is not a column to filter on: the sites are read in key
    order, a chunk at a time, with their inspection records, and each one's status is worked out
    once, both to filter on and to show, until a page (and one more, to know there is a next
    page) is found."""
    order = (SITES.c.registered_seq, SITES.c.id)
    query = select(SITES, STATUS.c.records).outerjoin(STATUS, STATUS.c.site == SITES.c.id)
    for column, value in (
        (SITES.c.country, country),
        (SITES.c.cooperative, cooperative),
        (SITES.c.inspection_status, inspection_status),
    ):
        if value is not None:
            query = query.where(column == value)
    after = decode_cursor(cursor, order) if cursor is not None else None
    items: list[dict[str, Any]] = []
    chunk = limit + 1 if status is None else max(limit + 1, _SITE_CHUNK)
    while len(items) <= limit:
        part = query if after is None else query.where(tuple_(*order) > tuple_(*after))
        rows = conn.execute(part.order_by(*order).limit(chunk)).all()
        for row in rows:
            site = _site(row)
            records = site.pop("records")
            site["status"] = None if records is None else (
                sitestatus.status_at(sitestatus.stored_records(records), today)[0]
            )  # fmt: skip
            if status is None or site["status"] == status:
                items.append(site)
                if len(items) > limit:
                    break
        if len(rows) < chunk:
            break
        after = [rows[-1]._mapping[c.name] for c in order]
    more = len(items) > limit
    items = items[:limit]
    next_cursor = encode_cursor([items[-1]["registered_seq"], items[-1]["id"]]) if more else None
    return Page(items, next_cursor)


def get_site(conn: Connection, site_id: str, today: str) -> dict[str, Any]:
    require_id(site_id, "site")
    row = conn.execute(select(SITES).where(SITES.c.id == site_id)).first()
    if row is None:
        raise NotFoundError(f"there is no site {site_id!r}.", code="unknown_site")
    site = _site(row)
    site["status"] = statuses_on(conn, today, [site_id]).get(site_id)
    return site


def _site(row: Row[Any]) -> dict[str, Any]:
    site = dict(row._mapping)
    site["location"] = {"lat_e6": site.pop("lat_e6"), "lon_e6": site.pop("lon_e6")}
    site["licence"] = {"number": site.pop("licence_number"), "expires": site.pop("licence_expires")}
    return site


def list_miners(
    conn: Connection,
    *,
    cooperative: str | None = None,
    site: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page:
    query = select(MINERS.c.id, MINERS.c.cooperative, MINERS.c.site, MINERS.c.registered_seq)
    if cooperative is not None:
        query = query.where(MINERS.c.cooperative == cooperative)
    if site is not None:
        query = query.where(MINERS.c.site == site)
    return keyset_page(
        conn,
        query,
        (MINERS.c.registered_seq, MINERS.c.id),
        cursor=cursor,
        limit=limit,
        convert=_miner,
    )


def _miner(row: Row[Any]) -> dict[str, Any]:
    return {"id": row.id, "cooperative": row.cooperative, "site": row.site}


def statuses_on(conn: Connection, today: str, sites: list[str] | None = None) -> dict[str, str]:
    """Each site's status on ``today`` (all sites, or those named); a site with no derived
    status row (registered before status was derived) is left out."""
    query = select(STATUS.c.site, STATUS.c.records)
    if sites is not None:
        query = query.where(STATUS.c.site.in_(sites))
    return {
        site: sitestatus.status_at(sitestatus.stored_records(records), today)[0]
        for site, records in conn.execute(query)
    }
