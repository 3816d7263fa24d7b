"""Mini-HTA: attachments, peer reviewer assignments, publications and their search index.

Revision ID: 0002_minihta
Revises: 0001

The search index depends on the backend: SQLite gets an FTS5 table (`unicode61 remove_diacritics
0`, so æ, ø and å stay letters of their own), PostgreSQL a `tsvector` column filled with
`to_tsvector('norwegian', ...)` (Norwegian stemming) and a GIN index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_minihta"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "minihta_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("form_type", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("blob_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_suffix", sa.String(length=10), nullable=False),
        sa.Column("uploaded_by", sa.String(length=100), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warnings", JSON, nullable=False),
        sa.CheckConstraint(
            "form_type IN ('minihta-okonomi', 'minihta-fagfelle', 'minihta-beslutning')",
            name=op.f("ck_minihta_attachments_form_type"),
        ),
        sa.ForeignKeyConstraint(
            ["blob_sha256"],
            ["blobs.sha256"],
            name=op.f("fk_minihta_attachments_blob_sha256_blobs"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_minihta_attachments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_minihta_attachments")),
        sa.UniqueConstraint(
            "case_id", "form_type", "number", name=op.f("uq_minihta_attachments_case_id")
        ),
    )
    op.create_index(
        op.f("ix_minihta_attachments_blob_sha256"), "minihta_attachments", ["blob_sha256"]
    )
    op.create_index(op.f("ix_minihta_attachments_case_id"), "minihta_attachments", ["case_id"])

    op.create_table(
        "peer_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=100), nullable=False),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("override", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conflict_level", sa.String(length=10), nullable=True),
        sa.Column("conflict_description", sa.Text(), nullable=True),
        sa.Column("declared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "conflict_level IS NULL OR conflict_level IN ('gronn', 'gul', 'rod')",
            name=op.f("ck_peer_assignments_conflict_level"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_peer_assignments_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_peer_assignments")),
    )
    op.create_index(op.f("ix_peer_assignments_case_id"), "peer_assignments", ["case_id"])
    op.create_index(op.f("ix_peer_assignments_reviewer"), "peer_assignments", ["reviewer"])

    op.create_table(
        "minihta_publications",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("hf", sa.String(length=20), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("fagomrade", sa.String(length=200), nullable=False),
        sa.Column("konklusjon", sa.String(length=40), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_minihta_publications_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_minihta_publications")),
    )
    for column in ("hf", "year", "fagomrade", "konklusjon", "published_at"):
        op.create_index(op.f(f"ix_minihta_publications_{column}"), "minihta_publications", [column])

    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE minihta_publications_fts USING fts5("
            "case_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 0')"
        )
    elif dialect == "postgresql":
        op.execute("ALTER TABLE minihta_publications ADD COLUMN search_vector tsvector")
        op.execute(
            "CREATE INDEX ix_minihta_publications_search_vector "
            "ON minihta_publications USING gin (search_vector)"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS minihta_publications_fts")
    op.drop_table("minihta_publications")
    op.drop_table("peer_assignments")
    op.drop_table("minihta_attachments")
