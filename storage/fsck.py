"""Compare the rows with the blob store (`skjemamottak fsck`, API.md).

A blob is written and fsynced before the row that points at it is committed, so a crash in
between leaves a blob no row points at (an orphan) and, during the write, a temporary file. fsck
removes both, but only when older than a grace period (default 10 minutes), so that an upload in
flight (blob written, row not yet committed) is never raced. A row that points at a missing or
damaged blob cannot be repaired here: it is reported, and the CLI exits 1.

Which columns point at blobs is read from the models: the primary key of `blobs` and every column
with a foreign key to `blobs.sha256`, so feature tables that reference blobs are covered as soon
as their model declares the foreign key.

Blobs are only what the service made itself (decision letters). Uploaded files are never stored
(FORMS.md section 6, rule 3); the ones earlier versions stored are listed by migration 0008 in
`blob_deletions`, and `purge_deleted_blobs` removes their files (see `storage.db`'s callers:
`Storage.upgrade` after every migration, and `fsck`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Column, Connection, Engine, MetaData, delete, inspect, select

from storage.blobs import BlobCorrupt, BlobError, BlobNotFound, BlobStore
from storage.models import Blob, BlobDeletion
from storage.tables import metadata as all_tables

DEFAULT_GRACE_SECONDS = 600.0


@dataclass
class FsckReport:
    """What fsck found. With `repair=False` nothing is removed, and `orphans_removed` and
    `temp_files_removed` list what would have been removed."""

    orphans_removed: list[str] = field(default_factory=list)
    temp_files_removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    # unreferenced blobs younger than the grace period (probably uploads in flight): kept
    orphans_recent: list[str] = field(default_factory=list)
    # for each missing or damaged blob, the rows that point at it ("case_versions:17")
    rows: dict[str, list[str]] = field(default_factory=dict)
    referenced: int = 0
    repaired: bool = True

    @property
    def ok(self) -> bool:
        return not self.missing and not self.damaged

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        """A Norwegian summary for the operator, one line per finding."""
        verb = "Fjernet" if self.repaired else "Ville fjernet"
        out = [f"Kontrollerte {self.referenced} filer som rader peker på."]
        if self.orphans_removed:
            out.append(f"{verb} {len(self.orphans_removed)} filer som ingen rad peker på.")
        if self.orphans_recent:
            out.append(
                f"Lot {len(self.orphans_recent)} nye filer uten rad ligge (kan være opplasting "
                "som pågår)."
            )
        if self.temp_files_removed:
            out.append(f"{verb} {len(self.temp_files_removed)} midlertidige filer.")
        for sha in self.missing:
            out.append(f"Mangler fil {sha} (brukt av {', '.join(self.rows.get(sha, [])) or '-'}).")
        for sha in self.damaged:
            out.append(
                f"Skadet eller uleselig fil {sha} (brukt av "
                f"{', '.join(self.rows.get(sha, [])) or '-'})."
            )
        if self.ok:
            out.append("Alle filer som rader peker på, finnes og er hele.")
        return out


def blob_columns(metadata: MetaData | None = None) -> list[Column]:
    """`blobs.sha256` and every column with a foreign key to it."""
    metadata = metadata or all_tables
    cols: list[Column] = [metadata.tables["blobs"].c.sha256]
    for table in metadata.sorted_tables:
        for col in table.columns:
            if any(fk.target_fullname == "blobs.sha256" for fk in col.foreign_keys):
                cols.append(col)
    return cols


def referenced_blobs(conn: Connection, metadata: MetaData | None = None) -> set[str]:
    """Every SHA-256 a row points at."""
    shas: set[str] = set()
    for col in blob_columns(metadata):
        shas.update(conn.scalars(select(col).where(col.is_not(None)).distinct()))
    return shas


def _rows_pointing_at(conn: Connection, shas: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {sha: [] for sha in shas}
    if not shas:
        return out
    for col in blob_columns():
        table = col.table
        pk = list(table.primary_key.columns)
        for row in conn.execute(select(col, *pk).where(col.in_(shas))):
            ident = "/".join(str(v) for v in row[1:])
            out[row[0]].append(f"{table.name}:{ident}")
    return out


def _age(path: Path, now: float) -> float | None:
    try:
        return now - path.stat().st_mtime
    except FileNotFoundError:
        return None


def _blob_age(blobs: BlobStore, sha: str, now: float) -> float | None:
    """Seconds since the blob was written; None when the store cannot tell."""
    path_for = getattr(blobs, "path_for", None)
    if path_for is None:
        return None
    return _age(path_for(sha), now)


def fsck(
    engine: Engine,
    blobs: BlobStore,
    *,
    repair: bool = True,
    grace_seconds: float = DEFAULT_GRACE_SECONDS,
    verify: bool = True,
    now: float | None = None,
) -> FsckReport:
    """Compare rows and blobs; remove (when `repair`) orphans and temporary files older than
    `grace_seconds`; report rows pointing at missing or damaged blobs (`verify=False` skips
    reading every referenced blob and only checks that it exists).

    For a store that cannot tell a blob's age (not file based), orphans are removed only when
    `grace_seconds` is 0 or less.
    """
    now = time.time() if now is None else now
    report = FsckReport(repaired=repair)

    # The store is listed before the rows are read: a blob listed here whose row commits before
    # the read is seen as referenced; one whose row commits later is younger than the grace.
    present = set(blobs.iter_all())
    with engine.connect() as conn:
        referenced = referenced_blobs(conn)
    report.referenced = len(referenced)

    candidates: list[str] = []
    for sha in sorted(present - referenced):
        age = _blob_age(blobs, sha, now)
        old_enough = grace_seconds <= 0 or (age is not None and age >= grace_seconds)
        (candidates if old_enough else report.orphans_recent).append(sha)

    if repair and candidates:
        # read the rows again just before removing, to narrow the window further
        with engine.connect() as conn:
            again = referenced_blobs(conn)
        candidates = [sha for sha in candidates if sha not in again]
        for sha in candidates:
            if _shred(blobs, sha):
                report.orphans_removed.append(sha)
    else:
        report.orphans_removed.extend(candidates)

    temp_files = getattr(blobs, "temp_files", None)
    if temp_files is not None:
        root = getattr(blobs, "root", None)
        for path in temp_files():
            age = _age(path, now)
            if age is None or (grace_seconds > 0 and age < grace_seconds):
                continue
            if repair:
                _shred_file(path)
            report.temp_files_removed.append(
                str(path.relative_to(root)) if isinstance(root, Path) else str(path)
            )

    for sha in sorted(referenced):
        try:
            exists = sha in present or blobs.exists(sha)
        except ValueError:  # not a SHA-256 at all: no blob can have that name
            exists = False
        if not exists:
            report.missing.append(sha)
            continue
        if not verify:
            continue
        try:
            blobs.get(sha)
        except BlobNotFound:
            report.missing.append(sha)
        except (BlobCorrupt, BlobError):
            # damaged bytes, or encrypted under a key that is not configured
            report.damaged.append(sha)

    if report.missing or report.damaged:
        with engine.connect() as conn:
            report.rows = _rows_pointing_at(conn, report.missing + report.damaged)
    return report


# ---- files of uploads stored by earlier versions (migration 0008) --------------------------------

_CHUNK = 500  # hashes per IN (...) list


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _overwrite(path: Path) -> bool:
    """Overwrite a file with zeros and fsync it; False when it is not there."""
    try:
        with open(path, "r+b") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.write(b"\0" * size)
            fh.flush()
            os.fsync(fh.fileno())
    except FileNotFoundError:
        return False
    return True


def _shred_file(path: Path) -> None:
    _overwrite(path)
    path.unlink(missing_ok=True)


def _shred(blobs: BlobStore, sha: str) -> bool:
    """Overwrite a file-based blob with zeros before deleting it, so that its bytes do not
    linger in the file's blocks; True when it was there. (On copy-on-write file systems and SSDs
    old blocks may survive an overwrite: the deletion is what is promised.)"""
    path_for = getattr(blobs, "path_for", None)
    if path_for is not None and not _overwrite(path_for(sha)):
        return False
    return blobs.delete(sha)


@dataclass
class PurgeReport:
    """What `purge_deleted_blobs` did: the listed hashes, the files removed, and the orphans and
    temporary files the sweep removed (when it ran)."""

    listed: int = 0
    removed: list[str] = field(default_factory=list)
    swept: FsckReport | None = None

    @property
    def files_removed(self) -> int:
        swept = self.swept
        extra = len(swept.orphans_removed) + len(swept.temp_files_removed) if swept else 0
        return len(self.removed) + extra


def has_deletion_list(engine: Engine) -> bool:
    """Whether the database has the `blob_deletions` table (migrated to 0008 or later)."""
    return inspect(engine).has_table(BlobDeletion.__tablename__)


def pending_deletions(engine: Engine) -> int:
    """How many hashes `blob_deletions` lists (0 also before migration 0008)."""
    if not has_deletion_list(engine):
        return 0
    with engine.connect() as conn:
        return len(conn.scalars(select(BlobDeletion.sha256)).all())


def purge_deleted_blobs(engine: Engine, blobs: BlobStore, *, sweep: bool = False) -> PurgeReport:
    """Delete the file of every hash in `blob_deletions` that no `blobs` row names (uploads that
    earlier versions stored), then the hash from the list. With `sweep`, also remove every file
    no row points at and every temporary file at once (fsck with no grace period): only for a
    moment when no writer runs (right after migration 0008, before the service serves; see that
    migration's docstring).

    Idempotent: a purge cut short is finished by the next call."""
    report = PurgeReport()
    if not has_deletion_list(engine):
        return report
    with engine.connect() as conn:
        listed = sorted(conn.scalars(select(BlobDeletion.sha256)))
        kept: set[str] = set()
        for part in _chunks(listed):
            kept.update(conn.scalars(select(Blob.sha256).where(Blob.sha256.in_(part))))
    report.listed = len(listed)
    for sha in listed:
        if sha not in kept and _shred(blobs, sha):
            report.removed.append(sha)
    if listed:
        with engine.begin() as conn:
            for part in _chunks(listed):
                conn.execute(delete(BlobDeletion).where(BlobDeletion.sha256.in_(part)))
    if sweep:
        report.swept = fsck(engine, blobs, repair=True, grace_seconds=0, verify=False)
    return report
