"""Figures, simplified (issue 12): no stored snapshots; public figures get counts of their own.

Revision ID: 0010_figures_simplified
Revises: 0009_session_generation

`figures_snapshots` (0005) held the last figures per filter so that a request could answer with
old figures while a background thread computed new ones. Figures are now read from
`figures_counts` in the request (docs/performance.md, figures), so the table goes. The counts
gain the scopes of the public figures (`processor.statistics.counter_scopes`: published
mini-HTAs, all years and each year); counts made before hold none of them, so they are emptied
and the cases marker forgotten: the next refresh finds the counts short of the cases and counts
them all once (`services.figures.recount`), as after 0006 and 0007. The covering indexes of the
`GROUP BY` queries that counted the rows per request (0002) are dropped with them: nothing
reads the rows that way any more, and every refresh wrote them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_figures_simplified"
down_revision: str | Sequence[str] | None = "0009_session_generation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_COVERING = {
    "ix_case_figures_counts": (
        "case_figures",
        ["form_type", "hf", "region", "received_year", "fagomrade", "state", "outcome", "returns"],
    ),
    "ix_case_figures_totals": (
        "case_figures",
        [
            "form_type",
            "hf",
            "region",
            "received_year",
            "fagomrade",
            "total_calendar_days",
            "total_working_days",
        ],
    ),
    "ix_case_figures_outcome_on": ("case_figures", ["outcome_on", "outcome"]),
    "ix_case_figure_stages_days": (
        "case_figure_stages",
        ["state", "calendar_days", "working_days"],
    ),
}


def upgrade() -> None:
    for name, (table, _) in _COVERING.items():
        op.drop_index(name, table_name=table)
    op.drop_table("figures_snapshots")
    op.execute("DELETE FROM figures_counts")
    op.execute("UPDATE figures_generation SET cases_marker = NULL")


def downgrade() -> None:
    # the extra scopes do no harm to the code of 0009, which never reads them
    for name, (table, columns) in _COVERING.items():
        op.create_index(name, table, columns)
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
