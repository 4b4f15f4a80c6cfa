"""What two more flags read: the latest statement each key signed, and which lots are still
pending in transit (dispatched, not received, not yet flagged as overdue).

``actor_keys.last_seq`` and ``last_time`` let ``actor.key.revoke`` see at once whether the key
signed anything dated at or after the revocation's effective time (``key_revoked_backdated``).
``lot_transit.pending`` with its index on ``(pending, dispatched)`` lets every append find the
lots in transit for longer than the policy allows without scanning (``transit_overdue``).

Derived state: on a ledger made before this revision the new columns start empty (keys) or from
the lots' current status (transit), and ``ledger audit`` reports the flags the new rules would
have raised earlier; ``ledger rebuild-derived`` re-derives them from the log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("actor_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_time", sa.String(length=40), nullable=True))
    with op.batch_alter_table("lot_transit", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        "UPDATE lot_transit SET pending = true "
        "WHERE lot IN (SELECT id FROM lots WHERE status = 'in_transit')"
    )
    with op.batch_alter_table("lot_transit", schema=None) as batch_op:
        batch_op.create_index("ix_lot_transit_pending", ["pending", "dispatched"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lot_transit", schema=None) as batch_op:
        batch_op.drop_index("ix_lot_transit_pending")
        batch_op.drop_column("pending")
    with op.batch_alter_table("actor_keys", schema=None) as batch_op:
        batch_op.drop_column("last_time")
        batch_op.drop_column("last_seq")
