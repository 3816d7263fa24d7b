"""Users get an e-mail address and the `sub` of their OpenID Connect login (CONNECTIONS.md
sections 1 and 2).

Revision ID: 0011_user_oidc_sub_epost
Revises: 0010_figures_simplified

Both are nullable: existing users keep logging in with their password or token and get no mail
until an operator sets them (`skjemamottak user set NAME --epost ... --oidc-sub ...`). A `sub` is
one user's at most: a unique index (NULLs may repeat on SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_user_oidc_sub_epost"
down_revision: str | Sequence[str] | None = "0010_figures_simplified"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("epost", sa.String(254), nullable=True))
        batch.add_column(sa.Column("oidc_sub", sa.String(255), nullable=True))
    op.create_index("ix_users_oidc_sub", "users", ["oidc_sub"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_users_oidc_sub", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("oidc_sub")
        batch.drop_column("epost")
