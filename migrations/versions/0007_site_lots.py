"""The lots registered at each site, so that an incident about a site flags every lot already
derived from it (the lots registered there and their descendants) without scanning.

Derived state: on a ledger made before this revision the table starts empty, and ``ledger
audit`` reports it; ``ledger rebuild-derived`` re-derives it from the log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "site_lots",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("lot", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("site", "lot", name=op.f("pk_site_lots")),
    )


def downgrade() -> None:
    op.drop_table("site_lots")
