"""Indexes for the paged case list: newest first, alone and within each filter (issue 9).

Revision ID: 0003_indexes
Revises: 0002_committee, 0002_figures, 0002_minihta (merges the three heads)

`GET /saker` orders by `created_at DESC, id DESC` and filters on `hf`, `state` or `form_type`;
with these indexes a page is read in index order instead of sorting every matching case.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003_indexes"
down_revision: str | Sequence[str] | None = ("0002_committee", "0002_figures", "0002_minihta")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_cases_created_at_id": ["created_at", "id"],
    "ix_cases_hf_created_at": ["hf", "created_at", "id"],
    "ix_cases_state_created_at": ["state", "created_at", "id"],
    "ix_cases_form_type_created_at": ["form_type", "created_at", "id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "cases", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="cases")
