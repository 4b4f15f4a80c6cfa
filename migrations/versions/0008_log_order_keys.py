"""Keys that grow in log order: appends stay as cheap at a million entries as at ten thousand.

- ``entry_links`` (new, derived): for each entry, the sequence number of every head its
  statement names in ``after``. Filled here from the log, so a ledger upgraded in place can
  follow its lots' histories at once.
- ``log_entries`` loses its unique index on ``leaf_hash`` and its indexes on ``type`` and
  ``actor``. A hash lands on a random page of its index: at a million entries every batch
  rewrote about a thousand pages of it, each written to the WAL and copied back at the next
  checkpoint. Nothing needs them any more: entries are found by ``seq``, histories through
  ``entry_links``. The leaf hash itself stays in the row, and the log's own structure (each
  entry's ``prev``, the Merkle tree) still binds every entry to its hash.
- ``disclosures`` is keyed by ``(seq, digest)`` instead of the random digest alone.
- On SQLite, ``log_entries.seq`` becomes an ``INTEGER PRIMARY KEY`` (the rowid: one B-tree
  instead of a table and a key index), and ``log_nodes``, ``disclosures`` and ``entry_links``
  are ``WITHOUT ROWID`` tables, stored in key order. SQLite cannot change a key in place, so
  those tables are copied into new ones (a ledger of a million entries takes a minute or two);
  ``log_entries`` and ``log_nodes`` keep their append-only triggers.

Everything happens in the migration's one transaction: an interrupted upgrade changes nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 06:00:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHUNK = 5000  # entries read at a time while filling entry_links
_LEAVES_PER_QUERY = 500  # bound parameters per leaf-hash lookup


def upgrade() -> None:
    op.create_table(
        "entry_links",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("after_entry", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("seq", "subject", name=op.f("pk_entry_links")),
        sqlite_with_rowid=False,
    )
    _fill_entry_links()  # while the leaf-hash index still exists to resolve the links
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def _fill_entry_links() -> None:
    bind = op.get_bind()
    columns = (sa.column("seq"), sa.column("subject"), sa.column("after_entry"))
    links = sa.table("entry_links", *columns)
    for chunk in _entries(bind):
        named = [
            (seq, subject, bytes.fromhex(leaf))
            for seq, data in chunk
            for subject, leaf in _after(data).items()
        ]
        seq_of = _seqs_of(bind, {leaf for _, _, leaf in named})
        rows = [
            {"seq": seq, "subject": subject, "after_entry": seq_of[leaf]}
            for seq, subject, leaf in named
        ]
        if rows:
            bind.execute(links.insert(), rows)


def _entries(bind: Any) -> Iterator[list[tuple[int, bytes]]]:
    start = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT seq, data FROM log_entries WHERE seq >= :start AND seq < :end ORDER BY seq"
            ),
            {"start": start, "end": start + _CHUNK},
        ).all()
        if not rows:
            return
        yield [(int(seq), bytes(data)) for seq, data in rows]
        start += _CHUNK


def _after(data: bytes) -> dict[str, str]:
    """The ``after`` map of an entry's statement (the log only holds accepted statements)."""
    after = json.loads(data)["envelope"]["statement"].get("after") or {}
    return {str(subject): str(leaf) for subject, leaf in after.items()}


def _seqs_of(bind: Any, leaves: set[bytes]) -> dict[bytes, int]:
    found: dict[bytes, int] = {}
    wanted = sorted(leaves)
    for i in range(0, len(wanted), _LEAVES_PER_QUERY):
        query = sa.text("SELECT seq, leaf_hash FROM log_entries WHERE leaf_hash IN :leaves")
        query = query.bindparams(sa.bindparam("leaves", expanding=True))
        for seq, leaf in bind.execute(query, {"leaves": wanted[i : i + _LEAVES_PER_QUERY]}):
            found[bytes(leaf)] = int(seq)
    missing = leaves - found.keys()
    if missing:
        raise RuntimeError(
            f"the log names {len(missing)} head(s) in 'after' that it does not hold (for example "
            f"{min(missing).hex()}); run `ledger audit` on the ledger before upgrading it."
        )
    return found


def _upgrade_postgresql() -> None:
    op.drop_constraint("uq_log_entries_leaf_hash", "log_entries", type_="unique")
    op.drop_index("ix_log_entries_actor", table_name="log_entries")
    op.drop_index("ix_log_entries_type", table_name="log_entries")
    op.drop_index("ix_disclosures_seq", table_name="disclosures")
    op.drop_constraint("pk_disclosures", "disclosures", type_="primary")
    op.create_primary_key("pk_disclosures", "disclosures", ["seq", "digest"])


