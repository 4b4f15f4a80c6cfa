"""Anonymous grievances about mine sites (``ledger.custody.grievances``).

Not log tables and not derived state: grievances are unsigned, anonymous reports kept beside the
log, so ``ledger audit`` neither reads nor compares this table and it has no append-only
trigger. No column identifies a reporter (no address, no user agent, the day received only);
the text is sealed with the data key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 22:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grievances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("received", sa.String(length=10), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("incident", sa.String(length=64), nullable=True),
        sa.Column("converted_seq", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grievances")),
        sa.UniqueConstraint("incident", name=op.f("uq_grievances_incident")),
    )
    with op.batch_alter_table("grievances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grievances_site"), ["site"], unique=False)
        batch_op.create_index(batch_op.f("ix_grievances_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grievances", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grievances_status"))
        batch_op.drop_index(batch_op.f("ix_grievances_site"))
    op.drop_table("grievances")
