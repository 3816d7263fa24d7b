"""The reviewer's consent to be named in the public record (issue 13).

Revision ID: 0012_reviewer_name_consent
Revises: 0011_user_oidc_sub_epost

A published mini-HTA shows "en uavhengig fagfelle" instead of the reviewer's name unless the
reviewer agreed (`peer_assignments.name_consent`, set on the reviewer's page). Existing rows
get no consent.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_reviewer_name_consent"
down_revision: str | Sequence[str] | None = "0011_user_oidc_sub_epost"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("peer_assignments") as batch:
        batch.add_column(
            sa.Column("name_consent", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("peer_assignments") as batch:
        batch.drop_column("name_consent")
