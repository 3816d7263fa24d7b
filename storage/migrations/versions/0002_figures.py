"""Figures: one row of per-case figures per case, its per-stage durations, and the refresh
generation (issue 7).

Revision ID: 0002_figures
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_figures"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_figures",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("form_type", sa.String(length=32), nullable=False),
        sa.Column("hf", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=20), nullable=False),
        sa.Column("fagomrade", sa.String(length=200), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("received_year", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("outcome_on", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("total_calendar_days", sa.Integer(), nullable=True),
        sa.Column("total_working_days", sa.Integer(), nullable=True),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("links", sa.Text(), nullable=False),
        sa.Column("source_version", sa.Integer(), nullable=False),
        sa.Column("source_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_figures_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_figures")),
    )
    op.create_index(op.f("ix_case_figures_hf"), "case_figures", ["hf"], unique=False)
    op.create_index(
        op.f("ix_case_figures_received_year"), "case_figures", ["received_year"], unique=False
    )
    op.create_table(
        "case_figure_stages",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("calendar_days", sa.Integer(), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_figures.case_id"],
            name=op.f("fk_case_figure_stages_case_id_case_figures"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", "state", name=op.f("pk_case_figure_stages")),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_case_figures_counts",
        "case_figures",
        [
            "form_type",
            "hf",
            "region",
            "received_year",
            "fagomrade",
            "state",
            "outcome",
            "returns",
        ],
    )
    op.create_index(
        "ix_case_figures_totals",
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
    )
    op.create_index("ix_case_figures_outcome_on", "case_figures", ["outcome_on", "outcome"])
    op.create_index(
        "ix_case_figure_stages_days",
        "case_figure_stages",
        ["state", "calendar_days", "working_days"],
    )
    op.create_table(
        "figures_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figures_generation")),
    )


def downgrade() -> None:
    op.drop_table("figures_generation")
    op.drop_index("ix_case_figure_stages_days", table_name="case_figure_stages")
    op.drop_table("case_figure_stages")
    for name in (
        "ix_case_figures_outcome_on",
        "ix_case_figures_totals",
        "ix_case_figures_counts",
    ):
        op.drop_index(name, table_name="case_figures")
    op.drop_index(op.f("ix_case_figures_received_year"), table_name="case_figures")
    op.drop_index(op.f("ix_case_figures_hf"), table_name="case_figures")
    op.drop_table("case_figures")
