"""The figures remember the fingerprint of the cases their last check found current (issue 9).

Revision ID: 0004_figures_marker
Revises: 0003_indexes

`figures_generation.cases_marker` holds `services.figures.cases_marker` (number of cases and sum
of their versions) as the last refresh saw it with every figures row current; while the cases give
the same marker, a request need not look for stale rows (a join over every case).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_figures_marker"
down_revision: str | Sequence[str] | None = "0003_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("figures_generation") as batch:
        batch.add_column(sa.Column("cases_marker", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("figures_generation") as batch:
        batch.drop_column("cases_marker")
