"""Round trips the append path saves, and what they must not cost.

- :meth:`rawsql.Raw.reads` answers several queries exactly as one :meth:`~rawsql.Raw.all` each
  would, on both engines; on PostgreSQL it sends them in one pipeline.
- The sequencer's prefetch reads all kinds of state through it, and what it caches is what a
  read of each row would give.
- PostgreSQL connections are tested before use only after sitting idle in the pool: one the
  server dropped while idle is replaced without the caller noticing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import World
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from ledger import db, rawsql
from ledger.custody.log import Ledger
from ledger.sqlstate import SqlBacking
from ledger.state import OverlayState

_QUERIES = [
    ("SELECT id, country FROM actors WHERE id IN (?, ?) ORDER BY id", ("coop-a", "trader-a")),
    ("SELECT id FROM actors WHERE id = ?", ("nobody",)),  # no row
    ("SELECT count(*) FROM log_entries WHERE seq >= ?", (0,)),
    ("SELECT subject FROM heads ORDER BY subject", ()),
]


def test_reads_answers_as_one_query_each(world: World, ledger: Ledger) -> None:
    with ledger.engine.connect() as conn:
        raw = rawsql.Raw(conn)
        one_by_one = [raw.all(sql, params) for sql, params in _QUERIES]
        together = raw.reads(_QUERIES)
    assert together == one_by_one
    assert [row[0] for row in together[0]] == ["coop-a", "trader-a"]
    assert together[1] == []
    assert together[2] == [(ledger.size(),)]
    assert len(together[3]) > 1


@pytest.mark.postgres
def test_reads_on_postgresql_go_in_one_pipeline(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pg_engine.connect() as conn:
        raw = rawsql.Raw(conn)
        dbapi = conn.connection.dbapi_connection
        opened = []
        real = dbapi.pipeline

        def counted():  # type: ignore[no-untyped-def]
            opened.append(1)
            return real()

        monkeypatch.setattr(dbapi, "pipeline", counted)
        found = raw.reads([("SELECT 1", ()), ("SELECT ?::int + 1", (1,))])
        assert found == [[(1,)], [(2,)]]
        assert opened == [1]
        assert raw.reads([("SELECT 3", ())]) == [[(3,)]]  # one query: no pipeline
        assert opened == [1]


@pytest.mark.postgres
def test_a_failing_read_in_the_pipeline_raises(pg_engine: Engine) -> None:
    import psycopg

    with pg_engine.connect() as conn:
        raw = rawsql.Raw(conn)
        with pytest.raises(psycopg.errors.UndefinedTable):
            raw.reads([("SELECT 1", ()), ("SELECT * FROM no_such_table", ())])
        dbapi = conn.connection.dbapi_connection
        assert dbapi.pgconn.pipeline_status == 0  # out of pipeline mode
        dbapi.rollback()  # the failed transaction ends; the connection serves again
        assert rawsql.Raw(conn).reads([("SELECT 1", ()), ("SELECT 2", ())]) == [[(1,)], [(2,)]]


def test_a_nul_in_a_guessed_key_fails_only_its_own_statement(world: World, ledger: Ledger) -> None:
    """A value with NUL is not prefetched (PostgreSQL would refuse the whole round's reads):
    the statement is refused by the body check, and the others of the batch go in."""
    from ledger.custody.log import ACCEPTED, REJECTED
    from ledger.rules import prefetch_keys

    bad = world.register_lot("lot-nul", site="site-a\x00x")
    assert not [key for _kind, key in prefetch_keys(bad.envelope.statement) if "site-a\x00x" in key]
    good = world.register_lot("lot-fine")
    results = ledger.append_batch([bad, good])
    assert [r.status for r in results] == [REJECTED, ACCEPTED]


def test_prefetch_caches_what_single_reads_give(world: World, ledger: Ledger) -> None:
    world.run(world.register_lot("lot-p"))
    wanted = [
        ("actor", "coop-a"),
        ("actor", "nobody"),
        ("lot", "lot-p"),
        ("lot", "no-such-lot"),
        ("head", "lot:lot-p"),
        ("site", "site-a"),
        ("site", "site-b"),
    ]
    with ledger.engine.connect() as conn:
        backing = SqlBacking(conn)
        state = OverlayState(backing)
        state.prefetch(wanted)
        cached = state.cache
        for kind, key in wanted:
            assert (kind, key) in cached
            assert cached[(kind, key)] == backing.load(kind, key)
    assert cached[("actor", "nobody")] is None
    assert cached[("lot", "lot-p")] is not None


def test_load_many_reads_keys_of_several_columns_one_query_each(
    world: World, ledger: Ledger
) -> None:
    """The ledger row and a site's monthly output (a two-column key) come with the rest."""
    world.run(world.register_lot("lot-o", mass_g=1234, extracted="2026-01-10"))
    wanted = {
        "ledger": ["1"],
        "output": ["site-a\x002026-01", "site-a\x002025-12"],
        "actor": ["coop-a"],
    }
    with ledger.engine.connect() as conn:
        backing = SqlBacking(conn)
        found = backing.load_many(wanted)
        for kind, keys in wanted.items():
            for key in keys:
                assert found[kind].get(key) == backing.load(kind, key)
    assert found["output"] == {"site-a\x002026-01": 1234}
    assert found["ledger"]["1"] is not None


def test_prefetch_guesses_the_output_row_of_a_registration(world: World) -> None:
    from ledger.rules import prefetch_keys

    statement = world.register_lot("lot-q", extracted="2026-03-02").envelope.statement
    assert ("output", "site-a\x002026-03") in set(prefetch_keys(statement))


@pytest.mark.postgres
def test_an_idle_connection_the_server_dropped_is_replaced(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as idle
    before = _backend(pg_engine)
    _terminate(pg_engine, before)
    after = _backend(pg_engine)  # the pooled connection failed its test; a new one answers
    assert after != before


@pytest.mark.postgres
def test_a_recently_used_connection_is_not_tested(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: within the idle window the dropped connection is handed out untested,
    and its first statement fails (so the test above passes because of the ping)."""
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 3600.0)
    before = _backend(pg_engine)
    _terminate(pg_engine, before)
    with pytest.raises(OperationalError), pg_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert _backend(pg_engine) != before  # and the pool recovers on the next checkout


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(engine: Engine, pid: int) -> None:
    admin = db.make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            conn.commit()
    finally:
        admin.dispose()
    import time

    time.sleep(0.2)  # the backend exits asynchronously


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_append_reads_its_rows_in_one_round_trip(
    world: World, ledger: Ledger, tmp_path: Path
) -> None:
    """libpq's own trace of the sequencer's connection: the prefetch's SELECTs of several kinds
    are all sent before the server answers any of them (one exchange, one round trip)."""
    import psycopg
    from ledgers import make_ledger
    from sqlalchemy import event

    world.run(world.register_lot("lot-t"))
    make_ledger(ledger.engine).append(world.register_lot("lot-u"))  # another writer: nothing
    # this ledger holds warm is current any more, so it reads every row the statement names
    trace = tmp_path / "libpq.trace"
    files = []

    def _trace(dbapi_connection, _record, _proxy):  # type: ignore[no-untyped-def]
        out = trace.open("a")
        files.append(out)
        dbapi_connection.pgconn.trace(out.fileno())
        dbapi_connection.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)

    event.listen(ledger.engine, "checkout", _trace)
    try:
        ledger.append(world.dispatch("lot-t", by="coop-a", to="trader-a"))
    finally:
        event.remove(ledger.engine, "checkout", _trace)
        ledger.engine.dispose()  # closes the traced connections
        for out in files:
            out.close()
    exchanges: list[list[str]] = [[]]
    for line in trace.read_text().splitlines():
        if line.startswith("F"):
            if exchanges[-1] and exchanges[-1][-1].startswith("B"):
                exchanges.append([])
            exchanges[-1].append(line)
        elif line.startswith("B"):
            exchanges[-1].append(line)
    tables = [
        {
            line.split(" FROM ")[1].split()[0]
            for line in exchange
            if "Parse" in line and " IN (" in line
        }
        for exchange in exchanges
    ]
    assert max(len(found) for found in tables) >= 4, tables  # e.g. actors, actor_keys, heads, lots
