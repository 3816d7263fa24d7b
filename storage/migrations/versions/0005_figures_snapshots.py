"""The last computed figures per filter are kept in the database (issue 9).

Revision ID: 0005_figures_snapshots
Revises: 0004_figures_marker

`figures_snapshots` holds one row per filter: the figures as JSON text, the generation and cases
marker they were computed for, and when. A request answers at once from it (also in another worker
process, also after a restart) and, when the cases changed since, a background thread computes
new figures (`services.figures`). Derived data: emptying the table only costs one computation.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_figures_snapshots"
down_revision: str | Sequence[str] | None = "0004_figures_marker"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "figures_snapshots",
        sa.Column("filter_key", sa.String(length=64), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("cases_marker", sa.String(length=100), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("filter_key", name=op.f("pk_figures_snapshots")),
    )


def downgrade() -> None:
    op.drop_table("figures_snapshots")
