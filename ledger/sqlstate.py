"""The SQL backing of :class:`~ledger.state.OverlayState`: derived state in the database.

Reads are single-row primary-key selects; writes are batched per table as ``INSERT ... ON
CONFLICT DO UPDATE`` with ``executemany``, so a batch of statements costs a handful of round trips
however many rows it touches. Both go straight to the DBAPI cursor (see ``ledger.rawsql``), inside
the caller's transaction, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table

from ledger import rawsql
from ledger.custody.models import (
    AttestationRow,
    EntryLinkRow,
    FlagRow,
    HeadRow,
    IncidentRow,
    LedgerRow,
    LotEdgeRow,
    LotRow,
    LotTaintRow,
    LotTransitRow,
    OpenIncidentsRow,
    SiteLotRow,
    SiteStatusChangeRow,
    SiteStatusRow,
    SubjectAttestationsRow,
    TagRow,
)
from ledger.custody.types import Attestation, Incident, Lot, SiteStatus
from ledger.db import table
from ledger.registry.models import ActorRow, KeyRow, MinerRow, SiteOutputRow, SiteRow
from ledger.registry.types import Actor, Key, Miner, Site
from ledger.state import Changes, Policy


@dataclass(frozen=True)
class _Kind:
    table: Table
    to_row: Callable[[str, Any], dict[str, Any]]
    from_row: Callable[[dict[str, Any]], Any]

    def key_values(self, key: str) -> tuple[str, ...]:
        return tuple(key.split("\x00")) if len(self.table.primary_key.columns) > 1 else (key,)

    def changed(self, key: str, old: Any, new: Any) -> dict[str, Any]:
        """The columns whose values differ between two versions of a stored row."""
        old_row, new_row = self.to_row(key, old), self.to_row(key, new)
        return {name: value for name, value in new_row.items() if old_row[name] != value}


def _dataclass_row(value: Any, **renames: str) -> dict[str, Any]:
    """A shallow row of a flat domain object (``asdict`` deep-copies: 20x slower here)."""
    fields_of = value.__dict__  # the domain types are plain frozen dataclasses, without slots
    kind: Any = type(value)
    if renames:
        data = {renames.get(name, name): fields_of[name] for name in _field_names(kind)}
    else:
        data = {name: fields_of[name] for name in _field_names(kind)}
    for name, item in data.items():
        if type(item) is tuple:
            data[name] = list(item)
    return data


@cache
def _field_names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _build(cls: type, *tuples: str, **renames: str) -> Callable[[dict[str, Any]], Any]:
    def build(row: dict[str, Any]) -> Any:
        for name in tuples:
            row[name] = tuple(row[name])
        for column, field in renames.items():
            row[field] = row.pop(column)
        return cls(**row)

    return build


KINDS: dict[str, _Kind] = {
    "ledger": _Kind(
        table(LedgerRow),
        lambda key, v: {"id": 1, "origin": v[0], "policy": v[1].to_json()},
        lambda row: (row["origin"], Policy.from_json(row["policy"])),
    ),
    "head": _Kind(
        table(HeadRow),
        lambda key, v: {"subject": key, "leaf_hash": v[0], "seq": v[1]},
        lambda row: (row["leaf_hash"], row["seq"]),
    ),
    "actor": _Kind(table(ActorRow), lambda k, v: _dataclass_row(v), _build(Actor, "roles")),
    "key": _Kind(
        table(KeyRow),
        lambda k, v: _dataclass_row(v, actor="actor_id"),
        _build(Key, actor_id="actor"),
    ),
    "site": _Kind(table(SiteRow), lambda k, v: _dataclass_row(v), _build(Site, "minerals")),
    "miner": _Kind(table(MinerRow), lambda k, v: _dataclass_row(v), _build(Miner)),
    "lot": _Kind(table(LotRow), lambda k, v: _dataclass_row(v), _build(Lot, "tags", "origins")),
    "tag": _Kind(
        table(TagRow),
        lambda key, v: {"tag": key, "lot_id": v[0], "seq": v[1]},
        lambda row: (row["lot_id"], row["seq"]),
    ),
    "output": _Kind(
        table(SiteOutputRow),
        lambda key, v: {"site": key.split("\x00")[0], "month": key.split("\x00")[1], "mass_g": v},
        lambda row: row["mass_g"],
    ),
    "attestation": _Kind(
        table(AttestationRow), lambda k, v: _dataclass_row(v), _build(Attestation)
    ),
    "site_status": _Kind(
        table(SiteStatusRow),
        lambda k, v: {**_dataclass_row(v), "records": [list(r) for r in v.records]},
        lambda row: SiteStatus(**{**row, "records": tuple(tuple(r) for r in row["records"])}),
    ),
    "incident": _Kind(table(IncidentRow), lambda k, v: _dataclass_row(v), _build(Incident)),
    "open_incidents": _Kind(
        table(OpenIncidentsRow),
        lambda key, v: {"subject": key, "incidents": list(v)},
        lambda row: tuple(row["incidents"]),
    ),
    "taint": _Kind(
        table(LotTaintRow),
        lambda key, v: {"lot": key, "incidents": list(v)},
        lambda row: tuple(row["incidents"]),
    ),
    "transit": _Kind(
        table(LotTransitRow),
        lambda key, v: {"lot": key, "dispatched": v[0], "pending": v[1]},
        lambda row: (row["dispatched"], bool(row["pending"])),
    ),
    "subject_attestations": _Kind(
        table(SubjectAttestationsRow),
        lambda key, v: {"subject": key, "attestations": list(v)},
        lambda row: tuple(row["attestations"]),
    ),
}
# Flush order respects foreign keys (actors before keys and sites, sites before miners ...).
FLUSH_ORDER = (
    "ledger",
    "actor",
    "key",
    "site",
    "miner",
    "output",
    "lot",
    "tag",
    "attestation",
    "site_status",
    "incident",
    "open_incidents",
    "taint",
    "transit",
    "subject_attestations",
    "head",
)

APPENDED: dict[str, tuple[Table, Callable[[Any], dict[str, Any]]]] = {
    "flag": (table(FlagRow), lambda flag: _dataclass_row(flag)),
    "edge": (table(LotEdgeRow), lambda e: {"child": e[0], "parent": e[1], "seq": e[2]}),
    "site_status_change": (table(SiteStatusChangeRow), lambda change: _dataclass_row(change)),
    "site_lot": (table(SiteLotRow), lambda e: {"site": e[0], "lot": e[1], "seq": e[2]}),
    "link": (table(EntryLinkRow), lambda e: {"seq": e[0], "subject": e[1], "after_entry": e[2]}),
}


_KEYS_PER_QUERY = 500  # bound parameters per query (SQLite allows 32766; old builds 999)


@cache
def _key_position(tbl: Table) -> int:
    """Where a table's one-column primary key is among its columns."""
    (key,) = tbl.primary_key.columns
    return rawsql.columns(tbl).index(key.name)


