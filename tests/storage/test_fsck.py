"""`skjemamottak fsck` (API.md): orphans and temporary files removed, bad references reported."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert

from storage import db, services
from storage.blobs import FileBlobStore, MemoryBlobStore, sha256_hex
from storage.crypto import EncryptedFileBlobStore, Keyring
from storage.fsck import blob_columns, fsck
from storage.models import Blob
from storage.uow import SqlAlchemyUnitOfWork
from tests.storage.helpers import HF_OUS, NOW, TODAY, del2


def _upload(uow: SqlAlchemyUnitOfWork) -> str:
    services.upload(HF_OUS, "soknad.json", del2(), uow, TODAY)
    return sha256_hex(del2())


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
    assert {"blobs.sha256", "case_versions.blob_sha256"} <= names


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
    services.upload(
        HF_OUS,
        "soknad.json",
        del2(**{"soknad.referansenummer": "2026-09-14-OUS-HJERTE"}),
        sql_uow,
        TODAY,
    )
    other = sha256_hex(del2(**{"soknad.referansenummer": "2026-09-14-OUS-HJERTE"}))
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
    assert any(r.startswith("case_versions:") for r in report.rows[sha])
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
    lost.put(del2())
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
