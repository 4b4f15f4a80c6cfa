"""The client journal: settings, statements and their subjects, receipts, checkpoints, heads,
counters.

Revision ID: 0001_journal
Revises:
Create Date: 2026-02-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_journal"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_settings"),
    )
    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("disclosures", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("signed_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'duplicate', 'rejected')",
            name="ck_statements_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_statements"),
        sa.UniqueConstraint("key_id", "n", name="uq_statements_key_id_n"),
    )
    op.create_index("ix_statements_status_id", "statements", ["status", "id"])
    op.create_table(
        "statement_subjects",
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(80), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name="fk_statement_subjects_statement_id_statements",
        ),
        sa.PrimaryKeyConstraint("statement_id", "subject", name="pk_statement_subjects"),
    )
    op.create_index("ix_statement_subjects_subject", "statement_subjects", ["subject"])
    op.create_table(
        "checkpoints",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("verified_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("size", name="pk_checkpoints"),
    )
    op.create_table(
        "receipts",
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("entry", sa.LargeBinary(), nullable=False),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(40), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"], ["statements.id"], name="fk_receipts_statement_id_statements"
        ),
        sa.ForeignKeyConstraint(
            ["checkpoint_size"],
            ["checkpoints.size"],
            name="fk_receipts_checkpoint_size_checkpoints",
        ),
        sa.PrimaryKeyConstraint("statement_id", name="pk_receipts"),
        sa.UniqueConstraint("seq", name="uq_receipts_seq"),
    )
    op.create_table(
        "heads",
        sa.Column("subject", sa.String(80), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("subject", name="pk_heads"),
    )
    op.create_table(
        "counters",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("last_n", sa.BigInteger(), nullable=False),
        sa.Column("server_n", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key_id", name="pk_counters"),
    )


def downgrade() -> None:
    op.drop_table("counters")
    op.drop_table("heads")
    op.drop_table("receipts")
    op.drop_table("checkpoints")
    op.drop_index("ix_statement_subjects_subject", table_name="statement_subjects")
    op.drop_table("statement_subjects")
    op.drop_index("ix_statements_status_id", table_name="statements")
    op.drop_table("statements")
    op.drop_table("settings")
