"""The SQL backing of :class:`~ledger.state.OverlayState`: derived state in the database.

Reads are single-row primary-key selects; writes are batched per table as ``INSERT ... ON
CONFLICT DO UPDATE`` with ``executemany``, so a batch of statements costs a handful of round trips
however many rows it touches. Works on any SQLAlchemy connection to SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite

from ledger.custody.models import (
    AttestationRow,
    FlagRow,
    HeadRow,
    LedgerRow,
    LotEdgeRow,
    LotRow,
    TagRow,
)
from ledger.custody.types import Attestation, Lot
from ledger.db import table
from ledger.registry.models import ActorRow, KeyRow, MinerRow, SiteOutputRow, SiteRow
from ledger.registry.types import Actor, Key, Miner, Site
from ledger.state import Changes, Policy


@dataclass(frozen=True)
class _Kind:
    table: Table
    pk: tuple[str, ...]
    to_row: Callable[[str, Any], dict[str, Any]]
    from_row: Callable[[Any], Any]

    def key_values(self, key: str) -> tuple[str, ...]:
        return tuple(key.split("\x00")) if len(self.pk) > 1 else (key,)


def _tupled(cls: type, *fields: str) -> Callable[[Any], Any]:
    def build(row: Any) -> Any:
        data = dict(row._mapping)
        for name in fields:
            data[name] = tuple(data[name])
        return cls(**data)

    return build


def _row(value: Any, **renames: str) -> dict[str, Any]:
    data = asdict(value)
    for name, item in data.items():
        if isinstance(item, tuple):
            data[name] = list(item)
    for old, new in renames.items():
        data[new] = data.pop(old)
    return data


def _key_from_row(row: Any) -> Key:
    data = dict(row._mapping)
    data["actor"] = data.pop("actor_id")
    data["public_key"] = bytes(data["public_key"])
    return Key(**data)


KINDS: dict[str, _Kind] = {
    "ledger": _Kind(
        table(LedgerRow),
        ("id",),
        lambda key, v: {"id": 1, "origin": v[0], "policy": v[1].to_json()},
        lambda row: (row.origin, Policy.from_json(row.policy)),
    ),
    "head": _Kind(
        table(HeadRow),
        ("subject",),
        lambda key, v: {"subject": key, "leaf_hash": v[0], "seq": v[1]},
        lambda row: (bytes(row.leaf_hash), row.seq),
    ),
    "actor": _Kind(table(ActorRow), ("id",), lambda k, v: _row(v), _tupled(Actor, "roles")),
    "key": _Kind(
        table(KeyRow),
        ("key_id",),
        lambda k, v: _row(v, actor="actor_id"),
        _key_from_row,
    ),
    "site": _Kind(table(SiteRow), ("id",), lambda k, v: _row(v), _tupled(Site, "minerals")),
    "miner": _Kind(table(MinerRow), ("id",), lambda k, v: _row(v), _tupled(Miner)),
    "lot": _Kind(table(LotRow), ("id",), lambda k, v: _row(v), _tupled(Lot, "tags", "origins")),
    "tag": _Kind(
        table(TagRow),
        ("tag",),
        lambda key, v: {"tag": key, "lot_id": v[0], "seq": v[1]},
        lambda row: (row.lot_id, row.seq),
    ),
    "output": _Kind(
        table(SiteOutputRow),
        ("site", "month"),
        lambda key, v: {"site": key.split("\x00")[0], "month": key.split("\x00")[1], "mass_g": v},
        lambda row: row.mass_g,
    ),
    "attestation": _Kind(
        table(AttestationRow),
        ("id",),
        lambda k, v: _row(v),
        _tupled(Attestation),
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
    "head",
)

APPENDED: dict[str, tuple[Table, Callable[[Any], dict[str, Any]]]] = {
    "flag": (table(FlagRow), lambda f: asdict(f)),
    "edge": (table(LotEdgeRow), lambda e: {"child": e[0], "parent": e[1], "seq": e[2]}),
}


class SqlBacking:
    """Loads and stores derived state through one open connection (inside its transaction)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        self._selects = {
            kind: select(spec.table).where(
                *(spec.table.c[name] == bindparam(name) for name in spec.pk)
            )
            for kind, spec in KINDS.items()
        }

    def load(self, kind: str, key: str) -> Any:
        spec = KINDS[kind]
        params: dict[str, Any] = dict(zip(spec.pk, spec.key_values(key), strict=True))
        if kind == "ledger":
            params = {"id": 1}
        row = self.conn.execute(self._selects[kind], params).first()
        return None if row is None else spec.from_row(row)

    def flush(self, changes: Changes) -> None:
        for kind in FLUSH_ORDER:
            table_changes = changes.rows.get(kind)
            if not table_changes:
                continue
            spec = KINDS[kind]
            rows = [spec.to_row(key, value) for key, (value, _new) in table_changes.items()]
            statement = self._insert(spec.table)
            update = {
                c.name: statement.excluded[c.name] for c in spec.table.c if c.name not in spec.pk
            }
            self.conn.execute(
                statement.on_conflict_do_update(index_elements=list(spec.pk), set_=update), rows
            )
        for kind, values in changes.appended.items():
            table, to_row = APPENDED[kind]
            self.conn.execute(table.insert(), [to_row(v) for v in values])