def _by_key(kind: str, key: str) -> tuple[str, tuple[Any, ...]]:
    """The query of one row of ``kind`` by its key, and its parameters."""
    spec = KINDS[kind]
    params: tuple[Any, ...] = (1,) if kind == "ledger" else spec.key_values(key)
    return rawsql.select_by_key(spec.table), params


class SqlBacking:
    """Loads and stores derived state through one open connection (inside its transaction)."""

    def __init__(self, conn: Connection, raw: rawsql.Raw | None = None) -> None:
        self.raw = raw if raw is not None else rawsql.Raw(conn)  # the caller's, to share its
        # batched writes (rawsql.Raw.writes)

    def load(self, kind: str, key: str) -> Any:
        spec = KINDS[kind]
        found = self.raw.one(*_by_key(kind, key))
        return None if found is None else spec.from_row(rawsql.from_params(spec.table, found))

    def load_many(self, wanted: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
        """The rows found among the wanted keys of each kind: ``IN (...)`` a few hundred at a
        time for a one-column key, one query per key otherwise. All the queries go together
        (:meth:`rawsql.Raw.reads`: one round trip on PostgreSQL)."""
        queries: list[tuple[str, Sequence[Any]]] = []
        parts: list[tuple[str, str | None]] = []  # each query's kind, and its key if only one
        for kind, keys in wanted.items():
            spec = KINDS[kind]
            if kind == "ledger" or len(spec.table.primary_key.columns) != 1:
                queries += [_by_key(kind, key) for key in keys]
                parts += [(kind, key) for key in keys]
                continue
            for i in range(0, len(keys), _KEYS_PER_QUERY):
                part = keys[i : i + _KEYS_PER_QUERY]
                queries.append((rawsql.select_in(spec.table, len(part)), part))
                parts.append((kind, None))
        found: dict[str, dict[str, Any]] = {kind: {} for kind in wanted}
        for (kind, one), rows in zip(parts, self.raw.reads(queries), strict=True):
            spec = KINDS[kind]
            table_found = found[kind]
            if one is not None:
                if rows:
                    table_found[one] = spec.from_row(rawsql.from_params(spec.table, rows[0]))
                continue
            position = _key_position(spec.table)
            for row in rows:
                table_found[row[position]] = spec.from_row(rawsql.from_params(spec.table, row))
        return found

    def children(self, parent: str) -> list[str]:
        """The lots made from ``parent`` (the provenance DAG downwards)."""
        rows = self.raw.all(
            "SELECT child FROM lot_edges WHERE parent = ? ORDER BY child", (parent,)
        )
        return [row[0] for row in rows]

    def site_lots(self, site_id: str) -> list[str]:
        """The lots registered at a site (through ``site_lots``' primary key)."""
        rows = self.raw.all("SELECT lot FROM site_lots WHERE site = ? ORDER BY lot", (site_id,))
        return [row[0] for row in rows]

    def pending_transits(
        self, low: str, high: str | None, limit: int | None
    ) -> list[tuple[str, str]]:
        """Lots pending in transit by dispatch date, through ``ix_lot_transit_pending``."""
        text = "SELECT lot, dispatched FROM lot_transit WHERE pending = ? AND dispatched >= ?"
        params: list[Any] = [True, low]
        if high is not None:
            text += " AND dispatched < ?"
            params.append(high)
        text += " ORDER BY dispatched, lot"
        if limit is not None:
            text += " LIMIT ?"
            params.append(limit)
        return [(row[0], row[1]) for row in self.raw.all(text, params)]

    def flush(self, changes: Changes) -> None:
        """Write the changes: new rows and rows of unknown state are upserted whole; a row whose
        stored version the overlay knows is updated in the columns that changed only (an
        unchanged column costs nothing, and its indexes are not rewritten)."""
        for kind in FLUSH_ORDER:
            table_changes = changes.rows.get(kind)
            if not table_changes:
                continue
            spec = KINDS[kind]
            whole: list[tuple[Any, ...]] = []
            updates: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
            for key, (value, _new) in table_changes.items():
                old = changes.before.get((kind, key))
                if old is None:
                    whole.append(rawsql.to_params(spec.table, spec.to_row(key, value)))
                    continue
                changed = spec.changed(key, old, value)
                if changed:
                    names = tuple(changed)
                    params = rawsql.to_params(spec.table, changed, names)
                    updates.setdefault(names, []).append((*params, *spec.key_values(key)))
            self.raw.many(rawsql.upsert(spec.table), whole)
            for names, rows in updates.items():
                self.raw.many(rawsql.update(spec.table, names), rows, expect=len(rows))
        for kind, values in changes.appended.items():
            tbl, to_row = APPENDED[kind]
            self.raw.many(rawsql.insert(tbl), [rawsql.to_params(tbl, to_row(v)) for v in values])
