"""Public reads of custody: lots (filtered, paged), a lot's links and history, attestations, flags.

Lots are listed in the order the log created them, ``(created_seq, id)``. A lot's origins are a
JSON list of site ids; the ``site`` filter looks inside it with each engine's JSON table function
(``json_each`` on SQLite, ``json_array_elements_text`` on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, exists, func, select
from sqlalchemy.sql.elements import ColumnElement

from api.queries.log import entry_view
from api.queries.paging import Page, as_dict, keyset_page
from api.queries.registry import require_id
from ledger.custody.models import AttestationRow, FlagRow, HeadRow, LotEdgeRow, LotRow
from ledger.custody.provenance import lot_provenance
from ledger.db import is_sqlite, table
from ledger.errors import NotFoundError

LOTS = table(LotRow)
EDGES = table(LotEdgeRow)
HEADS = table(HeadRow)
ATTESTATIONS = table(AttestationRow)
FLAGS = table(FlagRow)


def list_lots(
    conn: Connection,
    *,
    site: str | None = None,
    mineral: str | None = None,
    custodian: str | None = None,
    status: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page:
    query = select(LOTS)
    if site is not None:
        query = query.where(_has_origin(conn, site))
    for column, value in (
        (LOTS.c.mineral, mineral),
        (LOTS.c.custodian, custodian),
        (LOTS.c.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    return keyset_page(
        conn, query, (LOTS.c.created_seq, LOTS.c.id), cursor=cursor, limit=limit, convert=as_dict
    )


def _has_origin(conn: Connection, site: str) -> ColumnElement[bool]:
    if is_sqlite(conn):
        each = func.json_each(LOTS.c.origins).table_valued("value")
    else:
        each = func.json_array_elements_text(LOTS.c.origins).table_valued("value")
    return exists(select(each.c.value).where(each.c.value == site))


def get_lot(conn: Connection, lot_id: str) -> dict[str, Any]:
    """A lot, its head entry, and the lots it was made from and made into."""
    require_id(lot_id, "lot")
    row = conn.execute(select(LOTS).where(LOTS.c.id == lot_id)).first()
    if row is None:
        raise NotFoundError(f"there is no lot {lot_id!r}.", code="unknown_lot")
    head = conn.execute(
        select(HEADS.c.seq, HEADS.c.leaf_hash).where(HEADS.c.subject == f"lot:{lot_id}")
    ).one()
    return {
        **row._mapping,
        "head": {"seq": head.seq, "leaf_hash": bytes(head.leaf_hash)},
        "parents": parents(conn, lot_id),
        "children": _edges(conn, EDGES.c.parent == lot_id, EDGES.c.child),
    }


def parents(conn: Connection, lot_id: str) -> list[dict[str, Any]]:
    return _edges(conn, EDGES.c.child == lot_id, EDGES.c.parent)


def _edges(conn: Connection, where: ColumnElement[bool], other: Any) -> list[dict[str, Any]]:
    query = select(other.label("lot"), EDGES.c.seq).where(where).order_by(EDGES.c.seq, other)
    return [as_dict(row) for row in conn.execute(query)]


def lot_history(conn: Connection, lot_id: str) -> dict[str, Any]:
    """Every entry the lot's history links to (through ``after``), oldest first."""
    require_id(lot_id, "lot")
    history = lot_provenance(conn, lot_id)
    return {
        "lot": lot_id,
        "parents": parents(conn, lot_id),
        "entries": [entry_view(entry) for entry in history],
    }


def list_attestations(
    conn: Connection,
    *,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    claim: str | None = None,
    attestor: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page:
    query = select(ATTESTATIONS)
    for column, value in (
        (ATTESTATIONS.c.subject_kind, subject_kind),
        (ATTESTATIONS.c.subject_id, subject_id),
        (ATTESTATIONS.c.claim, claim),
        (ATTESTATIONS.c.attestor, attestor),
    ):
        if value is not None:
            query = query.where(column == value)
    order = (ATTESTATIONS.c.seq, ATTESTATIONS.c.id)
    return keyset_page(conn, query, order, cursor=cursor, limit=limit, convert=_attestation)


def _attestation(row: Row[Any]) -> dict[str, Any]:
    item = as_dict(row)
    item["subject"] = {"kind": item.pop("subject_kind"), "id": item.pop("subject_id")}
    item["status"] = "active" if item["revoked_seq"] is None else "revoked"
    return item


def list_flags(
    conn: Connection,
    *,
    subject: str | None = None,
    code: str | None = None,
    severity: str | None = None,
    cursor: str | None,
    limit: int,
) -> Page:
    query = select(FLAGS)
    for column, value in ((FLAGS.c.subject, subject), (FLAGS.c.code, code),
                          (FLAGS.c.severity, severity)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    order = (FLAGS.c.seq, FLAGS.c.code, FLAGS.c.subject)
    return keyset_page(conn, query, order, cursor=cursor, limit=limit, convert=as_dict)
