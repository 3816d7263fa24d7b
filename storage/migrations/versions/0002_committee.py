"""Committee: members' committee attributes, meetings, absences, placed cases, decisions.

Revision ID: 0002_committee
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_committee"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "committee_members",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fagdirektor", sa.Boolean(), nullable=False),
        sa.Column("vara_for_id", sa.Integer(), nullable=True),
        sa.Column("active_from", sa.Date(), nullable=True),
        sa.Column("active_to", sa.Date(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_committee_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vara_for_id"],
            ["users.id"],
            name=op.f("fk_committee_members_vara_for_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_committee_members")),
    )
    op.create_table(
        "meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_date", sa.Date(), nullable=False),
        sa.Column("meeting_time", sa.Time(), nullable=False),
        sa.Column("case_limit", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("case_limit >= 1", name=op.f("ck_meetings_case_limit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    op.create_index(op.f("ix_meetings_meeting_date"), "meetings", ["meeting_date"], unique=False)
    op.create_table(
        "meeting_absences",
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_absences_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "username", name=op.f("pk_meeting_absences")),
    )
    op.create_table(
        "meeting_cases",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("placed_by", sa.String(length=100), nullable=False),
        sa.Column("placed_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_meeting_cases_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_cases_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_meeting_cases")),
    )
    op.create_index(
        op.f("ix_meeting_cases_meeting_id"), "meeting_cases", ["meeting_id"], unique=False
    )
    op.create_table(
        "decisions",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("body", JSON, nullable=False),
        sa.Column("reasoning", sa.Text(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("docx_sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('innvilget', 'avslatt')", name=op.f("ck_decisions_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_decisions_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pdf_sha256"], ["blobs.sha256"], name=op.f("fk_decisions_pdf_sha256_blobs")
        ),
        sa.ForeignKeyConstraint(
            ["docx_sha256"], ["blobs.sha256"], name=op.f("fk_decisions_docx_sha256_blobs")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_decisions")),
    )
    op.create_index(op.f("ix_decisions_pdf_sha256"), "decisions", ["pdf_sha256"], unique=False)
    op.create_index(op.f("ix_decisions_docx_sha256"), "decisions", ["docx_sha256"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_decisions_docx_sha256"), table_name="decisions")
    op.drop_index(op.f("ix_decisions_pdf_sha256"), table_name="decisions")
    op.drop_table("decisions")
    op.drop_index(op.f("ix_meeting_cases_meeting_id"), table_name="meeting_cases")
    op.drop_table("meeting_cases")
    op.drop_table("meeting_absences")
    op.drop_index(op.f("ix_meetings_meeting_date"), table_name="meetings")
    op.drop_table("meetings")
    op.drop_table("committee_members")
