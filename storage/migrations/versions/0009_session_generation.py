"""Each user's session generation: logging out, a password change or deactivation ends every
session of the user (issue 11, finding 6).

Revision ID: 0009_session_generation
Revises: 0008_keep_only_what_was_read

A session cookie carries the generation it was issued under; `web.auth.session_actor` refuses a
cookie whose generation is not the user's current one. Existing sessions carry none and end at
the upgrade (their users log in again once).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_session_generation"
down_revision: str | Sequence[str] | None = "0008_keep_only_what_was_read"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_generation")