def _log_entries(seq_type: Any) -> list[sa.Column[Any]]:
    return [
        sa.Column("seq", seq_type, autoincrement=False, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("logged", sa.String(length=40), nullable=False),
    ]


def _log_nodes() -> list[sa.Column[Any]]:
    return [
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
    ]


def _disclosures() -> list[sa.Column[Any]]:
    return [
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=True),
        sa.Column("erased", sa.String(length=40), nullable=True),
    ]


def _upgrade_sqlite() -> None:
    _copy_sqlite(
        "log_entries",
        _log_entries(sa.Integer()),
        sa.PrimaryKeyConstraint("seq", name="pk_log_entries"),
        sa.UniqueConstraint("key_id", "n", name="uq_log_entries_key_id_n"),
    )
    _copy_sqlite(
        "log_nodes",
        _log_nodes(),
        sa.PrimaryKeyConstraint("level", "idx", name="pk_log_nodes"),
        without_rowid=True,
    )
    _copy_sqlite(
        "disclosures",
        _disclosures(),
        sa.PrimaryKeyConstraint("seq", "digest", name="pk_disclosures"),
        without_rowid=True,
    )


def _copy_sqlite(
    name: str, columns: list[sa.Column[Any]], *constraints: Any, without_rowid: bool = False
) -> None:
    """Replace table ``name`` by a copy with the new definition, in key order; the log tables
    get their append-only triggers back (dropping a table drops its triggers)."""
    staged = f"{name}_0008"
    kwargs = {"sqlite_with_rowid": False} if without_rowid else {}
    op.create_table(staged, *columns, *constraints, **kwargs)
    names = ", ".join(c.name for c in columns)
    order = "level, idx" if name == "log_nodes" else "seq"
    op.execute(f"INSERT INTO {staged} ({names}) SELECT {names} FROM {name} ORDER BY {order}")  # noqa: S608
    op.drop_table(name)
    op.rename_table(staged, name)
    if name in _APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):  # as revision 0001 made them
            op.execute(
                f"CREATE TRIGGER {name}_no_{action.lower()} BEFORE {action} ON {name} "
                f"BEGIN SELECT RAISE(ABORT, 'ledger table {name} is append-only: "
                f"{action} refused'); END"
            )


_APPEND_ONLY = ("log_entries", "log_nodes")


def downgrade() -> None:
    """Back to revision 0007's keys and indexes (entry_links is derived: simply dropped)."""
    shared = (
        op.get_bind()
        .execute(
            sa.text("SELECT digest FROM disclosures GROUP BY digest HAVING COUNT(*) > 1 LIMIT 1")
        )
        .scalar()
    )
    if shared is not None:
        raise RuntimeError(
            f"disclosure {shared} is held by more than one entry, which revision 0007 cannot "
            "store (it keys disclosures by digest alone); keep this ledger at revision 0008."
        )
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("pk_disclosures", "disclosures", type_="primary")
        op.create_primary_key("pk_disclosures", "disclosures", ["digest"])
        op.create_index("ix_disclosures_seq", "disclosures", ["seq"], unique=False)
        op.create_index("ix_log_entries_type", "log_entries", ["type"], unique=False)
        op.create_index("ix_log_entries_actor", "log_entries", ["actor"], unique=False)
        op.create_unique_constraint("uq_log_entries_leaf_hash", "log_entries", ["leaf_hash"])
    else:
        _copy_sqlite(
            "log_entries",
            _log_entries(sa.BigInteger()),
            sa.PrimaryKeyConstraint("seq", name="pk_log_entries"),
            sa.UniqueConstraint("key_id", "n", name="uq_log_entries_key_id_n"),
            sa.UniqueConstraint("leaf_hash", name="uq_log_entries_leaf_hash"),
        )
        op.create_index("ix_log_entries_actor", "log_entries", ["actor"], unique=False)
        op.create_index("ix_log_entries_type", "log_entries", ["type"], unique=False)
        _copy_sqlite(
            "log_nodes", _log_nodes(), sa.PrimaryKeyConstraint("level", "idx", name="pk_log_nodes")
        )
        _copy_sqlite(
            "disclosures", _disclosures(), sa.PrimaryKeyConstraint("digest", name="pk_disclosures")
        )
        op.create_index("ix_disclosures_seq", "disclosures", ["seq"], unique=False)
    op.drop_table("entry_links")
