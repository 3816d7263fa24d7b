"""The content-addressed blob store: atomic, durable writes and hash-checked reads."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from storage import blobs as blobs_module
from storage.blobs import BlobCorrupt, BlobNotFound, FileBlobStore, MemoryBlobStore

DATA = b"%PDF-1.7 not really a form\n"
SHA = hashlib.sha256(DATA).hexdigest()


def test_put_names_the_blob_by_its_sha256_in_a_two_level_folder(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    assert store.put(DATA) == SHA
    assert (tmp_path / "blobs" / SHA[:2] / SHA[2:]).read_bytes() == DATA
    assert store.get(SHA) == DATA
    assert store.exists(SHA)
    assert store.put(DATA) == SHA  # idempotent
    assert list(store.iter_all()) == [SHA]
    assert store.temp_files() == []


def test_iter_all_lists_every_blob_sorted_and_delete_removes_one(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    shas = sorted(store.put(bytes([i]) * 10) for i in range(5))
    assert list(store.iter_all()) == shas
    assert store.delete(shas[0]) is True
    assert store.delete(shas[0]) is False
    assert not store.exists(shas[0])
    assert list(store.iter_all()) == shas[1:]


def test_a_new_blob_is_renamed_then_fsynced_with_its_folder_a_repair_fsynced_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new blob, which no row refers to yet: rename, then the file's and the folder's fsync
    (one journal commit). Over a corrupt file, which a row may refer to: fsync, then rename."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append("fsync-dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        real_fsync(fd)

    def replace(src: str, dst: object) -> None:
        calls.append("rename")
        real_replace(src, dst)

    monkeypatch.setattr(blobs_module.os, "fsync", fsync)
    monkeypatch.setattr(blobs_module.os, "replace", replace)
    store = FileBlobStore(tmp_path)
    calls.clear()
    store.put(DATA)
    # a new prefix folder is fsynced into the root first
    assert calls == ["fsync-dir", "rename", "fsync-file", "fsync-dir"]
    assert store.get(SHA) == DATA
    store.path_for(SHA).write_bytes(b"torn")
    calls.clear()
    store.put(DATA)
    assert calls == ["fsync-file", "rename", "fsync-dir"]
    assert store.get(SHA) == DATA


def test_a_failed_rename_leaves_neither_a_blob_nor_a_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_replace(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(blobs_module.os, "replace", broken_replace)
    store = FileBlobStore(tmp_path)
    with pytest.raises(OSError):
        store.put(DATA)
    assert not store.exists(SHA)
    assert store.temp_files() == []
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_corrupted_blob_is_detected_on_read_and_repaired_by_put(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    store.put(DATA)
    store.path_for(SHA).write_bytes(DATA[:-1] + b"?")
    with pytest.raises(BlobCorrupt):
        store.get(SHA)
    assert store.verify(SHA) is False
    store.put(DATA)
    assert store.get(SHA) == DATA


def test_a_missing_blob_is_reported(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path)
    with pytest.raises(BlobNotFound):
        store.get(SHA)
    assert store.verify(SHA) is False


@pytest.mark.parametrize("name", ["../../etc/passwd", SHA.upper(), SHA[:-1], "", SHA + "0"])
def test_only_sha256_names_are_accepted(tmp_path: Path, name: str) -> None:
    store = FileBlobStore(tmp_path)
    with pytest.raises(ValueError):
        store.get(name)
    with pytest.raises(ValueError):
        store.exists(name)


def test_memory_store_behaves_the_same() -> None:
    store = MemoryBlobStore()
    assert store.put(DATA) == SHA
    assert store.get(SHA) == DATA and store.exists(SHA)
    store.blobs[SHA] = b"tampered"
    with pytest.raises(BlobCorrupt):
        store.get(SHA)
    assert store.delete(SHA) and not store.exists(SHA)
