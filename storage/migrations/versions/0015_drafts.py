"""Drafts and sign-off in the HF (PORTAL.md, issue 14): users get their HF functions; drafts and
their approval steps.

Revision ID: 0015_drafts
Revises: 0013_stemmed_search

`users.funksjoner` is a JSON list (`lege`, `linjeleder`, `fagdirektor`), empty for every existing
user: they keep today's direct upload. The display name a sign-off shows is the existing
`users.display_name`. `drafts.stored` holds the exact bytes of a submitted draft's form
(`C(data)`), whose SHA-256 is on the receipt.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015_drafts"
down_revision: str | Sequence[str] | None = "0013_stemmed_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
STATES = "'utkast', 'til_linjeleder', 'til_fagdirektor', 'sendt_inn'"
FORMS = "'tilgang-del2', 'minihta'"
FUNCTIONS = "'lege', 'linjeleder', 'fagdirektor'"


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("funksjoner", JSON, nullable=False, server_default="[]"))
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("hf", sa.String(20), nullable=False),
        sa.Column("form_type", sa.String(32), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("values", JSON, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("authors", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("stored", sa.LargeBinary(), nullable=True),
        sa.CheckConstraint(f"state IN ({STATES})", name=op.f("ck_drafts_state")),
        sa.CheckConstraint(f"form_type IN ({FORMS})", name=op.f("ck_drafts_form_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    op.create_index("ix_drafts_hf_updated_at", "drafts", ["hf", "updated_at"])
    op.create_index(op.f("ix_drafts_case_id"), "drafts", ["case_id"])
    op.create_table(
        "draft_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("function", sa.String(20), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"function IN ({FUNCTIONS})", name=op.f("ck_draft_approvals_function")),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["drafts.id"],
            name=op.f("fk_draft_approvals_draft_id_drafts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_approvals")),
    )
    op.create_index(op.f("ix_draft_approvals_draft_id"), "draft_approvals", ["draft_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_draft_approvals_draft_id"), table_name="draft_approvals")
    op.drop_table("draft_approvals")
    op.drop_index(op.f("ix_drafts_case_id"), table_name="drafts")
    op.drop_index("ix_drafts_hf_updated_at", table_name="drafts")
    op.drop_table("drafts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("funksjoner")
