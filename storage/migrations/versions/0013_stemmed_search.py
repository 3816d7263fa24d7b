"""Public search stems Norwegian on SQLite too (issue 13).

Revision ID: 0013_stemmed_search
Revises: 0012_reviewer_name_consent

The SQLite FTS5 table `minihta_publications_fts` held the publications' words as written, so
«kirurgien» did not find «kirurgi» (PostgreSQL's `norwegian` configuration stems them). It now
holds their Norwegian Snowball stems (`storage.repository_minihta.index_body`), and the query is
stemmed the same way: the rows already there are indexed again from
`minihta_publications.search_text`. PostgreSQL is unchanged. Downgrade indexes the words as
written again.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_stemmed_search"
down_revision: str | Sequence[str] | None = "0012_reviewer_name_consent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS = "minihta_publications_fts"


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    from storage.repository_minihta import reindex_sqlite

    reindex_sqlite(conn)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(sa.text(f"DELETE FROM {FTS}"))
    op.execute(
        sa.text(
            f"INSERT INTO {FTS} (case_id, body) SELECT case_id, search_text FROM minihta_publications"
        )
    )
