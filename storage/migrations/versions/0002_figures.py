"""Figures: one row of per-case figures per case, and the refresh generation (issue 7).

Revision ID: 0002_figures
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_figures"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


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
        sa.Column("stages", JSON, nullable=False),
        sa.Column("returns", sa.Integer(), nullable=False),
        sa.Column("links", JSON, nullable=False),
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
        "figures_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_figures_generation")),
    )


def downgrade() -> None:
    op.drop_table("figures_generation")
    op.drop_index(op.f("ix_case_figures_received_year"), table_name="case_figures")
    op.drop_index(op.f("ix_case_figures_hf"), table_name="case_figures")
    op.drop_table("case_figures")
