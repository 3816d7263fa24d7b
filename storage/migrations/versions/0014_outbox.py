"""The transactional outbox: e-mail notifications and archive messages (CONNECTIONS.md sections
2 and 3, issue 24), and the worker's last run.

Revision ID: 0014_outbox
Revises: 0013_stemmed_search

`outbox` holds one row per mail or archive message, written in the transaction of the change
that causes it; `skjemamottak worker` delivers them. `worker_beats` holds each worker's last run
(`/healthz`). Existing cases get no rows: what happened before the upgrade is not announced.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_outbox"
down_revision: str | Sequence[str] | None = "0013_stemmed_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("art", sa.String(length=10), nullable=False),
        sa.Column("hendelse", sa.String(length=40), nullable=False),
        sa.Column("sak", sa.String(length=64), nullable=True),
        sa.Column("mote", sa.Integer(), nullable=True),
        sa.Column("mottaker", sa.String(length=254), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("forsok", sa.Integer(), nullable=False),
        sa.Column("neste_forsok", WHEN, nullable=False),
        sa.Column("forste_feil", WHEN, nullable=True),
        sa.Column("siste_feil", sa.Text(), nullable=True),
        sa.Column("opprettet", WHEN, nullable=False),
        sa.Column("sendt", WHEN, nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", WHEN, nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.CheckConstraint("art IN ('epost', 'arkiv')", name=op.f("ck_outbox_art")),
        sa.CheckConstraint(
            "status IN ('venter', 'sendt', 'feilet')", name=op.f("ck_outbox_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "art", "neste_forsok"])
    op.create_index(op.f("ix_outbox_sak"), "outbox", ["sak"])
    op.create_table(
        "worker_beats",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("last_run", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_beats")),
    )


def downgrade() -> None:
    op.drop_table("worker_beats")
    op.drop_index(op.f("ix_outbox_sak"), table_name="outbox")
    op.drop_index("ix_outbox_due", table_name="outbox")
    op.drop_table("outbox")
