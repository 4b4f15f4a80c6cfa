"""Revision 0008 on a ledger that already has entries: the links are filled from the log, the
hash index goes, the keys change, and the ledger still audits clean, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from factories import World
from ledgers import make_ledger, submitter
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from ledger.custody.audit import audit
from ledger.custody.log import Ledger
from ledger.custody.provenance import lot_provenance
from ledger.db import Base, make_engine
from ledger.migrate import alembic_config, upgrade

NEW = "entry_links"


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Ledger]:
    """A ledger at head with lot histories of every shape: moves, a split, a merge, prices."""
    engine = make_engine(f"sqlite:///{tmp_path / 'source.db'}")
    upgrade(engine)
    ledger = make_ledger(engine)
    world = World(submit=submitter(ledger))
    world.populate()
    world.split_and_merge()
    world.run(world.register_lot("lot-p"))
    world.run(world.dispatch("lot-p", by="coop-a", to="trader-a", private={"price": 9_000}))
    world.run(world.receive("lot-p", by="trader-a"))
    ledger.latest_checkpoint()
    yield ledger
    engine.dispose()


def _rows(engine: Engine, name: str) -> list[tuple[Any, ...]]:
    tbl = Base.metadata.tables[name]
    with engine.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(select(tbl)))


def _at_0007_with(source: Engine, url: str, *, forge: bool = False) -> Engine:
    """A database migrated to 0007 holding every row of ``source`` (but the new table's)."""
    engine = make_engine(url)
    upgrade(engine, "0007")
    with source.connect() as read, engine.begin() as write:
        for name, tbl in Base.metadata.tables.items():
            if name == NEW:
                continue
            rows = [dict(row._mapping) for row in read.execute(select(tbl))]
            if forge and name == "log_entries":
                linked = max(r["seq"] for r in rows if _AFTER in bytes(r["data"]))
                rows = [_forged(row) if row["seq"] == linked else row for row in rows]
            if name == "log_head":
                write.execute(tbl.delete())  # the migrations make the empty log's head row
            if rows:
                write.execute(tbl.insert(), rows)
    return engine


_AFTER = b'"after":{"lot:'


def _forged(row: dict[str, Any]) -> dict[str, Any]:
    """The entry's ``after`` link names a head the log does not hold."""
    data = bytes(row["data"])
    start = data.index(b'":"', data.index(_AFTER) + len(_AFTER)) + 3
    return {**row, "data": data[:start] + b"0" * 64 + data[start + 64 :]}


def test_upgrading_a_ledger_fills_the_links_and_it_audits_clean(
    source: Ledger, empty_db_url: str
) -> None:
    old = _at_0007_with(source.engine, empty_db_url)
    try:
        assert "uq_log_entries_leaf_hash" in _unique_names(old)
        upgrade(old)
        expected = _rows(source.engine, NEW)
        # two transfers (4), the split (1), the merge of two lots (2), lot-p's transfer (2)
        assert len(expected) == 9
        assert _rows(old, NEW) == expected
        assert _rows(old, "disclosures") == _rows(source.engine, "disclosures")
        assert "uq_log_entries_leaf_hash" not in _unique_names(old)
        indexes = {ix["name"] for ix in inspect(old).get_indexes("log_entries")}
        assert indexes - _unique_names(old) == set()  # no type, actor or hash index
        report = audit(old, workers=1)
        assert report.clean, report.divergence
        with old.connect() as conn:
            history = lot_provenance(conn, "lot-m")
        assert {e.statement.type for e in history} >= {"lot.split", "lot.merge", "lot.register"}
        with pytest.raises(DBAPIError, match="append-only"), old.begin() as conn:
            conn.execute(text("UPDATE log_entries SET logged = 'x' WHERE seq = 1"))
        if old.dialect.name == "sqlite":
            with old.connect() as conn:
                sql = dict(conn.execute(text("SELECT name, sql FROM sqlite_master")).all())
            assert "seq INTEGER NOT NULL" in sql["log_entries"]  # the rowid itself
            for name in ("log_nodes", "disclosures", NEW):
                assert "WITHOUT ROWID" in sql[name], name
    finally:
        old.dispose()


def test_a_log_whose_links_do_not_resolve_is_not_upgraded(
    source: Ledger, empty_db_url: str
) -> None:
    old = _at_0007_with(source.engine, empty_db_url, forge=True)
    try:
        with pytest.raises(RuntimeError, match="ledger audit"):
            upgrade(old)
        with old.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0007"
        assert NEW not in inspect(old).get_table_names()
        assert "uq_log_entries_leaf_hash" in _unique_names(old)
    finally:
        old.dispose()


def test_downgrading_restores_the_hash_index(source: Ledger, empty_db_url: str) -> None:
    old = _at_0007_with(source.engine, empty_db_url)
    try:
        upgrade(old)
        config = alembic_config(old)
        with old.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "0007")
        assert "uq_log_entries_leaf_hash" in _unique_names(old)
        assert NEW not in inspect(old).get_table_names()
        for name in ("log_entries", "log_nodes", "disclosures"):
            assert _rows(old, name) == _rows(source.engine, name), name
        upgrade(old)
        assert _rows(old, NEW) == _rows(source.engine, NEW)
    finally:
        old.dispose()


def test_a_disclosure_held_by_two_entries_is_not_downgraded(
    source: Ledger, empty_db_url: str
) -> None:
    """0008 keys disclosures by (seq, digest): two entries may disclose the same value with the
    same salt. 0007 cannot hold that, so the downgrade refuses and changes nothing."""
    old = _at_0007_with(source.engine, empty_db_url)
    try:
        upgrade(old)
        with old.begin() as conn:
            row = conn.execute(text("SELECT * FROM disclosures ORDER BY seq LIMIT 1")).one()
            conn.execute(
                text(
                    "INSERT INTO disclosures (seq, digest, name, ciphertext, erased) "
                    "VALUES (:seq, :digest, :name, :ciphertext, :erased)"
                ),
                {**row._asdict(), "seq": row.seq + 1},
            )
        before = {name: _rows(old, name) for name in ("log_entries", "disclosures", NEW)}
        config = alembic_config(old)
        with old.begin() as conn:
            config.attributes["connection"] = conn
            with pytest.raises(RuntimeError, match="held by more than one entry"):
                command.downgrade(config, "0007")
        assert {name: _rows(old, name) for name in before} == before
        with old.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0008"
    finally:
        old.dispose()


def _unique_names(engine: Engine) -> set[str]:
    return {uq["name"] for uq in inspect(engine).get_unique_constraints("log_entries")}
