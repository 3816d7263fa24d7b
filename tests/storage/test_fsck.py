"""`skjemamottak fsck` (API.md): orphans and temporary files removed, bad references reported."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from services.upload import upload
from storage import db
from storage.blobs import FileBlobStore, MemoryBlobStore, sha256_hex
from storage.crypto import EncryptedFileBlobStore, Keyring
from storage.fsck import blob_columns, fsck, pending_deletions, purge_deleted_blobs
from storage.models import Blob, BlobDeletion
from storage.models_committee import Decision
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.helpers import HF_OUS, NOW, TODAY, del2

LETTER = b"%PDF-1.7 a decision letter the service rendered"


def _letter(uow: SqlAlchemyUnitOfWork, data: bytes = LETTER, department: str = "KREFT") -> str:
    """A case with a decision whose letters (PDF and DOCX, here one blob) are stored as the
    committee stores them; uploads are never blobs (FORMS.md section 6, rule 3)."""
    reference = f"2026-09-14-OUS-{department}"
    upload(HF_OUS, "soknad.json", del2(**{"soknad.referansenummer": reference}), uow, TODAY)
    with uow:
        sha = uow.blobs.put(data)
        uow.cases.add_blob(sha, len(data), "application/pdf", NOW)
        uow.session.add(
            Decision(
                case_id=reference,
                outcome="innvilget",
                body={},
                reasoning="",
                decided_on=TODAY,
                recorded_by="koordinator",
                recorded_at=NOW,
                pdf_sha256=sha,
                docx_sha256=sha,
            )
        )
        uow.commit()
    return sha


def _upload(uow: SqlAlchemyUnitOfWork) -> str:
    return _letter(uow)


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.fixture
def sqlite_engine(instance: Path) -> Iterator[Engine]:
    """For the checks that do not depend on the backend (the rest run on both)."""
    eng = db.make_engine(db.default_url(instance))
    yield eng
    eng.dispose()


def test_the_models_say_which_columns_point_at_blobs() -> None:
    names = {f"{c.table.name}.{c.name}" for c in blob_columns()}
    assert {"blobs.sha256", "decisions.pdf_sha256", "decisions.docx_sha256"} <= names
    # an upload's hash is a plain column: the file is not kept (FORMS.md section 6, rule 3)
    assert not {n for n in names if n.startswith(("case_versions.", "minihta_attachments."))}


def test_a_clean_store_has_nothing_to_report(
    engine: Engine, blob_store: FileBlobStore, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    _upload(sql_uow)
    report = fsck(engine, blob_store, grace_seconds=0)
    assert (report.orphans_removed, report.temp_files_removed) == ([], [])
    assert (report.missing, report.damaged) == ([], [])
    assert report.referenced == 1
    assert report.ok and report.exit_code == 0


def test_an_orphan_left_by_a_crash_is_removed_and_reported(
    engine: Engine, blob_store: FileBlobStore, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    kept = _upload(sql_uow)
    orphan = blob_store.put(b"blob written, then the process died before the commit")
    report = fsck(engine, blob_store, grace_seconds=0)
    assert report.orphans_removed == [orphan]
    assert not blob_store.exists(orphan)
    assert blob_store.exists(kept)
    assert report.exit_code == 0


def test_a_recent_orphan_is_left_for_the_upload_in_flight(
    sqlite_engine: Engine, blob_store: FileBlobStore
) -> None:
    recent = blob_store.put(b"an upload whose row is about to commit")
    old = blob_store.put(b"an old orphan")
    _age(blob_store.path_for(old), 3600)
    report = fsck(sqlite_engine, blob_store)  # default grace: 10 minutes
    assert report.orphans_removed == [old]
    assert report.orphans_recent == [recent]
    assert blob_store.exists(recent)


def test_temporary_files_of_interrupted_writes_are_removed_after_the_grace(
    sqlite_engine: Engine, blob_store: FileBlobStore
) -> None:
    folder = blob_store.root / "ab"
    folder.mkdir()
    stale = folder / ".tmp-stale"
    stale.write_bytes(b"half a blob")
    _age(stale, 3600)
    fresh = folder / ".tmp-fresh"
    fresh.write_bytes(b"being written now")
    report = fsck(sqlite_engine, blob_store, grace_seconds=600)
    assert report.temp_files_removed == ["ab/.tmp-stale"]
    assert not stale.exists() and fresh.exists()


def test_without_repair_nothing_is_removed(
    sqlite_engine: Engine, blob_store: FileBlobStore
) -> None:
    orphan = blob_store.put(b"orphan")
    tmp = blob_store.root / orphan[:2] / ".tmp-x"
    tmp.write_bytes(b"x")
    report = fsck(sqlite_engine, blob_store, repair=False, grace_seconds=0)
    assert report.orphans_removed == [orphan]
    assert report.temp_files_removed == [f"{orphan[:2]}/.tmp-x"]
    assert blob_store.exists(orphan) and tmp.exists()
    assert "Ville fjernet" in "\n".join(report.lines())


def test_rows_pointing_at_missing_or_damaged_blobs_are_reported_with_exit_code_1(
    engine: Engine, blob_store: FileBlobStore, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    sha = _upload(sql_uow)
    other = _letter(sql_uow, LETTER + b" for another case", "HJERTE")
    blob_store.delete(sha)
    path = blob_store.path_for(other)
    path.write_bytes(path.read_bytes() + b"tampered")

    report = fsck(engine, blob_store, grace_seconds=0)
    assert report.missing == [sha]
    assert report.damaged == [other]
    assert report.orphans_removed == []  # a damaged referenced blob is never removed
    assert blob_store.exists(other)
    assert report.exit_code == 1
    assert "blobs:" + sha in report.rows[sha]
    assert any(r.startswith("decisions:") for r in report.rows[sha])
    text_lines = "\n".join(report.lines())
    assert "Mangler fil" in text_lines and "Skadet" in text_lines


def test_a_blob_row_without_a_version_still_counts_as_a_reference(
    sqlite_engine: Engine, blob_store: FileBlobStore
) -> None:
    sha = blob_store.put(b"registered blob")
    with sqlite_engine.begin() as conn:
        conn.execute(
            insert(Blob).values(sha256=sha, size=15, content_type="application/pdf", created_at=NOW)
        )
    report = fsck(sqlite_engine, blob_store, grace_seconds=0)
    assert report.orphans_removed == [] and report.ok


def test_encrypted_blobs_under_an_unknown_key_are_reported_as_damaged(
    sqlite_engine: Engine, instance: Path, blob_store: FileBlobStore
) -> None:
    uow = SqlAlchemyUnitOfWork(db.session_factory(sqlite_engine), blob_store, clock=lambda: NOW)
    sha = _upload(uow)  # written in plain
    lost = EncryptedFileBlobStore(instance / "blobs", Keyring.of(bytes(32)))
    assert lost.get(sha)  # legacy plain blobs stay readable
    encrypted = lost.path_for(sha)
    encrypted.unlink()
    lost.put(LETTER)
    report = fsck(
        sqlite_engine, EncryptedFileBlobStore(instance / "blobs", Keyring.of(bytes([1]) * 32))
    )
    assert report.damaged == [sha]


def test_a_store_without_file_times_removes_orphans_only_without_grace(
    sqlite_engine: Engine,
) -> None:
    store = MemoryBlobStore()
    orphan = store.put(b"orphan")
    assert fsck(sqlite_engine, store).orphans_recent == [orphan]
    assert fsck(sqlite_engine, store, grace_seconds=0).orphans_removed == [orphan]
    assert not store.exists(orphan)


# ---- files of uploads stored by versions before migration 0008 ----------------------------------


def _listed(engine: Engine, *shas: str) -> None:
    with engine.begin() as conn:
        conn.execute(insert(BlobDeletion), [{"sha256": s} for s in shas])


def test_purge_deletes_the_listed_files_and_empties_the_list(
    engine: Engine, blob_store: FileBlobStore, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    letter = _letter(sql_uow)
    original = blob_store.put(b"an uploaded file an earlier version stored")
    path = blob_store.path_for(original)
    # a listed hash that a blobs row still names (a letter with the same bytes) is kept
    _listed(engine, original, letter, "0" * 64)
    report = purge_deleted_blobs(engine, blob_store)
    assert report.listed == 3 and report.removed == [original]
    assert not path.exists() and blob_store.exists(letter)
    assert pending_deletions(engine) == 0
    assert report.swept is None
    # idempotent: nothing listed, nothing to do
    assert purge_deleted_blobs(engine, blob_store).listed == 0


def test_purge_with_sweep_removes_every_file_no_row_points_at_at_once(
    engine: Engine, blob_store: FileBlobStore, sql_uow: SqlAlchemyUnitOfWork
) -> None:
    letter = _letter(sql_uow)
    orphan = blob_store.put(b"an upload whose row never committed (a crash, old code)")
    tmp = blob_store.root / orphan[:2] / ".tmp-upload"
    tmp.write_bytes(b"half an upload")
    report = purge_deleted_blobs(engine, blob_store, sweep=True)
    assert report.swept is not None and report.swept.orphans_removed == [orphan]
    assert not blob_store.exists(orphan) and not tmp.exists()
    assert blob_store.exists(letter)
    assert report.files_removed == 2
    assert sha256_hex(LETTER) == letter
