"""The service keeps only what it read (FORMS.md section 6, rule 3; issue 10).

Revision ID: 0008_keep_only_what_was_read
Revises: 0007_figures_counts_all

Earlier versions wrote every accepted uploaded file into the blob store, and `case_versions` and
`minihta_attachments` pointed at it (`blob_sha256`, a foreign key to `blobs`). From now on an
accepted form is kept as its canonical JSON and the SHA-256 of the uploaded file only; the bytes
are never written anywhere. This migration

1. lists the blobs of stored uploads in the new table `blob_deletions` (the hashes the two
   columns point at, except one that a decision letter also points at: the same bytes, which are
   the service's own);
2. replaces `blob_sha256` by `file_sha256` (the same hash, a plain column: no foreign key, no
   index) in both tables, in batch mode on SQLite (the table is copied: SQLite cannot drop a
   foreign key in place);
3. deletes the `blobs` rows of the listed hashes.

The files themselves are not touched here: a migration only has the database, not the blob
folder (nor the key of an encrypted store, nor an object store). Deleting them is
`storage.fsck.purge_deleted_blobs`, which `Storage.upgrade` runs right after migrating, so both
`skjemamottak db upgrade` and `skjemamottak serve` (which migrates in the master, before it
forks any worker) do it: it overwrites and deletes the file of every listed hash that no `blobs`
row names, then removes the hash from the list, so an interrupted purge is finished by the next
`db upgrade`, `serve` or `fsck`. When this migration has just run (or the list is not empty yet)
it also sweeps the blob folder as `fsck --grace 0` does: a file no row points at any more
(an upload left behind by a crash before its row was committed under the old code) and
temporary files are removed at once. That sweep is safe because it runs while no writer of the
new code can be in flight: `db upgrade` is run with the service stopped (README, Drift), and
`serve` runs it before its workers exist; later, fsck's grace period applies again.

Downgrade puts the old columns back (with a `blobs` row per hash, size 0, so that the foreign
key holds) but cannot bring the deleted files back: `fsck` then reports them missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_keep_only_what_was_read"
down_revision: str | Sequence[str] | None = "0007_figures_counts_all"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("case_versions", "minihta_attachments")
LETTERS = "SELECT pdf_sha256 FROM decisions UNION SELECT docx_sha256 FROM decisions"


def upgrade() -> None:
    op.create_table(
        "blob_deletions",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sha256", name=op.f("pk_blob_deletions")),
    )
    uploads = " UNION ".join(f"SELECT blob_sha256 FROM {t}" for t in TABLES)
    op.execute(
        f"INSERT INTO blob_deletions (sha256) SELECT u.blob_sha256 FROM ({uploads}) AS u "
        f"WHERE u.blob_sha256 NOT IN ({LETTERS})"
    )
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("file_sha256", sa.String(length=64), nullable=True))
        op.execute(f"UPDATE {table} SET file_sha256 = blob_sha256")
        with op.batch_alter_table(table) as batch:
            batch.alter_column("file_sha256", existing_type=sa.String(length=64), nullable=False)
            batch.drop_index(f"ix_{table}_blob_sha256")
            batch.drop_constraint(f"fk_{table}_blob_sha256_blobs", type_="foreignkey")
            batch.drop_column("blob_sha256")
    op.execute("DELETE FROM blobs WHERE sha256 IN (SELECT sha256 FROM blob_deletions)")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("blob_sha256", sa.String(length=64), nullable=True))
        op.execute(f"UPDATE {table} SET blob_sha256 = file_sha256")
        # the files are gone: a row per hash only, so that the foreign key holds
        op.execute(
            "INSERT INTO blobs (sha256, size, content_type, created_at) "
            "SELECT file_sha256, 0, 'application/octet-stream', MIN(received_at) "
            f"FROM {table} WHERE file_sha256 NOT IN (SELECT sha256 FROM blobs) "
            "GROUP BY file_sha256"
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("blob_sha256", existing_type=sa.String(length=64), nullable=False)
            batch.create_foreign_key(
                f"fk_{table}_blob_sha256_blobs", "blobs", ["blob_sha256"], ["sha256"]
            )
            batch.create_index(f"ix_{table}_blob_sha256", ["blob_sha256"], unique=False)
            batch.drop_column("file_sha256")
    op.drop_table("blob_deletions")
