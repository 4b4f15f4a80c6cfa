"""Incidents, the open incidents of each subject, the taint lots carry, and what the flags read
(when a lot was dispatched; the latest attestation of each claim about a subject).

Derived state (``ledger audit`` re-derives and compares all five), written only by the
sequencer; not log tables, so no append-only trigger.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("reporter", sa.String(length=64), nullable=False),
        sa.Column("observed", sa.String(length=10), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("resolved_seq", sa.BigInteger(), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_subject_id"), ["subject_id"], unique=False)
    op.create_table(
        "open_incidents",
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("incidents", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_open_incidents")),
    )
    op.create_table(
        "lot_taint",
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("incidents", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("lot", name=op.f("pk_lot_taint")),
    )
    op.create_table(
        "lot_transit",
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("dispatched", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("lot", name=op.f("pk_lot_transit")),
    )
    op.create_table(
        "subject_attestations",
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("attestations", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("subject", name=op.f("pk_subject_attestations")),
    )


def downgrade() -> None:
    op.drop_table("subject_attestations")
    op.drop_table("lot_transit")
    op.drop_table("lot_taint")
    op.drop_table("open_incidents")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_subject_id"))
        batch_op.drop_index(batch_op.f("ix_incidents_category"))
    op.drop_table("incidents")
