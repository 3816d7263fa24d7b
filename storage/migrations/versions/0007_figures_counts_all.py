"""The figures of every combination of filters as counts kept current at write time (issue 9).

Revision ID: 0007_figures_counts_all
Revises: 0006_figures_counts

`processor.statistics.counter_scopes` now keeps each case's counts under every combination of
its filters (an HF, a year and a type ...), not only under one or two. Counts made before hold
none of the others: they are emptied and the cases marker forgotten, so that the next refresh
finds the counts short of the cases and counts them all once (`services.figures.recount`), as
after 0006.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_figures_counts_all"
down_revision: str | Sequence[str] | None = "0006_figures_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DELETE FROM figures_counts")
    op.execute("UPDATE figures_generation SET cases_marker = NULL")


def downgrade() -> None:
    # more scopes do no harm to code that reads only up to two filters: nothing to undo
    pass
