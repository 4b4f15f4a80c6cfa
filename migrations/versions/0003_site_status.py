"""Site status from inspections: the status as last evaluated, and its history.

Derived state (``ledger audit`` re-derives and compares both tables), written only by the
sequencer; the history is appended to, never updated, but like the other derived tables it is
not a log table, so no append-only trigger (the log's own bytes are what is protected).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_status",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=64), nullable=True),
        sa.Column("since", sa.String(length=10), nullable=True),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("updated_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_site_status")),
    )
    with op.batch_alter_table("site_status", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_status_status"), ["status"], unique=False)
    op.create_table(
        "site_status_history",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("site", "seq", name=op.f("pk_site_status_history")),
    )


def downgrade() -> None:
    op.drop_table("site_status_history")
    with op.batch_alter_table("site_status", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_status_status"))
    op.drop_table("site_status")
